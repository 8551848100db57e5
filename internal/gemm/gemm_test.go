package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/duo-go/duo/internal/parallel"
	"golang.org/x/sys/cpu"
)

// gemmCase is one Sgemm call: shape, layout, scalars and leading-dimension
// slack (extra elements per row beyond the minimum).
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	padA, padB     int
	padC           int
	bias           bool // SgemmBias (alpha 1, beta 0) with a random bias
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%g beta=%g pad=%d,%d,%d bias=%v",
		tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.padA, tc.padB, tc.padC, tc.bias)
}

const guard = 37 // sentinel elements on each side of C

var sentinel = float32(math.Float32frombits(0x7fc0_dead)) // a NaN payload

// run executes the case with operands from rng and reports the first
// mismatch against a float64 reference, or "".
func (tc gemmCase) run(rng *rand.Rand) string {
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	lda, ldb, ldc := ac+tc.padA, bc+tc.padB, tc.n+tc.padC
	// Operands are exactly as long as the matrices need, so any read past
	// them panics.
	a := randMat(rng, ar, ac, lda)
	b := randMat(rng, br, bc, ldb)
	clen := 0
	if tc.m > 0 && tc.n > 0 {
		clen = (tc.m-1)*ldc + tc.n
	}
	buf := make([]float32, clen+2*guard)
	for i := range buf {
		buf[i] = sentinel
	}
	c := buf[guard : guard+clen : guard+clen]
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			if tc.beta == 0 {
				c[i*ldc+j] = float32(math.NaN())
			} else {
				c[i*ldc+j] = rng.Float32()*2 - 1
			}
		}
	}
	c0 := append([]float32(nil), c...)
	// op(A) row by row and op(B) column by column, in float64.
	opA := make([]float64, tc.m*tc.k)
	opB := make([]float64, tc.k*tc.n)
	for i := 0; i < tc.m; i++ {
		for p := 0; p < tc.k; p++ {
			if tc.transA {
				opA[i*tc.k+p] = float64(a[p*lda+i])
			} else {
				opA[i*tc.k+p] = float64(a[i*lda+p])
			}
		}
	}
	for j := 0; j < tc.n; j++ {
		for p := 0; p < tc.k; p++ {
			if tc.transB {
				opB[j*tc.k+p] = float64(b[j*ldb+p])
			} else {
				opB[j*tc.k+p] = float64(b[p*ldb+j])
			}
		}
	}

	var bias []float32
	if tc.bias {
		tc.alpha, tc.beta = 1, 0
		bias = randMat(rng, 1, tc.n, tc.n)
		SgemmBias(tc.transA, tc.transB, tc.m, tc.n, tc.k, a, lda, b, ldb, bias, c, ldc)
	} else {
		Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	}

	for i := 0; i < guard; i++ {
		if !isSentinel(buf[i]) || !isSentinel(buf[guard+clen+i]) {
			return "wrote outside C"
		}
	}
	// Within the tolerance of any summation order: (k+4) units of
	// roundoff, doubled, relative to the sum of the magnitudes of the terms.
	tol := float64(tc.k+4) * 0x1p-23
	for i := 0; i < tc.m; i++ {
		for j := 0; j < ldc && i*ldc+j < clen; j++ {
			got := c[i*ldc+j]
			if j >= tc.n {
				if !isSentinel(got) && math.Float32bits(got) != math.Float32bits(c0[i*ldc+j]) {
					return fmt.Sprintf("C[%d][%d] in the row padding changed", i, j)
				}
				continue
			}
			var sum, mag float64
			ra, cb := opA[i*tc.k:(i+1)*tc.k], opB[j*tc.k:(j+1)*tc.k]
			for p, x := range ra {
				t := x * cb[p]
				sum += t
				mag += math.Abs(t)
			}
			want := float64(tc.alpha) * sum
			mag *= math.Abs(float64(tc.alpha))
			if bias != nil {
				want += float64(bias[j])
				mag += math.Abs(float64(bias[j]))
			}
			if tc.beta != 0 {
				cv := float64(c0[i*ldc+j])
				want += float64(tc.beta) * cv
				mag += math.Abs(float64(tc.beta) * cv)
			}
			if d := math.Abs(float64(got) - want); !(d <= tol*mag+1e-30) {
				return fmt.Sprintf("C[%d][%d] = %g, want %g (|diff| %g, tolerance %g)", i, j, got, want, d, tol*mag)
			}
		}
	}
	return ""
}

func isSentinel(v float32) bool { return math.Float32bits(v) == math.Float32bits(sentinel) }

// randMat returns a rows x cols matrix with leading dimension ld in a slice
// of exactly (rows-1)*ld+cols elements; padding holds garbage.
func randMat(rng *rand.Rand, rows, cols, ld int) []float32 {
	if rows == 0 || cols == 0 {
		return nil
	}
	s := make([]float32, (rows-1)*ld+cols)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
		if i%ld >= cols {
			s[i] = float32(math.Inf(1)) // padding must never be read into C
		}
	}
	return s
}

// config is a way of running Sgemm: kernel, paths and thread split.
type config struct {
	name    string
	asm     bool
	wide    bool // the AVX-512 kernel (with asm, on a CPU that has it)
	threads int
	small   float64  // smallMaxFlops override (0: default, <0: no small path)
	blk     blocking // zero: the default blocking
	parMin  float64  // minParallelFlops override (0: default)
	budget  int      // bBudget override (0: default)
}

// configs lists the configurations the tests cover on this machine.
func configs() []config {
	tiny := blocking{kc: 12, mc: 12, nc: 32}
	var cs []config
	kinds := []struct {
		name      string
		asm, wide bool
	}{{"avx512", true, true}, {"asm", true, false}, {"go", false, false}}
	for _, kd := range kinds {
		if kd.asm && !accel || kd.wide && !hasWideCPU() {
			continue
		}
		kind, asm, wide := kd.name, kd.asm, kd.wide
		cs = append(cs,
			config{name: kind + "/1thread", asm: asm, wide: wide, threads: 1},
			config{name: kind + "/2threads", asm: asm, wide: wide, threads: 2, parMin: 1},
			config{name: kind + "/3threads", asm: asm, wide: wide, threads: 3, parMin: 1},
			// Tiny blocks: many K blocks, M blocks, column blocks and
			// (with the budget) K super-blocks per product.
			config{name: kind + "/tinyblocks", asm: asm, wide: wide, threads: 1, blk: tiny, small: -1, budget: 3 * 12 * 32},
			config{name: kind + "/tinyblocks-2threads", asm: asm, wide: wide, threads: 2, blk: tiny, parMin: 1, budget: 2 * 12 * 32},
		)
		if wide {
			// Blocks of 4 and of 5 tiles: the AVX-512 kernel with an
			// AVX2 tile after it, and large K.
			cs = append(cs,
				config{name: kind + "/mc24", asm: true, wide: true, threads: 1, blk: blocking{kc: 64, mc: 24, nc: 64}, small: -1},
				config{name: kind + "/mc30", asm: true, wide: true, threads: 1, blk: blocking{kc: 512, mc: 30, nc: 128}, small: -1})
		}
		if asm {
			// The small path for every shape it accepts.
			cs = append(cs, config{name: kind + "/small", asm: true, wide: wide, threads: 1, small: 1e18})
		}
	}
	return cs
}

// with applies the configuration for the duration of f.
func (cf config) with(f func()) {
	prevAsm := setAsm(cf.asm)
	prevWide := setWide(cf.wide)
	prevThreads := parallel.SetThreads(cf.threads)
	prevBlk, prevSmall, prevPar, prevBudget := blk, smallMaxFlops, minParallelFlops, bBudget
	if cf.blk.kc > 0 {
		blk = cf.blk
	}
	if cf.budget > 0 {
		bBudget = cf.budget
	}
	if cf.small != 0 {
		smallMaxFlops = cf.small
	}
	if cf.parMin > 0 {
		minParallelFlops = cf.parMin
	}
	defer func() {
		setAsm(prevAsm)
		setWide(prevWide)
		parallel.SetThreads(prevThreads)
		blk, smallMaxFlops, minParallelFlops, bBudget = prevBlk, prevSmall, prevPar, prevBudget
	}()
	f()
}

var awkward = []int{1, 2, 5, 6, 7, 12, 15, 16, 17, 31, 33, 48, 63, 97, 255, 257}

// randCase draws a case with dimensions from awkward or uniform in [1, maxDim].
func randCase(rng *rand.Rand, maxDim int) gemmCase {
	dim := func() int {
		if rng.IntN(2) == 0 {
			return awkward[rng.IntN(len(awkward))]
		}
		return 1 + rng.IntN(maxDim)
	}
	scal := []float32{1, 1, 0, -1, 0.5, 2.25}
	tc := gemmCase{
		transA: rng.IntN(2) == 1, transB: rng.IntN(2) == 1,
		m: dim(), n: dim(), k: dim(),
		alpha: scal[rng.IntN(len(scal))], beta: scal[rng.IntN(len(scal))],
	}
	if tc.alpha == 0 && rng.IntN(2) == 0 {
		tc.alpha = 1
	}
	tc.bias = rng.IntN(4) == 0
	if rng.IntN(2) == 0 {
		tc.padA, tc.padB, tc.padC = rng.IntN(9), rng.IntN(9), rng.IntN(9)
	}
	return tc
}

func TestSgemmRandom(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 40
	}
	for _, cf := range configs() {
		t.Run(cf.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(cf.name))))
			cf.with(func() {
				for range n {
					tc := randCase(rng, 300)
					for tc.m*tc.n*tc.k > 3_000_000 {
						tc = randCase(rng, 300)
					}
					if msg := tc.run(rng); msg != "" {
						t.Fatalf("%v: %s", tc, msg)
					}
				}
			})
		})
	}
}

// TestSgemmLayouts runs every layout and scalar variant on a few fixed
// shapes that straddle the tile and block sizes.
func TestSgemmLayouts(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {6, 16, 1}, {5, 17, 255}, {17, 5, 257}, {96, 80, 300}, {130, 47, 520}, {255, 257, 17}, {7, 700, 40}}
	scal := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}, {2, -1}}
	for _, cf := range configs() {
		t.Run(cf.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			cf.with(func() {
				for _, s := range shapes {
					for lay := 0; lay < 4; lay++ {
						for _, ab := range scal {
							for _, pad := range []int{0, 3} {
								tc := gemmCase{transA: lay&1 == 1, transB: lay&2 == 2, m: s[0], n: s[1], k: s[2],
									alpha: ab[0], beta: ab[1], padA: pad, padB: 2 * pad, padC: pad + 1}
								if msg := tc.run(rng); msg != "" {
									t.Fatalf("%v: %s", tc, msg)
								}
								tc.bias = true
								if msg := tc.run(rng); msg != "" {
									t.Fatalf("%v: %s", tc, msg)
								}
							}
						}
					}
				}
			})
		})
	}
}

// TestSgemmThin covers the thin path (B transposed, few rows): one and
// several 16-row panels, the zero-padded last rows of B, both layouts of A,
// the scalars and the bias, on one and two threads.
func TestSgemmThin(t *testing.T) {
	if !accel {
		t.Skip("the thin path needs the assembly kernel")
	}
	shapes := [][3]int{{1, 4099, 17}, {16, 520, 130}, {5, 301, 260}, {40, 1030, 1025}, {64, 1024, 1024}, {20, 2605, 403}}
	scal := [][2]float32{{1, 0}, {-0.5, 2}}
	for _, threads := range []int{1, 2} {
		defer parallel.SetThreads(parallel.SetThreads(threads))
		rng := rand.New(rand.NewPCG(3, uint64(threads)))
		for _, s := range shapes {
			if !useThin(true, s[0], s[1], s[2]) {
				t.Fatalf("%v does not take the thin path", s)
			}
			for _, transA := range []bool{false, true} {
				for _, ab := range scal {
					tc := gemmCase{transA: transA, transB: true, m: s[0], n: s[1], k: s[2],
						alpha: ab[0], beta: ab[1], padA: 1, padB: 3, padC: 2}
					if msg := tc.run(rng); msg != "" {
						t.Fatalf("threads %d, %v: %s", threads, tc, msg)
					}
				}
				tc := gemmCase{transA: transA, transB: true, m: s[0], n: s[1], k: s[2], bias: true}
				if msg := tc.run(rng); msg != "" {
					t.Fatalf("threads %d, %v: %s", threads, tc, msg)
				}
			}
		}
	}
}

// TestSgemmLarge crosses the default KC, MC and NC blocks with one and two
// threads.
func TestSgemmLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large products")
	}
	cases := []gemmCase{
		{m: 200, n: blk.nc + 37, k: 2*blk.kc + 3, alpha: 1, beta: 0},
		{transA: true, transB: true, m: 2*blk.mc + 5, n: 70, k: blk.kc + 1, alpha: 1.5, beta: -1, padA: 3, padB: 1, padC: 2},
		{transB: true, m: 301, n: 259, k: 600, alpha: 1, beta: 1},
		{transA: true, m: 259, n: 301, k: 513, alpha: -1, beta: 0.5},
		{m: 200, n: blk.nc + 37, k: 2*blk.kc + 3, bias: true}, // the bias of the second column block, first K block only
		{transB: true, m: 301, n: 259, k: 600, bias: true, padC: 3},
	}
	for _, cf := range configs() {
		if cf.blk.kc > 0 || cf.threads > 2 {
			continue
		}
		t.Run(cf.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			cf.with(func() {
				for _, tc := range cases {
					if msg := tc.run(rng); msg != "" {
						t.Fatalf("%v: %s", tc, msg)
					}
				}
			})
		})
	}
}

// TestSgemmDegenerate covers zero dimensions, k == 0 and alpha == 0.
func TestSgemmDegenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []gemmCase{
		{m: 0, n: 5, k: 3, alpha: 1}, {m: 4, n: 0, k: 3, alpha: 1},
		{m: 4, n: 5, k: 0, alpha: 1, beta: 0}, {m: 4, n: 5, k: 0, alpha: 1, beta: 0.5},
		{m: 4, n: 5, k: 7, alpha: 0, beta: 0}, {m: 4, n: 5, k: 7, alpha: 0, beta: 3, padC: 2},
	} {
		if msg := tc.run(rng); msg != "" {
			t.Fatalf("%v: %s", tc, msg)
		}
	}
}

func TestSgemmPanics(t *testing.T) {
	a := make([]float32, 6)
	for _, f := range []func(){
		func() { Sgemm(false, false, 2, 2, 3, 1, a, 3, a[:5], 2, 0, a, 2) }, // B short
		func() { Sgemm(false, false, 2, 2, 3, 1, a, 2, a, 2, 0, a, 2) },     // lda < k
		func() { Sgemm(false, false, -1, 2, 3, 1, a, 3, a, 2, 0, a, 2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}

// TestSgemmAllocs checks that steady-state single-threaded calls reuse
// their buffers.
func TestSgemmAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	prev := parallel.SetThreads(1)
	defer parallel.SetThreads(prev)
	for _, s := range [][4]int{{8, 8, 8, 0}, {200, 200, 200, 0}, {200, 200, 200, 1}} {
		m, n, k, tr := s[0], s[1], s[2], s[3] == 1
		a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		f := func() { Sgemm(tr, tr, m, n, k, 1, a, k, b, n, 0, c, n) }
		f()
		if allocs := testing.AllocsPerRun(20, f); allocs > 0 {
			t.Errorf("%v: %v allocations per call", s, allocs)
		}
	}
}

// TestDispatch reports which kernel runs; under
// GODEBUG=cpu.avx2=off,cpu.fma=off it must be the Go one.
func TestDispatch(t *testing.T) {
	t.Logf("assembly kernels: %v (built: %v), blocking %+v", accel, haveAsm, blk)
	if godebugOff() && accel {
		t.Error("AVX2/FMA disabled by GODEBUG but the assembly kernel is selected")
	}
}

// godebugOff reports whether GODEBUG turns off AVX2 or FMA.
func godebugOff() bool {
	for _, f := range strings.Split(os.Getenv("GODEBUG"), ",") {
		if f == "cpu.avx2=off" || f == "cpu.fma=off" || f == "cpu.all=off" {
			return true
		}
	}
	return false
}

func TestChooseBlocking(t *testing.T) {
	for _, c := range [][3]int{{-1, -1, -1}, {32 << 10, 512 << 10, 32 << 20}, {48 << 10, 2 << 20, 0}, {1, 1, 1}, {1 << 30, 1 << 30, 1 << 40}} {
		b := chooseBlocking(c[0], c[1], c[2])
		if b.kc < 8 || b.kc%4 != 0 || b.mc < mr || b.mc%mr != 0 || b.nc < nr || b.nc%nr != 0 {
			t.Errorf("chooseBlocking(%v) = %+v", c, b)
		}
	}
}

func FuzzSgemm(f *testing.F) {
	f.Add(uint8(5), uint8(17), uint8(3), uint8(0), uint8(0), uint64(1))
	f.Add(uint8(6), uint8(16), uint8(40), uint8(3), uint8(1), uint64(2))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(2), uint8(2), uint64(3))
	f.Add(uint8(37), uint8(33), uint8(29), uint8(1), uint8(3), uint64(4))
	f.Fuzz(func(t *testing.T, m, n, k, layout, variant uint8, seed uint64) {
		scal := [][2]float32{{1, 0}, {1, 1}, {-2, 0.5}, {0.25, -1}}
		ab := scal[variant%4]
		tc := gemmCase{
			transA: layout&1 == 1, transB: layout&2 == 2,
			m: int(m % 48), n: int(n % 48), k: int(k % 48),
			alpha: ab[0], beta: ab[1],
			padA: int(variant>>2) % 5, padB: int(variant>>4) % 5, padC: int(variant>>6) % 3,
		}
		rng := rand.New(rand.NewPCG(seed, 9))
		for _, cf := range configs() {
			cf.with(func() {
				if msg := tc.run(rng); msg != "" {
					t.Fatalf("%s %v: %s", cf.name, tc, msg)
				}
			})
		}
	})
}

// TestMeasurePeak checks that the peak loops run and report a rate exactly
// where the CPU (as GODEBUG leaves it) has the instructions. Their speed is
// duo bench gemm's business.
func TestMeasurePeak(t *testing.T) {
	p := MeasurePeak(time.Millisecond)
	if got, want := p.AVX512 > 0, hasWideCPU(); got != want {
		t.Errorf("AVX512 = %v GFLOP/s on a CPU with AVX-512F %v", p.AVX512, want)
	}
	if got, want := p.AVX2 > 0, haveAsm && cpu.X86.HasAVX2 && cpu.X86.HasFMA; got != want {
		t.Errorf("AVX2 = %v GFLOP/s on a CPU with AVX2+FMA %v", p.AVX2, want)
	}
	if got, want := p.Kernel > 0, accel; got != want {
		t.Errorf("Kernel = %v GFLOP/s with the assembly kernels %v", p.Kernel, want)
	}
	if p.Of() != map[bool]float64{true: p.AVX512, false: p.AVX2}[wide] {
		t.Errorf("Of() = %v, want the rate of the kernel in use (%s)", p.Of(), Kernel())
	}
}

// TestBlockSizesBalanced checks the row chunks of the blocked driver: they
// tile [0, m) in whole row groups, none over mc nor over the configured MC,
// differ by at most one group, and come in a multiple of the goroutines
// when there are more than them (an unequal last chunk left one goroutine
// idle for a sixth of a two-thread 1024^3 product).
func TestBlockSizesBalanced(t *testing.T) {
	for _, w := range []bool{false, true} {
		if w && !hasWideCPU() {
			continue
		}
		prev := setWide(w)
		for _, m := range []int{1, 5, 12, 13, 100, 128, 256, 1000, 1024, 2048, 4096} {
			for _, threads := range []int{1, 2, 3, 4} {
				kc, mc, nic := blockSizes(m, 768, threads)
				g := rowGrain()
				name := fmt.Sprintf("wide=%v/m=%d/t=%d", w, m, threads)
				if kc <= 0 || kc > blk.kc || nic < 1 || mc%g != 0 || mc > max(g, blk.mc/g*g) {
					t.Errorf("%s: kc %d, mc %d, nic %d (blk %+v)", name, kc, mc, nic, blk)
					continue
				}
				if nic > threads && threads > 1 && nic%threads != 0 && nic != ceilDiv(m, g) {
					t.Errorf("%s: %d chunks for %d goroutines", name, nic, threads)
				}
				lo, small, big := 0, m, 0 // chunk sizes in groups
				for i := range nic {
					a, b := splitRange(m, nic, i, g)
					if a != lo || b-a > mc || (b < m && (b-a)%g != 0) {
						t.Fatalf("%s: chunk %d is [%d, %d) after %d (mc %d)", name, i, a, b, lo, mc)
					}
					small, big = min(small, ceilDiv(b-a, g)), max(big, ceilDiv(b-a, g))
					lo = b
				}
				if lo != m || big-small > 1 {
					t.Errorf("%s: chunks end at %d, %d-%d groups of %d rows", name, lo, small, big, g)
				}
			}
		}
		setWide(prev)
	}
}

// TestFlops checks that every product is counted once, 2*m*n*k, on each
// path SgemmBias can take.
func TestFlops(t *testing.T) {
	for _, tc := range []struct {
		name    string
		m, n, k int
		bias    bool
	}{
		{"sgemm", 3, 4, 5, false},
		{"bias/small", 3, 4, 5, true},
		{"bias/blocked", 200, 300, 100, true},
		{"empty", 0, 4, 5, false},
	} {
		a, b, c := make([]float32, tc.m*tc.k), make([]float32, tc.k*tc.n), make([]float32, tc.m*tc.n)
		before := Flops()
		if tc.bias {
			SgemmBias(false, false, tc.m, tc.n, tc.k, a, tc.k, b, tc.n, make([]float32, tc.n), c, tc.n)
		} else {
			Sgemm(false, false, tc.m, tc.n, tc.k, 1, a, tc.k, b, tc.n, 0, c, tc.n)
		}
		if got, want := Flops()-before, int64(2*tc.m*tc.n*tc.k); got != want {
			t.Errorf("%s: counted %d flops, want %d", tc.name, got, want)
		}
	}
}
