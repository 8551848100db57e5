// Package gemm is the engine's single-precision matrix multiply.
//
// Sgemm is the one entry point used by every matmul in the engine (Linear
// forward and backward, attention, batched products).
//
// On amd64 CPUs with AVX2 and FMA it runs a hand-written 6x16 assembly
// micro-kernel (gemm_amd64.s) inside a BLIS-style blocked driver
// (driver.go): op(B) is packed into 16-column micro-panels in K blocks of KC
// rows, op(A) into MC x KC blocks of 6-row micro-panels, and the kernel
// multiplies one micro-panel pair into a 6x16 tile of C held in registers.
// KC, MC and NC come from the L1, L2 and L3 sizes (params.go). Small
// products skip the packing and run a strided variant of the kernel on the
// operands in place (small.go), and products with B transposed and only a
// few rows of C swap the operands' roles so that B, a Linear layer's weight
// matrix, is read in place instead of packed (thin.go). Products big enough
// to share are cut into chunks over the M and N dimensions that
// parallel.Threads() goroutines take from a shared counter; the packed op(B)
// is shared between them.
//
// Elsewhere (other architectures, the purego build tag, CPUs without
// AVX2/FMA, which GODEBUG=cpu.avx2=off,cpu.fma=off simulates) the same driver
// runs a portable Go micro-kernel (kernel_go.go).
package gemm

import (
	"fmt"
	"sync/atomic"

	"github.com/duo-go/duo/internal/parallel"
)

// accel reports whether the assembly kernels are in use. It is set once at
// init (and by tests that compare both paths).
var accel bool

// setAsm turns the assembly kernels on or off (off when they are not built
// or the CPU lacks AVX2/FMA). It returns the previous setting.
func setAsm(on bool) bool {
	prev := accel
	accel = on && haveAsm
	return prev
}

// Accelerated reports whether Sgemm runs the AVX2/FMA assembly kernels.
func Accelerated() bool { return accel }

// wide reports whether the blocked driver's full tiles go through the
// AVX-512 kernel, four at a time (wideTiles: 24 x 16 of C per call). It is
// set at init on CPUs with AVX-512F (GODEBUG=cpu.avx512f=off: not) and by
// tests.
var wide bool

const wideTiles = 4

// setWide turns the AVX-512 kernel on or off (off when it is not built or
// the AVX2 kernels are off); it returns the previous setting.
func setWide(on bool) bool {
	prev := wide
	wide = on && haveWide && accel
	return prev
}

// Kernel names the micro-kernel Sgemm's blocked path runs: "avx512"
// (12x32 tiles; 24x16 for a lone B panel, 6x16 ZMM tiles at the edges, the
// AVX2 6x16 kernel for edge tiles that start from a bias), "avx2" (6x16) or
// "go".
func Kernel() string {
	switch {
	case wide:
		return "avx512"
	case accel:
		return "avx2"
	}
	return "go"
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where
// op(A) is m x k and op(B) is k x n. With transA, A is stored k x m (leading
// dimension lda); likewise B is stored n x k when transB. beta == 0 overwrites
// C without reading it (so C may hold NaNs).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	flops.Add(2 * int64(m) * int64(n) * int64(k))
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	t := threadsFor(m, n, k)
	if accel && useThin(transB, m, n, k) {
		if n*k >= thinLargeB {
			// Streaming a B of 4 MB or more from memory takes longer
			// than its flops say: worth every thread.
			t = parallel.Threads()
		}
		sgemmThin(t, transA, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if accel && t == 1 && useSmall(m, n, k) {
		sgemmSmall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	sgemmBlocked(accel, t, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil)
}

// SgemmBias computes C = op(A)*op(B) + bias with bias (n floats) added to
// every row of C: a Linear layer's forward. The kernels start each tile from
// the bias instead of zero, so C is written once and never read.
func SgemmBias(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, bias, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if len(bias) < n {
		panic(fmt.Sprintf("gemm: bias has %d elements, want %d", len(bias), n))
	}
	if m == 0 || n == 0 {
		return
	}
	t := threadsFor(m, n, k)
	if k == 0 || (accel && (useThin(transB, m, n, k) || t == 1 && useSmall(m, n, k))) {
		// The small and thin paths have no bias start: copy the bias, then add.
		for i := 0; i < m; i++ {
			copy(c[i*ldc:i*ldc+n], bias[:n])
		}
		Sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 1, c, ldc)
		return
	}
	flops.Add(2 * int64(m) * int64(n) * int64(k))
	sgemmBlocked(accel, t, transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc, bias[:n])
}

// flops counts the work of every product: 2*m*n*k each.
var flops atomic.Int64

// Flops returns the floating-point operations of every Sgemm and SgemmBias
// since the process started, 2*m*n*k each (a multiply-add counts two, as
// GFLOP/s figures do): the difference across a training step is the
// step's matrix work, which bench train divides by its time.
func Flops() int64 { return flops.Load() }

// checkArgs panics when a dimension is negative, a leading dimension is too
// small or a slice is too short for the matrix it holds. The kernels rely on
// it: they do not check every access.
func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	check := func(name string, s []float32, rows, cols, ld int) {
		if ld < 0 || (rows > 1 && ld < cols) {
			panic(fmt.Sprintf("gemm: leading dimension of %s is %d, want >= %d", name, ld, cols))
		}
		if rows > 0 && cols > 0 && len(s) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("gemm: %s has %d elements, want >= %d for %dx%d with stride %d", name, len(s), (rows-1)*ld+cols, rows, cols, ld))
		}
	}
	check("A", a, ar, ac, lda)
	check("B", b, br, bc, ldb)
	check("C", c, m, n, ldc)
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
