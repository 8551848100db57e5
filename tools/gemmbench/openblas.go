//go:build openblas

package main

/*
#cgo CFLAGS: -I/usr/include/x86_64-linux-gnu/openblas-pthread
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import "unsafe"

// OpenBLAS through its CBLAS interface (Debian's libopenblas-dev).
func init() {
	openblas = &library{
		name: "openblas",
		sgemm: func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			tA, tB := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
			if transA {
				tA = C.CblasTrans
			}
			if transB {
				tB = C.CblasTrans
			}
			C.cblas_sgemm(C.CblasRowMajor, tA, tB, C.blasint(m), C.blasint(n), C.blasint(k),
				C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
				(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
				C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
		},
		threads: func(n int) func() {
			prev := int(C.openblas_get_num_threads())
			C.openblas_set_num_threads(C.int(n))
			return func() { C.openblas_set_num_threads(C.int(prev)) }
		},
	}
}
