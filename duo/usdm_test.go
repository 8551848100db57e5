package duo

import (
	"github.com/duo-go/duo/internal/usdm"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/duo-go/duo/tensor"
)

func softmax(logits []float64) []float64 {
	mx := math.Inf(-1)
	for _, l := range logits {
		mx = math.Max(mx, l)
	}
	p := make([]float64, len(logits))
	var s float64
	for i, l := range logits {
		p[i] = math.Exp(l - mx)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}

// logSoftmax is accurate also for x_theta near one-hot: the normaliser is
// max + log1p(sum of the others), and the max's entry is -log1p(others).
func logSoftmax(logits []float64) []float64 {
	am := 0
	for i, l := range logits {
		if l > logits[am] {
			am = i
		}
	}
	var s float64
	for i, l := range logits {
		if i != am {
			s += math.Exp(l - logits[am])
		}
	}
	out := make([]float64, len(logits))
	for i, l := range logits {
		out[i] = (l - logits[am]) - math.Log1p(s)
	}
	return out
}

func randLogits(r *rand.Rand, K int, scale float64) []float64 {
	l := make([]float64, K)
	for i := range l {
		l[i] = scale * r.NormFloat64()
	}
	return l
}

func marginal(K, x int, alpha float64) []float64 { // Eq. 1, one-hot x
	q := make([]float64, K)
	for v := range q {
		q[v] = (1 - alpha) / float64(K)
	}
	q[x] += alpha
	return q
}

func TestPosterior(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, K := range []int{2, 3, 10, 257} {
		for range 20 {
			as := 0.01 + 0.98*r.Float64()
			at := as * r.Float64()
			zt := r.IntN(K)
			x := softmax(randLogits(r, K, 3))
			q := make([]float64, K)
			Posterior(q, x, zt, at, as)
			var s float64
			for _, v := range q {
				if v < 0 {
					t.Fatalf("K=%d: negative posterior %v", K, v)
				}
				s += v
			}
			if math.Abs(s-1) > 1e-13 {
				t.Errorf("K=%d: posterior sums to %v", K, s)
			}
			// One-hot x: Bayes' rule q(zs|x) q(zt|zs) / q(zt|x), and
			// sum_zt q_t(zt|x) q(zs|zt,x) = q_s(zs|x).
			m := r.IntN(K)
			oh := marginal(K, m, 1)
			qs, qt := marginal(K, m, as), marginal(K, m, at)
			comp := make([]float64, K)
			for i := range K {
				Posterior(q, oh, i, at, as)
				for v := range K {
					trans := (1 - at/as) / float64(K) // q(zt = i | zs = v), Eq. 1 with alpha_t/s
					if v == i {
						trans += at / as
					}
					if want := qs[v] * trans / qt[i]; math.Abs(q[v]-want) > 1e-13 {
						t.Errorf("K=%d one-hot: q(%d|%d) = %v, Bayes %v", K, v, i, q[v], want)
					}
					comp[v] += qt[i] * q[v]
				}
			}
			for v := range K {
				if math.Abs(comp[v]-qs[v]) > 1e-13 {
					t.Errorf("K=%d: composed marginal %v, want %v", K, comp[v], qs[v])
				}
			}
		}
	}
	// alpha_s = 1 with one-hot x returns x (the final denoising step).
	q := make([]float64, 5)
	Posterior(q, marginal(5, 2, 1), 4, 0.3, 1)
	for v, want := range marginal(5, 2, 1) {
		if math.Abs(q[v]-want) > 1e-15 {
			t.Errorf("alpha_s = 1: q = %v", q)
		}
	}
}

type lossCase struct {
	logX             []float64
	zt, m            int
	alpha, alphaPrim float64
}

func randLossCases(r *rand.Rand) []lossCase {
	var cs []lossCase
	for _, K := range []int{2, 3, 7, 64, 1000} {
		for _, a := range []float64{1e-3, 0.05, 0.5, 0.9, 0.999} {
			for e := range 2 {
				m := r.IntN(K)
				zt := m
				if e == 0 {
					zt = (m + 1 + r.IntN(K-1)) % K
				}
				lx := logSoftmax(randLogits(r, K, []float64{0.3, 2, 8}[r.IntN(3)]))
				cs = append(cs, lossCase{lx, zt, m, a, -(1 - 1e-3) * (0.2 + r.Float64())})
			}
		}
	}
	return cs
}

// lossDivergence is Eq. 49 regrouped, using sum_j xbar_theta_j = K, into
// non-negative terms: (-a'/(K a)) sum_j r_j phi(rho_j) with r_j =
// xbar_j/xbar_i, rho_j = (xbar_theta_j/xbar_theta_i)/r_j, phi(rho) =
// rho - 1 - log rho. No cancellation, so it is a tight reference.
func lossDivergence(logX []float64, zt, m int, a, ap float64) float64 {
	K := float64(len(logX))
	R := K * a / (1 - a)
	// d = log(xbar_theta_j/(1-a)), db = log(xbar_j/(1-a)).
	d := func(j int) float64 { return math.Log1p(R * math.Exp(logX[j])) }
	db := func(j int) float64 {
		if j == m {
			return math.Log1p(R)
		}
		return 0
	}
	var s float64
	for j := range logX {
		y := d(j) - d(zt) - db(j) + db(zt) // log rho_j
		s += math.Exp(db(j)-db(zt)) * usdm.Psi(-y)
	}
	return -ap / (K * a) * s
}

// Eq. 17 against Eq. 49: per sample, equal up to the rounding of the literal
// Eq. 49, whose terms reach (1+R) log(1+R) (R = K a/(1-a)) and cancel; and
// to 1e-9 relative against the cancellation-free regrouping of Eq. 49.
func TestLossEq17EqualsUDLM(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range randLossCases(r) {
		K, a := float64(len(c.logX)), c.alpha
		got := LossPerToken(c.logX, c.zt, c.m, a, c.alphaPrim)
		udlm := LossUDLM(c.logX, c.zt, c.m, a, c.alphaPrim)
		div := lossDivergence(c.logX, c.zt, c.m, a, c.alphaPrim)
		R := K * a / (1 - a)
		terms := math.Abs(c.alphaPrim) / (K * a) * (K/(1-a) + (1+R)*(1+math.Log1p(R)))
		if !(got >= 0) || math.Abs(got-div) > 1e-9*div || math.Abs(got-udlm) > 1e-9*udlm+1e-14*terms {
			t.Errorf("K=%d a=%v e=%v: Eq.17 %.15g, Eq.49 %.15g, divergence form %.15g",
				len(c.logX), a, c.zt == c.m, got, udlm, div)
		}
	}
}

func TestLossZeroAtOneHot(t *testing.T) {
	for _, K := range []int{2, 5, 1000} {
		for _, a := range []float64{1e-3, 0.5, 0.999} {
			for _, zt := range []int{1, 0} { // m = 1: e = 1, then e = 0
				exact := make([]float64, K)
				for v := range exact {
					exact[v] = math.Inf(-1)
				}
				exact[1] = 0
				if l := LossPerToken(exact, zt, 1, a, -1); l != 0 {
					t.Errorf("K=%d a=%v zt=%d: exact one-hot loss %g", K, a, zt, l)
				}
				prev := math.Inf(1)
				for _, sharp := range []float64{5, 10, 20, 40} {
					logits := make([]float64, K)
					logits[1] = sharp
					l := LossPerToken(logSoftmax(logits), zt, 1, a, -1)
					if l < -1e-20 || l > prev {
						t.Errorf("K=%d a=%v zt=%d sharp=%v: loss %g after %g", K, a, zt, sharp, l, prev)
					}
					prev = l
				}
				if prev > 1e-12 {
					t.Errorf("K=%d a=%v zt=%d: near one-hot loss %g", K, a, zt, prev)
				}
			}
		}
	}
}

func TestLossGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for _, c := range randLossCases(r) {
		K := len(c.logX)
		if K > 64 {
			continue
		}
		g := make([]float64, K)
		l := LossPerTokenGrad(g, c.logX, c.zt, c.m, c.alpha, c.alphaPrim)
		if want := LossPerToken(c.logX, c.zt, c.m, c.alpha, c.alphaPrim); l != want {
			t.Errorf("LossPerTokenGrad loss %v, LossPerToken %v", l, want)
		}
		f := func(v int, h float64) float64 {
			lx := append([]float64(nil), c.logX...)
			lx[v] += h
			return LossPerToken(lx, c.zt, c.m, c.alpha, c.alphaPrim)
		}
		for v := range K {
			const h = 1e-3 // fourth-order stencil: the loss has cancelling terms up to ~1e4
			fd := (8*(f(v, h)-f(v, -h)) - (f(v, 2*h) - f(v, -2*h))) / (12 * h)
			if math.Abs(g[v]-fd) > 1e-7*math.Max(1, math.Abs(fd)) {
				t.Errorf("K=%d a=%v e=%v v=%d: grad %.10g, finite difference %.10g", K, c.alpha, c.zt == c.m, v, g[v], fd)
			}
		}
	}
}

func TestPriorKL(t *testing.T) {
	for _, K := range []int{2, 50258} {
		for _, a1 := range []float64{0, 1e-3, 0.3, 1} {
			q := marginal(K, 0, a1)
			var want float64
			for _, p := range q {
				if p > 0 {
					want += p * math.Log(p*float64(K))
				}
			}
			if got := PriorKL(K, a1); math.Abs(got-want) > 1e-10*math.Max(want, 1e-3) { // want: naive sum of K terms
				t.Errorf("K=%d a1=%v: PriorKL %v, direct %v", K, a1, got, want)
			}
		}
	}
}

// SampleMarginal draws from Cat(alpha x + (1-alpha)/K) (Eq. 1).
func TestSampleMarginalChi2(t *testing.T) {
	const K, x, n = 7, 2, 200000
	r := rand.New(rand.NewPCG(12, 13))
	for _, a := range []float64{0.05, 0.5, 0.93} {
		counts := make([]int, K)
		for range n {
			counts[SampleMarginal(r, x, K, a)]++
		}
		if c := chi2(counts, marginal(K, x, a), n); c > chi2Crit6 {
			t.Errorf("alpha %v: chi2 = %.1f, counts %v", a, c, counts)
		}
	}
}

// nucleus against its definition: sort, keep the shortest prefix whose mass
// reaches top-p, renormalise.
func TestNucleusMatchesSort(t *testing.T) {
	rng := tensor.NewRNG(9)
	for _, K := range []int{1, 2, 7, 256, 5000} {
		for _, topP := range []float64{0.01, 0.5, 0.9, 0.999, 1} {
			p := make([]float64, K)
			var z float64
			for i := range p {
				p[i] = math.Exp(3 * rng.NormFloat64())
				z += p[i]
			}
			for i := range p {
				p[i] /= z
			}
			order := make([]int, K)
			for i := range order {
				order[i] = i
			}
			sort.Slice(order, func(a, b int) bool { return p[order[a]] > p[order[b]] })
			want := make([]float64, K)
			var cum float64
			for _, i := range order {
				want[i] = p[i]
				if cum += p[i]; cum >= topP {
					break
				}
			}
			for i := range want {
				want[i] /= cum
			}
			got := append([]float64(nil), p...)
			nucleus(got, topP, nil)
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-12 {
					t.Fatalf("K=%d top-p %g: p[%d] = %g, want %g", K, topP, i, got[i], want[i])
				}
			}
		}
	}
}

// The sampler's categorical draw (inverse CDF, one uniform) and the
// exponential race it replaced (argmax p_i / E_i) both follow p: Pearson's
// chi-square on K = 7 with zero-mass entries, at p = 1e-6.
func TestSampleCategorical(t *testing.T) {
	p := []float64{0.05, 0, 0.3, 0.01, 0.34, 0, 0.3}
	const n = 200000
	race := func(p []float64, rng *tensor.RNG) int {
		best, bestV := 0, -1.0
		for i, v := range p {
			if v > 0 {
				if r := v / rng.ExpFloat64(); r > bestV {
					best, bestV = i, r
				}
			}
		}
		return best
	}
	for name, draw := range map[string]func([]float64, *tensor.RNG) int{"inverse CDF": sampleCategorical, "exponential race": race} {
		rng := tensor.NewRNG(17)
		counts := make([]int, len(p))
		for range n {
			counts[draw(p, rng)]++
		}
		if counts[1] != 0 || counts[5] != 0 {
			t.Errorf("%s: drew a zero-mass id: %v", name, counts)
		}
		q := []float64{}
		var c []int
		for i, v := range p {
			if v > 0 {
				q, c = append(q, v), append(c, counts[i])
			}
		}
		// 5 categories with mass: 4 degrees of freedom, quantile 1-1e-6 = 32.4.
		if x := chi2(c, q, n); x > 32.4 {
			t.Errorf("%s: chi2 = %.1f, counts %v", name, x, counts)
		}
	}
	// Unnormalised weights and a single non-zero entry.
	if i := sampleCategorical([]float64{0, 0, 3}, tensor.NewRNG(1)); i != 2 {
		t.Errorf("one-hot draw: %d", i)
	}
}

// SoftmaxProbs64 (float32 exponentials, float64 sum) agrees with a float64
// softmax to float32 precision (x - max rounds to float32 before the
// exponential: 1e-5 relative at probabilities near e^-60), and sums to 1.
func TestSoftmaxProbs64(t *testing.T) {
	rng := tensor.NewRNG(3)
	x := make([]float32, 50258)
	for i := range x {
		x[i] = float32(4 * rng.NormFloat64())
	}
	got, want := make([]float64, len(x)), make([]float64, len(x))
	tensor.SoftmaxProbs64(got, x, make([]float32, len(x)))
	tensor.LogSoftmax64(want, x)
	var sum float64
	for i := range want {
		w := math.Exp(want[i])
		if math.Abs(got[i]-w) > 1e-5*w {
			t.Fatalf("id %d: %v, float64 %v", i, got[i], w)
		}
		sum += got[i]
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("sum %v", sum)
	}
}

// The samplers consume the logits a few rows at a time; how many does not
// change the samples.
func TestSampleLogitChunks(t *testing.T) {
	m := randomTinyDiT(t)
	for _, obj := range []Objective{nil, MDLM{}} {
		cfg := SampleConfig{Steps: 4, Sampler: SamplerAncestral, TopP: 1, Batch: 3, Length: 8, Seed: 2, Objective: obj}
		whole, err := Sample(m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		prev := logitChunk
		logitChunk = 3 * m.Vocab // three rows at a time
		chunked, err := Sample(m, cfg)
		logitChunk = prev
		if err != nil {
			t.Fatal(err)
		}
		for b := range whole {
			if !slices.Equal(whole[b], chunked[b]) {
				t.Errorf("objective %v, sample %d: %v whole, %v in chunks of 3 rows", obj, b, whole[b], chunked[b])
			}
		}
	}
}
