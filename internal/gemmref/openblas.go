//go:build openblas

package gemmref

/*
#cgo CFLAGS: -I/usr/include/x86_64-linux-gnu/openblas-pthread
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import (
	"runtime"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func init() {
	openblasCore = func() string { return C.GoString(C.openblas_get_corename()) }
	references = []Lib{
		{
			Name: "gonum",
			Sgemm: func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
				gonum.Implementation{}.Sgemm(gonumTrans(transA), gonumTrans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			},
			// gonum splits its work over GOMAXPROCS goroutines.
			Threads: func(n int) func() {
				prev := runtime.GOMAXPROCS(n)
				return func() { runtime.GOMAXPROCS(prev) }
			},
		},
		{
			Name: "OpenBLAS",
			Sgemm: func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
				C.cblas_sgemm(C.CblasRowMajor, cblasTrans(transA), cblasTrans(transB), C.blasint(m), C.blasint(n), C.blasint(k),
					C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
					(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
					C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
			},
			Threads: func(n int) func() {
				prev := int(C.openblas_get_num_threads())
				C.openblas_set_num_threads(C.int(n))
				return func() { C.openblas_set_num_threads(C.int(prev)) }
			},
		},
	}
}

func gonumTrans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func cblasTrans(t bool) uint32 {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}
