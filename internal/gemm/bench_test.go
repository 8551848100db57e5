package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/duo-go/duo/internal/parallel"
)

// benchShape is one benchmarked product: op(A) m x k, op(B) k x n.
type benchShape struct {
	name           string
	transA, transB bool
	m, n, k        int
}

// benchShapes are the shapes not among the speed evaluation's cases, which
// internal/gemmref benchmarks side by side with gonum and OpenBLAS: the
// TT layout, a small product and one head of attention.
var benchShapes = []benchShape{
	{"TT/4096x768x3072", true, true, 4096, 3072, 768},
	{"NN/64", false, false, 64, 64, 64},
	{"NT/attn-128x128x64", false, true, 128, 128, 64},
}

// BenchmarkSgemm reports GFLOP/s (2*m*n*k per call) on one and two threads:
// go test -run NONE -bench Sgemm ./internal/gemm
func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", s.name, threads), func(b *testing.B) {
				benchSgemm(b, s, threads)
			})
		}
	}
}

func benchSgemm(b *testing.B, s benchShape, threads int) {
	prev := parallel.SetThreads(threads)
	defer parallel.SetThreads(prev)
	a, bb, c := randSlice(s.m*s.k), randSlice(s.k*s.n), make([]float32, s.m*s.n)
	lda, ldb := s.k, s.n
	if s.transA {
		lda = s.m
	}
	if s.transB {
		ldb = s.k
	}
	b.ResetTimer()
	for b.Loop() {
		Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
	}
	flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func randSlice(n int) []float32 {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}
