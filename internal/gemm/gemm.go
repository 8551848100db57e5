// Package gemm is the engine's single-precision matrix multiply.
//
// Sgemm is the one entry point used by every matmul in the engine (Linear
// forward and backward, attention, batched products). The portable Go kernel
// here is the fallback; faster architecture-specific kernels plug in behind
// the same function.
package gemm

import "github.com/duo-go/duo/internal/parallel"

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where
// op(A) is m x k and op(B) is k x n. With transA, A is stored k x m (leading
// dimension lda); likewise B is stored n x k when transB. beta == 0 overwrites
// C without reading it (so C may hold NaNs).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	scaleC(m, n, beta, c, ldc)
	if k == 0 || alpha == 0 {
		return
	}
	sgemmGo(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc)
}

// scaleC sets C = beta*C (C = 0 when beta == 0).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// sgemmGo accumulates C += alpha*op(A)*op(B) in portable Go. op(B) is first
// copied into a contiguous k x n panel so the inner loop is a unit-stride
// axpy; rows of C are split across threads.
func sgemmGo(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	bp := b
	ldbp := ldb
	if transB {
		bp = make([]float32, k*n)
		ldbp = n
		for j := 0; j < n; j++ {
			row := b[j*ldb : j*ldb+k]
			for p, v := range row {
				bp[p*n+j] = v
			}
		}
	}
	grain := 1
	if work := n * k; work < 1<<14 {
		grain = (1<<14 + work - 1) / work
	}
	parallel.For(m, grain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			crow := c[i*ldc : i*ldc+n]
			for p := 0; p < k; p++ {
				var av float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				av *= alpha
				brow := bp[p*ldbp : p*ldbp+n]
				axpy(av, brow, crow)
			}
		}
	})
}

// axpy computes y += a*x.
func axpy(a float32, x, y []float32) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y[i] += a * x[i]
		y[i+1] += a * x[i+1]
		y[i+2] += a * x[i+2]
		y[i+3] += a * x[i+3]
	}
	for ; i < len(x); i++ {
		y[i] += a * x[i]
	}
}
