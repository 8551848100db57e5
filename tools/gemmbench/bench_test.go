package main

import (
	"fmt"
	"testing"
)

// BenchmarkSgemm is the table as go test -bench: every case, thread count
// and library side by side (OpenBLAS with -tags openblas), with GFLOP/s as
// a metric:
//
//	go test -tags openblas -run NONE -bench . -benchtime 20x
func BenchmarkSgemm(b *testing.B) {
	libs := []*library{&engine, &gonumLib}
	if openblas != nil {
		libs = append(libs, openblas)
	}
	for _, bc := range allCases {
		o := newOperands(bc)
		for _, threads := range []int{1, 2} {
			for _, lib := range libs {
				b.Run(fmt.Sprintf("%s/threads=%d/%s", bc.name, threads, lib.name), func(b *testing.B) {
					restore := lib.threads(threads)
					defer restore()
					for b.Loop() {
						lib.sgemm(bc.transA, bc.transB, bc.m, bc.n, bc.k, 1, o.a, o.lda, o.b, o.ldb, 0, o.c, o.ldc)
					}
					flops := 2 * float64(bc.m) * float64(bc.n) * float64(bc.k)
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
