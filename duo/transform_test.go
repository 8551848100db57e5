package duo

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Spec section 3 reference table.
func TestTransformReference(t *testing.T) {
	for _, tc := range []struct{ gamma, at, k50257, k30522 float64 }{
		{-4.00, 0.9910, 0.99869, 0.99906},
		{-3.55, 0.9859, 0.94547, 0.95615},
		{-3.50, 0.9852, 0.92835, 0.94171},
		{-1.85, 0.9296, 0.04932, 0.06197},
		{-1.75, 0.9230, 0.03828, 0.04868},
		{-1.00, 0.8550, 0.00619, 0.00849},
	} {
		at, st := GaussianCoefs(tc.gamma)
		if math.Abs(at-tc.at) > 1e-4 || math.Abs(at*at+st*st-1) > 1e-15 {
			t.Errorf("gamma %v: at = %v st = %v, want at %v", tc.gamma, at, st, tc.at)
		}
		for _, kv := range []struct {
			K    int
			want float64
		}{{50257, tc.k50257}, {30522, tc.k30522}} {
			if got := TransformFor(kv.K).Alpha(tc.gamma); math.Abs(got-kv.want) > 1e-4 {
				t.Errorf("T(K=%d, gamma=%v) = %.6f, want %.5f", kv.K, tc.gamma, got, kv.want)
			}
		}
	}
}

// For K = 2, p = Phi(mu/sqrt2), so T = 2p - 1 = erf(mu/2): relative accuracy
// near T = 0 and of dT/dgamma far into the tails.
func TestTransformK2(t *testing.T) {
	tr := TransformFor(2)
	for g := -9.0; g <= 5; g += 0.137 {
		mu := math.Exp(-g / 2)
		want := math.Erf(mu / 2)
		dwant := -mu / 2 * math.Exp(-mu*mu/4) / math.Sqrt(math.Pi)
		if got := tr.Alpha(g); math.Abs(got-want) > 1e-12*want {
			t.Errorf("gamma %v: T = %v, want %v", g, got, want)
		}
		if got := tr.DAlphaDGamma(g); math.Abs(got-dwant) > 1e-8*math.Abs(dwant)+1e-20 {
			t.Errorf("gamma %v: dT = %v, want %v", g, got, dwant)
		}
	}
}

// Against an independent trapezoid on a fine fixed grid (spectrally accurate
// for this smooth, decaying integrand), the derivative by central difference.
func TestTransformQuadrature(t *testing.T) {
	for _, K := range []int{3, 7, 1000, 50257, 1000000} {
		tr := TransformFor(K)
		for _, g := range []float64{-5.5, -3.7, -2.6, -1.3, 0.4, 1.9, 2.5} {
			ref := func(g float64) float64 {
				mu, h := math.Exp(-g/2), 1e-3
				var p float64
				for z := -12.0; z < mu+12; z += h {
					p += math.Exp(-(z-mu)*(z-mu)/2+float64(K-1)*LogPhi(z)) / math.Sqrt(2*math.Pi) * h
				}
				return (float64(K)*p - 1) / float64(K-1)
			}
			want := ref(g)
			if got := tr.Alpha(g); math.Abs(got-want) > 1e-10*math.Max(want, 1e-3) {
				t.Errorf("K=%d gamma=%v: T = %.15g, trapezoid %.15g", K, g, got, want)
			}
			const h = 1e-4
			fd := (tr.Alpha(g+h) - tr.Alpha(g-h)) / (2 * h)
			if got := tr.DAlphaDGamma(g); math.Abs(got-fd) > 1e-8 {
				t.Errorf("K=%d gamma=%v: dT = %.12g, finite difference %.12g", K, g, got, fd)
			}
		}
	}
}

// The table interpolant against direct quadrature off the grid nodes.
func TestTransformInterpolation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, K := range []int{2, 50257, 1000000} {
		tr := TransformFor(K)
		for range 200 {
			g := tabGMin + (tabGMax-tabGMin)*r.Float64()
			v := tr.exact(g)
			a, da := v[0], v[1]
			if got := tr.Alpha(g); math.Abs(got-a) > 1e-13+1e-10*a {
				t.Errorf("K=%d gamma=%v: interpolated T off by %g", K, g, got-a)
			}
			if got := tr.DAlphaDGamma(g); math.Abs(got-da) > 1e-13+1e-8*math.Abs(da) {
				t.Errorf("K=%d gamma=%v: interpolated dT off by %g", K, g, got-da)
			}
		}
	}
}

func TestTransformMonotone(t *testing.T) {
	for _, K := range []int{2, 7, 50257, 1000000} {
		tr := TransformFor(K)
		prev := 1.0
		for g := -8.0; g <= 4; g += 0.003 {
			a := tr.Alpha(g)
			if a > prev+1e-15 || a < 0 || tr.DAlphaDGamma(g) > 1e-13 {
				t.Fatalf("K=%d: T not decreasing in [0,1] at gamma %v: %v after %v", K, g, a, prev)
			}
			prev = a
		}
	}
	if a := TransformFor(50257).Alpha(math.Inf(-1)); a != 1 {
		t.Errorf("T(-inf) = %v", a)
	}
	if a := TransformFor(50257).Alpha(math.Inf(1)); a != 0 {
		t.Errorf("T(+inf) = %v", a)
	}
}

func TestTransformCache(t *testing.T) {
	a, b := TransformFor(30522), TransformFor(30522)
	if a != b || a.K != 30522 || TransformFor(30523) == a {
		t.Fatal("TransformFor does not cache per K")
	}
}

func TestDualSchedule(t *testing.T) {
	g := GammaSchedule{Min: -3.55, Max: -1.85}
	s := DualSchedule{Gamma: g, T: TransformFor(50257)}
	if a0, a1 := s.Alpha(0), s.Alpha(1); math.Abs(a0-0.94547) > 1e-4 || math.Abs(a1-0.04932) > 1e-4 {
		t.Errorf("alpha(0), alpha(1) = %v, %v", a0, a1)
	}
	for _, x := range []float64{0.1, 0.5, 0.9} {
		const h = 1e-5
		fd := (s.Alpha(x+h) - s.Alpha(x-h)) / (2 * h)
		if d := s.AlphaPrime(x); math.Abs(d-fd) > 1e-8 {
			t.Errorf("alpha'(%v) = %v, finite difference %v", x, d, fd)
		}
	}
}

// chi2 returns Pearson's statistic of counts against probabilities p.
func chi2(counts []int, p []float64, n int) float64 {
	var s float64
	for v, c := range counts {
		e := p[v] * float64(n)
		s += (float64(c) - e) * (float64(c) - e) / e
	}
	return s
}

// chi2Crit6 is the chi-square(6 dof) quantile at p = 1e-6: with a fixed seed
// the test is deterministic, and a sound sampler would fail it once in 1e6 seeds.
const chi2Crit6 = 37.95

// argmax(at x + st eps) is distributed as Cat(T x + (1-T)/K) (Eqs. 10-13).
func TestArgmaxGaussianIsUSDM(t *testing.T) {
	const K, m, n = 7, 3, 200000
	tr := TransformFor(K)
	r := rand.New(rand.NewPCG(7, 11))
	for _, g := range []float64{-2.5, -1.1, 0.5} {
		at, st := GaussianCoefs(g)
		counts := make([]int, K)
		for range n {
			best, arg := math.Inf(-1), 0
			for v := range K {
				w := st * r.NormFloat64()
				if v == m {
					w += at
				}
				if w > best {
					best, arg = w, v
				}
			}
			counts[arg]++
		}
		a := tr.Alpha(g)
		p := make([]float64, K)
		for v := range p {
			p[v] = (1 - a) / K
		}
		p[m] += a
		if c := chi2(counts, p, n); c > chi2Crit6 {
			t.Errorf("gamma %v (alpha %.4f): chi2 = %.1f, counts %v", g, a, c, counts)
		}
	}
}

func BenchmarkNewTransform(b *testing.B) {
	for b.Loop() {
		NewTransform(50257)
	}
}

// The automatic curriculum range reproduces the paper's OpenWebText range
// for GPT-2's vocabulary, and spans alpha [0.95, 0.05] for any K.
func TestCurriculumGammaRange(t *testing.T) {
	if g := CurriculumGammaRange(50257); math.Abs(g.Min+3.55) > 0.03 || math.Abs(g.Max+1.85) > 0.03 {
		t.Errorf("K = 50257: %+v, the paper uses [-3.55, -1.85]", g)
	}
	for _, K := range []int{8, 256, 30522} {
		g, tr := CurriculumGammaRange(K), TransformFor(K)
		if a, b := tr.Alpha(g.Min), tr.Alpha(g.Max); math.Abs(a-0.95) > 0.01 || math.Abs(b-0.05) > 0.01 {
			t.Errorf("K = %d: %+v gives alpha %.3f .. %.3f", K, g, a, b)
		}
	}
}
