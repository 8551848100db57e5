package gemm

// goKernel is the portable micro-kernel: one full mr x nr tile of
// C = alpha*(bias + A*B) + beta*C from packed micro-panels (see pack.go); a
// nil bias is zero, else nr floats added to every row. beta == 0 does not
// read C.
//
// The tile is computed in 3x2 register blocks so the six accumulators, the
// operands and the products fit in the 15 float registers the Go compiler
// has on amd64.
func goKernel(kc int, a, b, c []float32, ldc int, alpha, beta float32, bias []float32) {
	a = a[:mr*kc]
	b = b[:nr*kc]
	var acc [mr * nr]float32
	if bias != nil {
		for i := 0; i < mr; i++ {
			copy(acc[i*nr:(i+1)*nr], bias[:nr])
		}
	}
	for i := 0; i < mr; i += 3 {
		for j := 0; j < nr; j += 2 {
			c00, c01 := acc[i*nr+j], acc[i*nr+j+1]
			c10, c11 := acc[(i+1)*nr+j], acc[(i+1)*nr+j+1]
			c20, c21 := acc[(i+2)*nr+j], acc[(i+2)*nr+j+1]
			ai, bj := a[i:], b[j:]
			for p := 0; p < kc; p++ {
				av := (*[3]float32)(ai[p*mr:])
				bv := (*[2]float32)(bj[p*nr:])
				b0, b1 := bv[0], bv[1]
				c00 += av[0] * b0
				c01 += av[0] * b1
				c10 += av[1] * b0
				c11 += av[1] * b1
				c20 += av[2] * b0
				c21 += av[2] * b1
			}
			acc[i*nr+j], acc[i*nr+j+1] = c00, c01
			acc[(i+1)*nr+j], acc[(i+1)*nr+j+1] = c10, c11
			acc[(i+2)*nr+j], acc[(i+2)*nr+j+1] = c20, c21
		}
	}
	for i := 0; i < mr; i++ {
		crow := (*[nr]float32)(c[i*ldc:])
		t := (*[nr]float32)(acc[i*nr:])
		if beta == 0 {
			for j := range crow {
				crow[j] = alpha * t[j]
			}
			continue
		}
		for j := range crow {
			crow[j] = alpha*t[j] + beta*crow[j]
		}
	}
}
