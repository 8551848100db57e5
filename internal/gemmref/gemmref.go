// Package gemmref measures the engine's Sgemm side by side with reference
// libraries: gonum's pure-Go Sgemm and OpenBLAS's cblas_sgemm through cgo.
// The references are compiled in only with the benchmark-only build tag
// openblas (which needs cgo and Debian's libopenblas-dev), so neither the
// engine nor a default build of duo depends on them:
//
//	go build -tags openblas ./cmd/duo && ./duo bench gemm
//	go test -tags openblas -run NONE -bench . ./internal/gemmref
package gemmref

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/duo-go/duo/internal/gemm"
	"github.com/duo-go/duo/internal/parallel"
)

// SgemmFunc is the row-major Sgemm signature of the engine (gemm.Sgemm).
type SgemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// Lib is one implementation under test.
type Lib struct {
	Name  string
	Sgemm SgemmFunc
	// Threads sets the library's thread count and returns a function that
	// restores the previous one.
	Threads func(n int) (restore func())
}

// Engine is this module's Sgemm, threaded through internal/parallel.
var Engine = Lib{
	Name:  "engine",
	Sgemm: gemm.Sgemm,
	Threads: func(n int) func() {
		prev := parallel.SetThreads(n)
		return func() { parallel.SetThreads(prev) }
	},
}

// references holds gonum and OpenBLAS when built with -tags openblas.
var references []Lib

// References returns the reference libraries compiled into this build: gonum
// and OpenBLAS with -tags openblas, none otherwise.
func References() []Lib { return references }

// openblasCore reports OpenBLAS's kernel core; nil without OpenBLAS.
var openblasCore func() string

// OpenBLASCore returns the name of the kernel core OpenBLAS runs (its
// openblas_get_corename: "Haswell", "SkylakeX", ...), or "" in a build
// without OpenBLAS.
func OpenBLASCore() string {
	if openblasCore == nil {
		return ""
	}
	return openblasCore()
}

// AVX512Core reports whether an OpenBLAS core name is one of its AVX-512
// kernels.
func AVX512Core(core string) bool {
	switch strings.ToLower(core) {
	case "skylakex", "cooperlake", "sapphirerapids":
		return true
	}
	return false
}

// Agree runs o's product with the engine and with lib and reports the
// largest difference relative to the largest entry of C, or an error when
// it is beyond float32 rounding (a library computing something else, or
// miscomputing on this CPU).
func (o *Operands) Agree(lib Lib) error {
	clear(o.C)
	o.Run(Engine)
	want := append([]float32(nil), o.C...)
	clear(o.C)
	o.Run(lib)
	var diff, size float64
	for i, w := range want {
		diff = math.Max(diff, math.Abs(float64(o.C[i]-w)))
		size = math.Max(size, math.Abs(float64(w)))
	}
	if tol := 1e-5 * math.Sqrt(float64(o.Case.K)) * size; diff > tol || math.IsNaN(diff) {
		return fmt.Errorf("%s: %s differs from the engine by %.3g (largest entry %.3g)", o.Case.Name, lib.Name, diff, size)
	}
	return nil
}

// Case is one product: op(A) is M x K, op(B) is K x N.
type Case struct {
	Name           string
	TransA, TransB bool
	M, N, K        int
}

// Cases are the speed evaluation's sizes: squares, and the transformer MLP
// shape M=4096 tokens, K=768, N=3072 in the layouts Linear uses: A B
// (backward dX), A B^T (forward x W^T) and A^T B (backward dW).
var Cases = []Case{
	{"NN/256", false, false, 256, 256, 256},
	{"NN/512", false, false, 512, 512, 512},
	{"NN/1024", false, false, 1024, 1024, 1024},
	{"NN/4096x768x3072", false, false, 4096, 3072, 768},
	{"NT/4096x768x3072", false, true, 4096, 3072, 768},
	{"TN/4096x768x3072", true, false, 4096, 3072, 768},
}

// ParseCase returns the named case of Cases or a custom shape written
// LAYOUT:m:n:k, LAYOUT being NN, NT, TN or TT (T: that operand is stored
// transposed).
func ParseCase(s string) (Case, error) {
	if i := slices.IndexFunc(Cases, func(c Case) bool { return c.Name == s }); i >= 0 {
		return Cases[i], nil
	}
	f := strings.Split(s, ":")
	if len(f) != 4 || len(f[0]) != 2 || strings.Trim(f[0], "NT") != "" {
		return Case{}, fmt.Errorf("unknown case %q: want one of %s or LAYOUT:m:n:k (e.g. NT:512:1024:256)", s, caseNames())
	}
	var d [3]int
	for i, v := range f[1:] {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return Case{}, fmt.Errorf("case %q: %q is not a positive size", s, v)
		}
		d[i] = n
	}
	return Case{Name: s, TransA: f[0][0] == 'T', TransB: f[0][1] == 'T', M: d[0], N: d[1], K: d[2]}, nil
}

func caseNames() string {
	var s []string
	for _, c := range Cases {
		s = append(s, c.Name)
	}
	return strings.Join(s, ", ")
}

// Flops is the floating-point operation count of one product.
func (c Case) Flops() float64 { return 2 * float64(c.M) * float64(c.N) * float64(c.K) }

// Operands are one case's matrices (uniform in [-1, 1)), shared by every
// library so that all of them multiply the same numbers.
type Operands struct {
	Case
	A, B, C       []float32
	LDA, LDB, LDC int
}

// NewOperands allocates and fills the operands of c.
func NewOperands(c Case) *Operands {
	o := &Operands{Case: c, LDA: c.K, LDB: c.N, LDC: c.N}
	if c.TransA {
		o.LDA = c.M
	}
	if c.TransB {
		o.LDB = c.K
	}
	r := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = r.Float32()*2 - 1
		}
		return s
	}
	o.A, o.B, o.C = fill(c.M*c.K), fill(c.K*c.N), make([]float32, c.M*c.N)
	return o
}

// Run computes C = op(A) op(B) with lib.
func (o *Operands) Run(lib Lib) {
	lib.Sgemm(o.TransA, o.TransB, o.M, o.N, o.K, 1, o.A, o.LDA, o.B, o.LDB, 0, o.C, o.LDC)
}

// Measure runs lib on the given number of threads, one untimed call and then
// calls for at least minTime (at least one), and returns the GFLOP/s of the
// fastest call: on a shared machine the fastest call is the one least
// disturbed by others.
func (o *Operands) Measure(lib Lib, threads int, minTime time.Duration) float64 {
	restore := lib.Threads(threads)
	defer restore()
	o.Run(lib)
	best := time.Duration(1<<63 - 1)
	for start := time.Now(); best == 1<<63-1 || time.Since(start) < minTime; {
		t0 := time.Now()
		o.Run(lib)
		best = min(best, time.Since(t0))
	}
	return o.Flops() / best.Seconds() / 1e9
}
