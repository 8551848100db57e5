package tensor

import (
	"math"
	"math/rand"
	"testing"
)

const (
	expOverflow  = 88.72283  // above: +Inf
	expUnderflow = -87.33654 // below: exactly 0
)

// checkExp compares got = e^x against math.Exp: +Inf above the overflow
// bound, exactly 0 below the underflow bound, NaN for NaN, and otherwise
// within 4e-7 relative.
func checkExp(t *testing.T, x, got float32) {
	t.Helper()
	switch {
	case x != x:
		if got == got {
			t.Fatalf("exp(NaN) = %v", got)
		}
	case x > expOverflow:
		if !math.IsInf(float64(got), 1) {
			t.Fatalf("exp(%v) = %v, want +Inf", x, got)
		}
	case x < expUnderflow:
		if got != 0 || math.Signbit(float64(got)) {
			t.Fatalf("exp(%v) = %v, want 0", x, got)
		}
	default:
		want := math.Exp(float64(x))
		if e := math.Abs(float64(got)-want) / want; !(e <= 4e-7) {
			t.Fatalf("exp(%v) = %v, want %v (relative error %.3g)", x, got, want, e)
		}
	}
}

func expSpecials() []float32 {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	negz := float32(math.Copysign(0, -1))
	xs := []float32{0, negz, 1, -1, inf, -inf, nan, -nan, 1e30, -1e30,
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32,
		expOverflow, expUnderflow, 88.7, 88.72, 88.722, -87.3, -87.33, -87.336,
		-88, -100, 100, 89, float32(math.Ln2) / 2, -float32(math.Ln2) / 2}
	// Neighbours of the bounds and of the points where round(x log2e)
	// reaches 128 and -126.
	for _, b := range []float32{expOverflow, expUnderflow, 127.5 * math.Ln2, -125.5 * math.Ln2} {
		for _, d := range []float64{-1, 1} {
			v := b
			for i := 0; i < 4; i++ {
				v = math.Nextafter32(v, float32(d*math.Inf(1)))
				xs = append(xs, v)
			}
		}
	}
	return xs
}

func TestExpVecSweep(t *testing.T) {
	const n = 2000001
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(-100 + 200*float64(i)/(n-1))
	}
	src = append(src, expSpecials()...)
	dst := make([]float32, len(src))
	expVec(dst, src)
	for i, x := range src {
		checkExp(t, x, dst[i])
	}
	// In place gives the same result.
	cp := append([]float32(nil), src...)
	expVec(cp, cp)
	for i := range cp {
		if math.Float32bits(cp[i]) != math.Float32bits(dst[i]) {
			t.Fatalf("in-place exp(%v) = %v, out of place %v", src[i], cp[i], dst[i])
		}
	}
}

// Every length 0..17 and every position of the special values, so both
// the vector body and the scalar tail see them.
func TestExpVecTails(t *testing.T) {
	sp := expSpecials()
	for n := 0; n <= 17; n++ {
		for off := 0; off < len(sp); off++ {
			src := make([]float32, n)
			for i := range src {
				src[i] = sp[(off+i)%len(sp)]
			}
			dst := make([]float32, n+1)
			dst[n] = 42
			expVec(dst, src)
			for i, x := range src {
				checkExp(t, x, dst[i])
			}
			if dst[n] != 42 {
				t.Fatalf("n=%d: wrote past the end", n)
			}
		}
	}
}

func TestExpVecRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for it := 0; it < 2000; it++ {
		src := make([]float32, rng.Intn(100))
		for i := range src {
			switch rng.Intn(4) {
			case 0: // any bit pattern: NaNs, infinities, huge and tiny values
				src[i] = math.Float32frombits(rng.Uint32())
			case 1:
				src[i] = float32(rng.NormFloat64())
			default:
				src[i] = float32(-95 + 190*rng.Float64())
			}
		}
		dst := make([]float32, len(src))
		expVec(dst, src)
		for i, x := range src {
			checkExp(t, x, dst[i])
			// The vector kernel and expf agree to an ulp or so.
			if e := expf(x); e == e && !math.IsInf(float64(e), 0) && e != 0 {
				if d := math.Abs(float64(dst[i]-e)) / float64(e); d > 2.5e-7 {
					t.Fatalf("expVec(%v) = %v, expf %v", x, dst[i], e)
				}
			}
		}
	}
}

func FuzzExpVec(f *testing.F) {
	f.Add(float32(0), float32(88.72), float32(-87.3))
	f.Fuzz(func(t *testing.T, a, b, c float32) {
		src := []float32{a, b, c, a, b, c, a, b, c, -a, -b, -c}
		dst := make([]float32, len(src))
		expVec(dst, src)
		for i, x := range src {
			checkExp(t, x, dst[i])
		}
	})
}

func BenchmarkExpVec(b *testing.B) {
	src := make([]float32, 4096)
	for i := range src {
		src[i] = float32(i%200) - 100
	}
	dst := make([]float32, len(src))
	b.SetBytes(4 * int64(len(src)))
	for b.Loop() {
		expVec(dst, src)
	}
}

func BenchmarkExpf(b *testing.B) {
	src := make([]float32, 4096)
	for i := range src {
		src[i] = float32(i%200) - 100
	}
	dst := make([]float32, len(src))
	b.SetBytes(4 * int64(len(src)))
	for b.Loop() {
		for i, x := range src {
			dst[i] = expf(x)
		}
	}
}
