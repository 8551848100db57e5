package tensor

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// vecLengths are the awkward lengths the kernels are tested at: empty, the
// scalar tail alone, around one and several 8-lane blocks, and long.
var vecLengths = []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 1000, 1023}

// vecCase runs one primitive on n-element inputs and returns what it
// computed (outputs, then any scalar result).
type vecCase struct {
	name string
	in   []func(rng *rand.Rand) float32 // one generator per input slice
	tol  float64                        // relative, against max(1, |want|)
	run  func(in [][]float32, out []float32) []float32
}

func normal(s float64) func(*rand.Rand) float32 {
	return func(rng *rand.Rand) float32 { return float32(s * rng.NormFloat64()) }
}

func uniform(lo, hi float64) func(*rand.Rand) float32 {
	return func(rng *rand.Rand) float32 { return float32(lo + (hi-lo)*rng.Float64()) }
}

var vecCases = []vecCase{
	{"exp", []func(*rand.Rand) float32{uniform(-100, 100)}, 4e-7,
		func(in [][]float32, out []float32) []float32 { expVec(out, in[0]); return out }},
	{"expShiftSum", []func(*rand.Rand) float32{normal(10)}, 1e-6,
		func(in [][]float32, out []float32) []float32 {
			s := expShiftSum(out, in[0], 3)
			return append(out, float32(s))
		}},
	{"expShiftSum in place", []func(*rand.Rand) float32{normal(10)}, 1e-6,
		func(in [][]float32, _ []float32) []float32 {
			s := expShiftSum(in[0], in[0], -2)
			return append(in[0], float32(s))
		}},
	{"gelu", []func(*rand.Rand) float32{normal(6)}, 1e-6,
		func(in [][]float32, out []float32) []float32 { geluVec(out, in[0]); return out }},
	{"gelu backward", []func(*rand.Rand) float32{normal(1), normal(6)}, 1e-6,
		func(in [][]float32, out []float32) []float32 { geluBackwardVec(out, in[0], in[1]); return out }},
	{"adamw", []func(*rand.Rand) float32{normal(1), normal(1), normal(0.1), uniform(0, 0.1)}, 1e-6,
		func(in [][]float32, _ []float32) []float32 {
			k := &adamConsts{decay: 0.999, b1: 0.9, c1: 0.1, b2: 0.999, c2: 0.001,
				stepSize: 1e-3, rbc2: 1.2, eps: 1e-8}
			adamwVec(in[0], in[1], in[2], in[3], k)
			return append(append(append([]float32(nil), in[0]...), in[2]...), in[3]...)
		}},
	{"max", []func(*rand.Rand) float32{normal(1)}, 0,
		func(in [][]float32, _ []float32) []float32 { return []float32{maxVec(in[0])} }},
	{"sum", []func(*rand.Rand) float32{normal(1)}, 1e-7,
		func(in [][]float32, _ []float32) []float32 { return []float32{float32(sumVec(in[0]))} }},
	{"sumSqDev", []func(*rand.Rand) float32{normal(1)}, 1e-7,
		func(in [][]float32, _ []float32) []float32 { return []float32{float32(sumSqDevVec(in[0], 0.3))} }},
	{"dot", []func(*rand.Rand) float32{normal(1), normal(1)}, 1e-5,
		func(in [][]float32, _ []float32) []float32 { return []float32{dotVec(in[0], in[1])} }},
	{"scale", []func(*rand.Rand) float32{normal(1)}, 0,
		func(in [][]float32, out []float32) []float32 { scaleVec(out, in[0], 1.7); return out }},
	{"addScalar", []func(*rand.Rand) float32{normal(1)}, 0,
		func(in [][]float32, out []float32) []float32 { addScalarVec(out, in[0], -0.3); return out }},
	{"mul", []func(*rand.Rand) float32{normal(1), normal(1)}, 0,
		func(in [][]float32, out []float32) []float32 { mulVec(out, in[0], in[1]); return out }},
	{"add", []func(*rand.Rand) float32{normal(1), normal(1)}, 0,
		func(in [][]float32, out []float32) []float32 { addVec(out, in[0], in[1]); return out }},
	{"fma", []func(*rand.Rand) float32{normal(1), normal(1), normal(1)}, 1e-6,
		func(in [][]float32, out []float32) []float32 { fmaVec(out, in[0], in[1], in[2]); return out }},
	{"fma accumulate", []func(*rand.Rand) float32{normal(1), normal(1), normal(1)}, 1e-6,
		func(in [][]float32, _ []float32) []float32 { fmaVec(in[2], in[0], in[1], in[2]); return in[2] }},
	{"axpy", []func(*rand.Rand) float32{normal(1), normal(1)}, 1e-6,
		func(in [][]float32, _ []float32) []float32 { axpyVec(-0.7, in[0], in[1]); return in[1] }},
	{"softmaxBack", []func(*rand.Rand) float32{uniform(0, 1), normal(1)}, 1e-6,
		func(in [][]float32, out []float32) []float32 {
			softmaxBackVec(out, in[0], in[1], 0.4, 0.125)
			return out
		}},
	{"shiftScale", []func(*rand.Rand) float32{normal(1)}, 0,
		func(in [][]float32, out []float32) []float32 { shiftScaleVec(out, in[0], 0.2, 1.3); return out }},
	{"lnBack", []func(*rand.Rand) float32{normal(1), normal(1)}, 1e-6,
		func(in [][]float32, out []float32) []float32 {
			lnBackVec(out, in[0], in[1], 1.3, 0.1, -0.2)
			return out
		}},
	{"rotary", []func(*rand.Rand) float32{normal(1), normal(1), uniform(-1, 1), uniform(-1, 1)}, 1e-6,
		func(in [][]float32, out []float32) []float32 {
			d2 := make([]float32, len(in[0]))
			rotaryVec(out, d2, in[0], in[1], in[2], in[3], 1)
			return append(out, d2...)
		}},
	{"rotary inverse in place", []func(*rand.Rand) float32{normal(1), normal(1), uniform(-1, 1), uniform(-1, 1)}, 1e-6,
		func(in [][]float32, _ []float32) []float32 {
			rotaryVec(in[0], in[1], in[0], in[1], in[2], in[3], -1)
			return append(append([]float32(nil), in[0]...), in[1]...)
		}},
}

// withAVX2 runs f with the kernels on or off (on: the AVX-512 ones too,
// where the CPU has them).
func withAVX2(on bool, f func()) { withKernels(on, on, f) }

// withKernels runs f with the AVX2 and the AVX-512 kernels each on or off
// (on only where the CPU has them).
func withKernels(avx2, avx512 bool, f func()) {
	old2, old512 := haveAVX2, haveAVX512
	haveAVX2, haveAVX512 = avx2 && old2, avx512 && old512
	defer func() { haveAVX2, haveAVX512 = old2, old512 }()
	f()
}

// kernelSet is a set of vector kernels the tests compare with the Go loops:
// the AVX2 kernels alone, or with the AVX-512 ones.
type kernelSet struct {
	name   string
	avx512 bool
}

// kernelSets lists the sets this CPU runs.
func kernelSets(t *testing.T) []kernelSet {
	sets := []kernelSet{{"avx2", false}}
	if haveAVX2 && haveAVX512 {
		sets = append(sets, kernelSet{"avx512", true})
	} else {
		t.Log("no AVX-512F (or GODEBUG=cpu.avx512f=off): the AVX-512 kernels are not tested")
	}
	return sets
}

// TestVecKernels compares every primitive with its Go loop on random
// inputs of awkward lengths at unaligned offsets, and checks that nothing
// past the end of the output is written.
func TestVecKernels(t *testing.T) {
	if !haveAVX2 {
		t.Log("no AVX2/FMA kernels: comparing the Go loops with themselves")
	}
	rng := rand.New(rand.NewSource(1))
	for _, set := range kernelSets(t) {
		for _, c := range vecCases {
			for _, n := range vecLengths {
				for _, off := range []int{0, 1, 3} {
					t.Run(fmt.Sprintf("%s/%s/n=%d/off=%d", set.name, c.name, n, off), func(t *testing.T) {
						in := make([][]float32, len(c.in))
						for i, gen := range c.in {
							in[i] = make([]float32, off+n)[off:]
							for j := range in[i] {
								in[i][j] = gen(rng)
							}
						}
						run := func(asm bool) []float32 {
							cp := make([][]float32, len(in))
							for i := range in {
								cp[i] = append(make([]float32, off, off+n), in[i]...)[off:]
							}
							buf := make([]float32, off+n+1)
							buf[off+n] = 42
							var got []float32
							withKernels(asm, asm && set.avx512, func() { got = c.run(cp, buf[off:off+n:off+n]) })
							if buf[off+n] != 42 {
								t.Fatalf("wrote past the end")
							}
							return append([]float32(nil), got...)
						}
						want, got := run(false), run(true)
						if len(got) != len(want) {
							t.Fatalf("%d results, want %d", len(got), len(want))
						}
						for i := range want {
							if got[i] == want[i] {
								continue
							}
							d := math.Abs(float64(got[i]) - float64(want[i]))
							if !(d <= c.tol*max(1, math.Abs(float64(want[i])))) {
								t.Fatalf("result %d = %v, Go loop %v", i, got[i], want[i])
							}
						}
					})
				}
			}
		}
	}
}

// Special values: infinities and NaN through max and the exponential
// kernels.
func TestVecSpecials(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, n := range []int{8, 9, 17} {
		for pos := 0; pos < n; pos++ {
			for _, v := range []float32{inf, -inf, nan} {
				x := make([]float32, n)
				for i := range x {
					x[i] = -inf
				}
				x[pos] = v
				var mg, mw float32
				withAVX2(true, func() { mg = maxVec(x) })
				withAVX2(false, func() { mw = maxVec(x) })
				if !(mg == mw || mg != mg && mw != mw) {
					t.Fatalf("max of %v = %v, Go loop %v", x, mg, mw)
				}
			}
		}
	}
	x := []float32{-100, 100, -20, 20, 0, float32(math.Copysign(0, -1)), inf, -inf, nan, 5, -5}
	for _, set := range kernelSets(t) {
		for _, f := range []func(dst, x []float32){geluVec, func(dst, x []float32) { geluBackwardVec(dst, x, x) }} {
			want := make([]float32, len(x))
			x16 := append(append([]float32(nil), x...), 1, 2, 3, 4, 5) // all through the kernel
			got := make([]float32, len(x16))
			withKernels(true, set.avx512, func() { f(got, x16) })
			withAVX2(false, func() { f(want, x) })
			for i := range x {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
					if math.Abs(float64(got[i]-want[i])) > 1e-6*max(1, math.Abs(float64(want[i]))) {
						t.Fatalf("at %v: %v, Go loop %v", x[i], got[i], want[i])
					}
				}
			}
		}
	}
}

// The AdamW kernel rounds exactly as its Go loop.
func TestAdamWKernelExact(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	const n = 1027
	mk := func(s float64, abs bool) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(s * rng.NormFloat64())
			if abs {
				x[i] = float32(math.Abs(float64(x[i])))
			}
		}
		return x
	}
	w, g, m, v := mk(1, false), mk(1, false), mk(0.1, false), mk(0.01, true)
	k := &adamConsts{decay: 0.99999, b1: 0.9, c1: 1 - float32(0.9), b2: 0.999, c2: 1 - float32(0.999),
		stepSize: 3e-4, rbc2: 31.6, eps: 1e-8}
	res := func(asm bool) [][]float32 {
		cp := [][]float32{append([]float32(nil), w...), g, append([]float32(nil), m...), append([]float32(nil), v...)}
		withAVX2(asm, func() { adamwVec(cp[0], cp[1], cp[2], cp[3], k) })
		return cp
	}
	a, b := res(true), res(false)
	for i := range a {
		for j := range a[i] {
			if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
				t.Fatalf("array %d[%d]: kernel %v, Go loop %v", i, j, a[i][j], b[i][j])
			}
		}
	}
}

// TestWideKernelsExact checks that the AVX-512 kernels compute what the
// AVX2 ones do, bit for bit: the same operations in the same order.
func TestWideKernelsExact(t *testing.T) {
	if !haveAVX2 || !haveAVX512 {
		t.Skip("no AVX-512F (or GODEBUG=cpu.avx512f=off)")
	}
	rng := rand.New(rand.NewSource(2))
	x, g := make([]float32, 4096), make([]float32, 4096)
	for i := range x {
		x[i], g[i] = float32(8*rng.NormFloat64()), float32(rng.NormFloat64())
	}
	x[0], x[1], x[2] = 100, -100, float32(math.Inf(-1))
	for _, c := range []struct {
		name string
		f    func(dst []float32)
	}{
		{"gelu", func(dst []float32) { geluVec(dst, x) }},
		{"gelu backward", func(dst []float32) { geluBackwardVec(dst, g, x) }},
	} {
		avx2, avx512 := make([]float32, len(x)), make([]float32, len(x))
		withKernels(true, false, func() { c.f(avx2) })
		withKernels(true, true, func() { c.f(avx512) })
		for i := range x {
			if math.Float32bits(avx2[i]) != math.Float32bits(avx512[i]) {
				t.Fatalf("%s at %v: AVX-512 %v, AVX2 %v", c.name, x[i], avx512[i], avx2[i])
			}
		}
	}
}
