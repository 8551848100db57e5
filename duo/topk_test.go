package duo

import (
	"math"
	"slices"
	"testing"

	"github.com/duo-go/duo/tensor"
)

// The degree-9 fit of T over the curriculum's gamma range, at GPT-2's
// vocabulary and at bytes, and over the paper's OpenWebText range: its
// largest error in alpha and in dalpha/dgamma, reported and bounded.
func TestPolyTransformFit(t *testing.T) {
	cases := []struct {
		K             int
		g             GammaSchedule
		alpha, dalpha float64 // bounds on the largest errors
	}{
		{50258, CurriculumGammaRange(50258), 2e-5, 2e-3},
		{50257, GammaSchedule{Min: -3.55, Max: -1.85}, 2e-5, 2e-3},
		{256, CurriculumGammaRange(256), 1e-4, 5e-3},
		{50258, GammaSchedule{Min: -4, Max: -1}, 1e-3, 5e-2}, // distillation's range: too wide for degree 9
	}
	for _, c := range cases {
		tr := TransformFor(c.K)
		p := FitTransform(tr, c.g, PolyDegree)
		ea, ed := p.MaxError(tr, 4001)
		t.Logf("K=%d gamma [%g, %g]: degree-%d fit, max |alpha error| %.2e, max |dalpha/dgamma error| %.2e",
			c.K, c.g.Min, c.g.Max, PolyDegree, ea, ed)
		if ea > c.alpha || ed > c.dalpha {
			t.Errorf("K=%d gamma [%g, %g]: errors %.2e, %.2e beyond %.0e, %.0e", c.K, c.g.Min, c.g.Max, ea, ed, c.alpha, c.dalpha)
		}
		// The derivative is the polynomial's: a central difference of Alpha.
		for _, g := range []float64{c.g.Min, (c.g.Min + c.g.Max) / 2, c.g.Max} {
			h := 1e-5
			fd := (p.Alpha(g+h) - p.Alpha(g-h)) / (2 * h)
			if d := p.DAlphaDGamma(g); math.Abs(d-fd) > 1e-6*math.Max(1, math.Abs(d)) {
				t.Errorf("K=%d gamma %g: derivative %v, central difference %v", c.K, g, d, fd)
			}
		}
	}
}

// z_t = x under the top-k draw exactly as often as the USDM marginal says,
// P(z_t = x) = T + (1 - T)/K, at several vocabularies, log-SNRs and k; the
// reference's rule (x whenever it enters the top k) misses that at k > 1.
func TestTopKArgmaxIsUSDM(t *testing.T) {
	rng := tensor.NewRNG(11)
	const n = 200000
	d := &TopKDraw{}
	for _, c := range []struct{ K, k int }{{2, 1}, {50, 4}, {50258, 16}} {
		tr := TransformFor(c.K)
		for _, g := range []float64{-4, -2.6, -1.5} {
			at, st := GaussianCoefs(g)
			hits, inTop := 0, 0
			for range n {
				DrawTopK(d, 0, c.K, c.k, at, st, rng)
				if d.Argmax(0) == 0 {
					hits++
				}
				if d.True > d.Others[c.k-1] {
					inTop++
				}
			}
			a := tr.Alpha(g)
			p := a + (1-a)/float64(c.K)
			se := math.Sqrt(p * (1 - p) / n)
			got, ref := float64(hits)/n, float64(inTop)/n
			if math.Abs(got-p) > 5*se+1e-9 {
				t.Errorf("K=%d k=%d gamma %v: P(z = x) = %.5f, want %.5f (5 se = %.5f)", c.K, c.k, g, got, p, 5*se)
			}
			t.Logf("K=%d k=%d gamma %v: P(z = x) = %.5f, USDM marginal %.5f; the reference's rule gives %.5f", c.K, c.k, g, got, p, ref)
			if c.k > 1 && math.Abs(ref-p) < 10*se && g != -4 {
				t.Errorf("K=%d k=%d gamma %v: the reference's rule (%.5f) should be off the marginal %.5f", c.K, c.k, g, ref, p)
			}
		}
	}
}

// The k largest of K-1 zero-mean coordinates, drawn from their order
// statistics, against sorting a brute-force draw of K-1 normals
// (two-sample Kolmogorov-Smirnov, each rank separately), and their ids are
// distinct, never x, and uniform.
func TestTopKOrderStatistics(t *testing.T) {
	const K, k, n = 300, 4, 20000
	const st = 0.7
	rng := tensor.NewRNG(13)
	d := &TopKDraw{}
	got := make([][]float64, k)
	want := make([][]float64, k)
	idCount := make([]int, K)
	other := make([]float64, K-1)
	for range n {
		DrawTopK(d, 7, K, k, 0.9, st, rng)
		if !slices.IsSortedFunc(d.Others, func(a, b float64) int { return -cmpF(a, b) }) {
			t.Fatalf("not descending: %v", d.Others)
		}
		for j := range k {
			got[j] = append(got[j], d.Others[j])
			for _, id := range d.IDs[:j] {
				if id == d.IDs[j] {
					t.Fatalf("repeated id %d in %v", id, d.IDs)
				}
			}
			if d.IDs[j] == 7 {
				t.Fatal("the clean token's id among the others")
			}
			idCount[d.IDs[j]]++
		}
		for i := range other {
			other[i] = st * rng.NormFloat64()
		}
		slices.Sort(other)
		for j := range k {
			want[j] = append(want[j], other[len(other)-1-j])
		}
	}
	for j := range k {
		if dist, crit := ksDistance(got[j], want[j]), ksCritical(n); dist > crit {
			t.Errorf("rank %d: KS distance %.4f > %.4f", j+1, dist, crit)
		}
	}
	// Each of the K-1 other ids is drawn k n / (K-1) times on average.
	e := float64(k*n) / (K - 1)
	var chi2 float64
	for id, c := range idCount {
		if id != 7 {
			chi2 += (float64(c) - e) * (float64(c) - e) / e
		}
	}
	if df := float64(K - 2); chi2 > df+5*math.Sqrt(2*df) {
		t.Errorf("ids not uniform: chi-square %.1f with %v degrees of freedom", chi2, df)
	}
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The expected input embedding under the top-k draw equals the full
// softmax's, E[softmax(w/tau) @ E], at several K, tau and log-SNRs (Monte
// Carlo over both, within 5 standard errors per coordinate). The
// embedding's rows have a common offset, so weight lost to the tail shows.
func TestTopKExpectedEmbedding(t *testing.T) {
	const D = 3
	for _, c := range []struct {
		K, k int
		tau  float64
		n    int
	}{{16, 4, 0.05, 40000}, {64, 8, 1e-2, 40000}, {1024, 16, 1e-3, 20000}, {50258, 16, 1e-2, 600}} {
		rng := tensor.NewRNG(uint64(c.K))
		E := make([]float64, c.K*D)
		for i := range E {
			E[i] = 1 + rng.NormFloat64()
		}
		for _, g := range []float64{-3, -1.5} {
			at, st := GaussianCoefs(g)
			var full, topk [2][D]float64 // sums and sums of squares
			w := make([]float64, c.K)
			d := &TopKDraw{}
			wk := make([]float64, c.k+1)
			const x = 3
			for range c.n {
				// The full softmax of one K-sized draw.
				m := math.Inf(-1)
				for v := range w {
					w[v] = st * rng.NormFloat64()
					if v == x {
						w[v] += at
					}
					w[v] /= c.tau
					m = math.Max(m, w[v])
				}
				var z float64
				var emb [D]float64
				for v := range w {
					e := math.Exp(w[v] - m)
					z += e
					for j := range D {
						emb[j] += e * E[v*D+j]
					}
				}
				for j := range D {
					full[0][j] += emb[j] / z
					full[1][j] += emb[j] * emb[j] / (z * z)
				}
				// The top-k draw.
				DrawTopK(d, x, c.K, c.k, at, st, rng)
				d.Weights(wk, c.K, st, c.tau)
				emb = [D]float64{}
				for i, p := range wk {
					id := int32(x)
					if i < c.k {
						id = d.IDs[i]
					}
					for j := range D {
						emb[j] += p * E[int(id)*D+j]
					}
				}
				for j := range D {
					topk[0][j] += emb[j]
					topk[1][j] += emb[j] * emb[j]
				}
			}
			n := float64(c.n)
			for j := range D {
				mf, mt := full[0][j]/n, topk[0][j]/n
				se := math.Sqrt((full[1][j]/n-mf*mf)/n + (topk[1][j]/n-mt*mt)/n)
				if math.Abs(mf-mt) > 5*se+1e-6 {
					t.Errorf("K=%d k=%d tau=%g gamma=%g coordinate %d: top-k %.5f, full softmax %.5f (5 se = %.5f)", c.K, c.k, c.tau, g, j, mt, mf, 5*se)
				}
			}
		}
	}
}

// Weights: a distribution over the kept entries plus the tail, the tail's
// expected mass matching a brute-force sum of the left-out coordinates'
// exp(w/tau) in the normaliser.
func TestTopKTailMass(t *testing.T) {
	const K, k, n = 200, 5, 4000
	const tau, st = 0.3, 0.8
	rng := tensor.NewRNG(17)
	d := &TopKDraw{}
	w := make([]float64, k+1)
	var got, want float64
	for range n {
		DrawTopK(d, 0, K, k, 0.5, st, rng)
		tail := d.Weights(w, K, st, tau)
		var sum float64
		for _, v := range w {
			sum += v
		}
		if math.Abs(sum+tail-1) > 1e-12 {
			t.Fatalf("weights %v and tail %v sum to %v", w, tail, sum+tail)
		}
		// E[exp(X/tau) | X < c] for the K-1-k left out, by brute force.
		c := d.Others[k-1]
		var s float64
		for i := 0; i < K-1-k; {
			v := st * rng.NormFloat64()
			if v < c {
				s += math.Exp(v / tau)
				i++
			}
		}
		got += tail
		var kept float64
		for _, v := range d.Others {
			kept += math.Exp(v / tau)
		}
		kept += math.Exp(d.True / tau)
		want += s / (s + kept)
	}
	if math.Abs(got-want)/n > 0.01 {
		t.Errorf("mean tail mass %.4f, brute force %.4f", got/n, want/n)
	}
}
