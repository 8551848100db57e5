package duo

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/duo-go/duo/nn"
)

// psiGolden is testdata/psi_golden.json, written by
// tools/golden/psi_golden.py from the authors' Psi-sampler code.
type psiGolden struct {
	Grids []struct {
		Name, Schedule, Profile string
		HighFrac                float64 `json:"high_frac"`
		MiddleFrac              float64 `json:"middle_frac"`
		High, Middle, Low       string
		Steps                   int
		Grid, Kappas            []float64
	}
	Steps []struct {
		Kind   string
		X      []float64
		Zt     int
		AlphaT float64 `json:"alpha_t"`
		AlphaS float64 `json:"alpha_s"`
		Kappa  float64
		Q      []float64
	}
}

func readPsiGolden(t *testing.T) psiGolden {
	t.Helper()
	raw, err := os.ReadFile("../testdata/psi_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g psiGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// The time grids and kappas of the reference's Psi-sampler scripts (and an
// odd case: pure-pc, fractions that round, a plateau given as a time), and
// every mode's step distribution on a small K, for USDM and MDLM (masked
// and unmasked z_t), against the float64 reference.
func TestPsiGolden(t *testing.T) {
	g := readPsiGolden(t)
	for _, c := range g.Grids {
		var sched Schedule = LogLinear{}
		if c.Schedule == "cosine" {
			sched = Cosine{}
		}
		p := &Psi{Profile: c.Profile, HighFrac: c.HighFrac, MiddleFrac: c.MiddleFrac}
		for _, m := range []struct {
			dst *KappaMode
			s   string
		}{{&p.High, c.High}, {&p.Middle, c.Middle}, {&p.Low, c.Low}} {
			k, err := ParseKappaMode(m.s)
			if err != nil {
				t.Fatal(err)
			}
			*m.dst = k
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		grid, err := p.Grid(c.Steps, sched)
		if err != nil {
			t.Fatal(err)
		}
		kappas := p.Kappas(grid, sched)
		if len(grid) != len(c.Grid) || len(kappas) != len(c.Kappas) {
			t.Fatalf("%s: %d times and %d kappas, want %d and %d", c.Name, len(grid), len(kappas), len(c.Grid), len(c.Kappas))
		}
		for i := range grid {
			if math.Abs(grid[i]-c.Grid[i]) > 1e-12 || math.Abs(kappas[i]-c.Kappas[i]) > 1e-12 {
				t.Errorf("%s point %d: t %v kappa %v, want %v %v", c.Name, i, grid[i], kappas[i], c.Grid[i], c.Kappas[i])
			}
		}
	}
	for i, c := range g.Steps {
		q := make([]float64, len(c.Q))
		if c.Kind == "usdm" {
			PsiPosterior(q, c.X, c.Zt, c.AlphaT, c.AlphaS, c.Kappa)
		} else {
			MDLMPsiPosterior(q, c.X, c.Zt, c.AlphaT, c.AlphaS, c.Kappa)
		}
		var sum float64
		for v := range q {
			sum += q[v]
			if math.Abs(q[v]-c.Q[v]) > 1e-12 {
				t.Errorf("step %d (%s, z_t %d, alpha %v -> %v, kappa %v): q[%d] = %v, want %v", i, c.Kind, c.Zt, c.AlphaT, c.AlphaS, c.Kappa, v, q[v], c.Q[v])
			}
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("step %d: q sums to %v", i, sum)
		}
	}
}

// kappa = 1 everywhere is ancestral sampling, token for token, for both
// objectives and both final rules.
func TestPsiKappaOneIsAncestral(t *testing.T) {
	m := randomTinyDiT(t)
	pure := &Psi{Profile: "linear", High: KappaMode{Name: KappaPosterior}, Middle: KappaMode{Name: KappaPosterior}, Low: KappaMode{Name: KappaPosterior}, HighFrac: 0.3, MiddleFrac: 0.3}
	for _, obj := range []Objective{nil, MDLM{}} {
		for _, final := range []string{SamplerAncestral, SamplerGreedy} {
			cfg := SampleConfig{Steps: 7, Sampler: final, TopP: 1, Batch: 3, Length: 8, Seed: 9, Objective: obj}
			want, err := Sample(m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Psi = pure
			got, err := Sample(m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for b := range want {
				if !slices.Equal(got[b], want[b]) {
					t.Errorf("%T %s: sequence %d: Psi with kappa 1 %v, ancestral %v", obj, final, b, got[b], want[b])
				}
			}
		}
	}
}

// One Psi step of the sampler draws each position from the mixture
// computed from the network's own x_theta in float64 (chi-square over many
// copies of one latent sequence), at kappas 0.3 and 0 and on a plateau
// (alpha_s = alpha_t).
func TestPsiStepDistribution(t *testing.T) {
	m := randomTinyDiT(t)
	const copies, L = 6000, 4
	K := m.Vocab
	seq := []int32{3, 0, 10, 7}
	z0 := make([]int32, copies*L)
	for b := range copies {
		copy(z0[b*L:], seq)
	}
	logits, err := m.Forward(nil, nn.Input{Batch: 1, IDs: seq, Sigma: []float32{float32(Sigma(0.4))}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ at, as, kappa float64 }{{0.4, 0.55, 0.3}, {0.4, 0.55, 0}, {0.4, 0.4, 0.5}} {
		z := slices.Clone(z0)
		step := denoise{B: copies, L: L, AlphaT: c.at, AlphaS: c.as, Corrector: 1 - c.kappa, TopP: 1}
		if err := step.run(m, z, SampleConfig{Batch: copies, Seed: 3}.rows()); err != nil {
			t.Fatal(err)
		}
		for i := range L {
			row := logits.Value.Data()[i*K : (i+1)*K]
			x := make([]float64, K)
			var s float64
			for v, l := range row {
				x[v] = math.Exp(float64(l))
				s += x[v]
			}
			for v := range x {
				x[v] /= s
			}
			q := make([]float64, K)
			PsiPosterior(q, x, int(seq[i]), c.at, c.as, c.kappa)
			counts := make([]int, K)
			for b := range copies {
				counts[z[b*L+i]]++
			}
			if stat, df := pooledChi2(counts, q, copies); stat > chi2Crit(df) {
				t.Errorf("alpha %v -> %v, kappa %v, position %d: chi-square %.1f on %d dof (counts %v, q %.4f)", c.at, c.as, c.kappa, i, stat, df, counts, q)
			}
		}
	}
}

// pooledChi2 is Pearson's statistic over the cells expected at least 5
// times, the others pooled into one, and its degrees of freedom.
func pooledChi2(counts []int, p []float64, n int) (float64, int) {
	var stat, restE float64
	rest, cells := 0, 0
	for v, c := range counts {
		e := p[v] * float64(n)
		if e < 5 {
			restE += e
			rest += c
			continue
		}
		stat += (float64(c) - e) * (float64(c) - e) / e
		cells++
	}
	if restE > 0 {
		stat += (float64(rest) - restE) * (float64(rest) - restE) / math.Max(restE, 1)
		cells++
	}
	return stat, cells - 1
}

// chi2Crit is a chi-square quantile at p = 1e-6 (Wilson-Hilferty): with
// fixed seeds the test is deterministic, and a sound sampler fails it once
// in a million seeds.
func chi2Crit(df int) float64 {
	k := float64(df)
	return k * math.Pow(1-2/(9*k)+4.753*math.Sqrt(2/(9*k)), 3)
}
