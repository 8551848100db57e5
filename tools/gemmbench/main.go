// Command gemmbench measures the engine's Sgemm side by side with gonum's
// pure-Go Sgemm and, when built with -tags openblas, OpenBLAS (cgo), and
// prints one table of GFLOP/s and ratios.
//
//	cd tools/gemmbench && go run -tags openblas . [-reps 5] [-mintime 300ms] [-threads 1,2] [-cases NN/256,...]
//
// Every library runs the same operands (C = op(A)*op(B), beta = 0). Each
// measurement repeats the call for at least -mintime and keeps the fastest
// call; the libraries take turns, -reps rounds per row, and the table shows
// the best round of each (or the median round with -stat median). Shared
// machines are noisy: compare the ratios, which are measured together.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/cpuid/v2"
	"golang.org/x/sys/unix"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/duo-go/duo/internal/gemm"
	"github.com/duo-go/duo/internal/parallel"
)

// sgemmFunc is the row-major Sgemm signature of the engine.
type sgemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// library is one implementation under test.
type library struct {
	name  string
	sgemm sgemmFunc
	// threads sets the thread count and returns a function that undoes it.
	threads func(n int) (restore func())
}

// openblas is set by openblas.go when built with -tags openblas.
var openblas *library

var engine = library{
	name:  "engine",
	sgemm: gemm.Sgemm,
	threads: func(n int) func() {
		prev := parallel.SetThreads(n)
		return func() { parallel.SetThreads(prev) }
	},
}

var gonumLib = library{
	name: "gonum",
	sgemm: func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		tA, tB := blas.NoTrans, blas.NoTrans
		if transA {
			tA = blas.Trans
		}
		if transB {
			tB = blas.Trans
		}
		gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	},
	// gonum splits its work over GOMAXPROCS goroutines.
	threads: func(n int) func() {
		prev := runtime.GOMAXPROCS(n)
		return func() { runtime.GOMAXPROCS(prev) }
	},
}

// benchCase is one product: op(A) m x k, op(B) k x n.
type benchCase struct {
	name           string
	transA, transB bool
	m, n, k        int
}

// The speed evaluation's sizes: squares, and the transformer MLP shape
// M=4096 (tokens) K=768 N=3072 in the layouts Linear uses: forward A B^T,
// backward A B (dX) and A^T B (dW), plus A B.
var allCases = []benchCase{
	{"NN/256", false, false, 256, 256, 256},
	{"NN/512", false, false, 512, 512, 512},
	{"NN/1024", false, false, 1024, 1024, 1024},
	{"NN/4096x768x3072", false, false, 4096, 3072, 768},
	{"NT/4096x768x3072", false, true, 4096, 3072, 768},
	{"TN/4096x768x3072", true, false, 4096, 3072, 768},
}

func main() {
	reps := flag.Int("reps", 3, "rounds per table row")
	minTime := flag.Duration("mintime", 300*time.Millisecond, "least time per measurement")
	threadList := flag.String("threads", "1,2", "comma-separated thread counts")
	caseList := flag.String("cases", "", "comma-separated case names (default all: "+caseNames()+") or custom shapes LAYOUT:m:n:k, e.g. NT:512:1024:256")
	withGonum := flag.Bool("gonum", true, "measure gonum (slow on the large shapes)")
	stat := flag.String("stat", "best", "best or median round")
	flag.BoolVar(&cpuTime, "cputime", false, "time calls by the calling thread's CPU time (only meaningful with -threads 1; less disturbed by other processes)")
	flag.Parse()

	var threads []int
	for _, s := range strings.Split(*threadList, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || t < 1 {
			fatalf("bad -threads %q", *threadList)
		}
		threads = append(threads, t)
	}
	cases := allCases
	if *caseList != "" {
		cases = nil
		for _, name := range strings.Split(*caseList, ",") {
			if c, ok := parseShape(name); ok {
				cases = append(cases, c)
				continue
			}
			i := slices.IndexFunc(allCases, func(c benchCase) bool { return c.name == name })
			if i < 0 {
				fatalf("unknown case %q (have %s, or LAYOUT:m:n:k)", name, caseNames())
			}
			cases = append(cases, allCases[i])
		}
	}
	if *reps < 1 {
		fatalf("-reps must be at least 1")
	}
	if *stat != "best" && *stat != "median" {
		fatalf("-stat must be best or median")
	}

	libs := []*library{&engine}
	if *withGonum {
		libs = append(libs, &gonumLib)
	}
	if openblas != nil {
		libs = append(libs, openblas)
	}

	fmt.Printf("# %s (%s), L1D %d KiB, L2 %d KiB, L3 %d MiB, GOMAXPROCS %d, engine assembly kernels %v\n",
		strings.TrimSpace(cpuid.CPU.BrandName), runtime.GOARCH, cpuid.CPU.Cache.L1D>>10, cpuid.CPU.Cache.L2>>10, cpuid.CPU.Cache.L3>>20,
		runtime.GOMAXPROCS(0), gemm.Accelerated())
	fmt.Printf("# GFLOP/s of the fastest call, %s of %d rounds, mintime %v\n", *stat, *reps, *minTime)
	fmt.Printf("%-20s %7s %9s %9s %9s %10s %10s\n", "size", "threads", "engine", "gonum", "OpenBLAS", "eng/OBLAS", "eng/gonum")
	for _, bc := range cases {
		ops := newOperands(bc)
		for _, t := range threads {
			rounds := make(map[string][]float64)
			for range *reps {
				for _, lib := range libs {
					rounds[lib.name] = append(rounds[lib.name], ops.measure(lib, t, *minTime))
					if lib == openblas {
						// Let OpenBLAS's worker threads stop spinning.
						time.Sleep(200 * time.Millisecond)
					}
				}
			}
			g := make(map[string]float64)
			for name, r := range rounds {
				g[name] = summarize(r, *stat)
			}
			fmt.Printf("%-20s %7d %9s %9s %9s %10s %10s\n", bc.name, t,
				num(g["engine"]), num(g["gonum"]), num(g["openblas"]),
				ratio(g["engine"], g["openblas"]), ratio(g["engine"], g["gonum"]))
		}
	}
}

// operands are one case's matrices, shared by all libraries.
type operands struct {
	bc            benchCase
	a, b, c       []float32
	lda, ldb, ldc int
}

func newOperands(bc benchCase) *operands {
	o := &operands{bc: bc, lda: bc.k, ldb: bc.n, ldc: bc.n}
	if bc.transA {
		o.lda = bc.m
	}
	if bc.transB {
		o.ldb = bc.k
	}
	r := rand.New(rand.NewPCG(1, 2))
	o.a = randSlice(r, bc.m*bc.k)
	o.b = randSlice(r, bc.k*bc.n)
	o.c = make([]float32, bc.m*bc.n)
	return o
}

// measure runs lib for at least minTime (and at least twice, the first call
// untimed) and returns the GFLOP/s of its fastest call.
func (o *operands) measure(lib *library, threads int, minTime time.Duration) float64 {
	restore := lib.threads(threads)
	defer restore()
	bc := o.bc
	call := func() {
		lib.sgemm(bc.transA, bc.transB, bc.m, bc.n, bc.k, 1, o.a, o.lda, o.b, o.ldb, 0, o.c, o.ldc)
	}
	if cpuTime {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	call()
	best := time.Duration(1<<63 - 1)
	start := time.Now()
	for time.Since(start) < minTime {
		t0 := now()
		call()
		best = min(best, now()-t0)
	}
	return 2 * float64(bc.m) * float64(bc.n) * float64(bc.k) / best.Seconds() / 1e9
}

// cpuTime selects the thread's CPU clock for timing calls.
var cpuTime bool

// now reads the wall clock or, with -cputime, the thread's CPU clock.
func now() time.Duration {
	if cpuTime {
		var ts unix.Timespec
		if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) == nil {
			return time.Duration(ts.Nano())
		}
	}
	return time.Duration(time.Now().UnixNano())
}

// parseShape parses LAYOUT:m:n:k, LAYOUT being NN, NT, TN or TT.
func parseShape(s string) (benchCase, bool) {
	f := strings.Split(s, ":")
	if len(f) != 4 || len(f[0]) != 2 || strings.Trim(f[0], "NT") != "" {
		return benchCase{}, false
	}
	var d [3]int
	for i, v := range f[1:] {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return benchCase{}, false
		}
		d[i] = n
	}
	return benchCase{name: s, transA: f[0][0] == 'T', transB: f[0][1] == 'T', m: d[0], n: d[1], k: d[2]}, true
}

func summarize(r []float64, stat string) float64 {
	slices.Sort(r)
	if stat == "best" {
		return r[len(r)-1]
	}
	return r[len(r)/2]
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

func num(v float64) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "-"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64)
}

func caseNames() string {
	var s []string
	for _, c := range allCases {
		s = append(s, c.name)
	}
	return strings.Join(s, ",")
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gemmbench: "+format+"\n", args...)
	os.Exit(2)
}
