//go:build !amd64 || purego

package gemm

const (
	haveAsm  = false
	haveWide = false
)

func asmKernel(kc int, a, b, c []float32, ldc int, alpha, beta float32, bias []float32) {
	panic("gemm: no assembly kernel")
}

func asmKernelTiles(kc, tiles int, a, b, c []float32, ldc int, alpha, beta float32, bias, pf []float32, pfLines int) {
	panic("gemm: no assembly kernel")
}

func asmKernelStrided(k int, a []float32, rsa, csa int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32) {
	panic("gemm: no assembly kernel")
}

func packANAsm(d, a []float32, lda, kc int) int { return 0 }

func packBTAsm(d, b []float32, ldb, kc int) int { return 0 }

func copyPanelsAsm(width int, dst, src []float32, lds, rows, panels, pstride int) bool { return false }

func hasWideCPU() bool { return false }

func asmKernelPairs(kc, pairs int, ap, bp2, c []float32, ldc int, alpha, beta float32, bias, pf []float32, pfLines int) {
	panic("gemm: no assembly kernel")
}

func fmaLoop(wide bool, n int) bool { return false }

func thinPairKernel(k int, a []float32, rsa int, b, tile []float32) {
	panic("gemm: no assembly kernel")
}
