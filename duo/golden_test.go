package duo

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// testdata/duo_golden.json comes from tools/golden/duo_golden.py, an
// independent float64 PyTorch implementation (autograd gradients,
// trapezoidal quadrature for T with dT/dgamma by autograd through it); the
// loss value is Eq. 17 as written evaluated at 60 digits (mpmath), because
// the literal float64 form loses up to ~1e-7 relative to cancellation.
type golden struct {
	Posterior []struct {
		X      []float64 `json:"x"`
		Zt     int       `json:"zt"`
		AlphaT float64   `json:"alpha_t"`
		AlphaS float64   `json:"alpha_s"`
		Q      []float64 `json:"q"`
	} `json:"posterior"`
	Loss []struct {
		Logits     []float64 `json:"logits"`
		LogX       []float64 `json:"logx"`
		Zt         int       `json:"zt"`
		M          int       `json:"m"`
		Alpha      float64   `json:"alpha"`
		AlphaPrime float64   `json:"alpha_prime"`
		LossMP     float64   `json:"loss_mp"`
		GradLogits []float64 `json:"grad_logits"`
		GradLogX   []float64 `json:"grad_logx"`
	} `json:"loss"`
	Transform []struct {
		K      int     `json:"K"`
		Gamma  float64 `json:"gamma"`
		Alpha  float64 `json:"alpha"`
		DAlpha float64 `json:"dalpha_dgamma"`
	} `json:"transform"`
}

func loadGolden(t *testing.T) *golden {
	b, err := os.ReadFile("../testdata/duo_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Posterior) == 0 || len(g.Loss) == 0 || len(g.Transform) == 0 {
		t.Fatal("empty golden file")
	}
	return &g
}

// near reports |got - want| <= rel * max(|want|, floor).
func near(got, want, rel, floor float64) bool {
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), floor)
}

func TestGoldenPosterior(t *testing.T) {
	for n, c := range loadGolden(t).Posterior {
		q := make([]float64, len(c.X))
		Posterior(q, c.X, c.Zt, c.AlphaT, c.AlphaS)
		for v := range q {
			if !near(q[v], c.Q[v], 1e-9, 1e-12) {
				t.Errorf("case %d: q[%d] = %.15g, golden %.15g", n, v, q[v], c.Q[v])
			}
		}
	}
}

func TestGoldenLoss(t *testing.T) {
	for n, c := range loadGolden(t).Loss {
		K := len(c.Logits)
		logX := c.LogX // torch's log_softmax(logits)
		g := make([]float64, K)
		l := LossPerTokenGrad(g, logX, c.Zt, c.M, c.Alpha, c.AlphaPrime)
		if !near(l, c.LossMP, 1e-9, 0) {
			t.Errorf("case %d (K=%d): loss %.15g, golden %.15g", n, K, l, c.LossMP)
		}
		// Chain through log_softmax: dL/dlogit_v = g_v - x_v sum(g).
		var sum, scale float64
		for v := range g {
			sum += g[v]
			scale = math.Max(scale, math.Abs(c.GradLogX[v]))
		}
		for v := range g {
			gl := g[v] - math.Exp(logX[v])*sum
			if !near(g[v], c.GradLogX[v], 1e-9, scale) || !near(gl, c.GradLogits[v], 1e-9, scale) {
				t.Errorf("case %d (K=%d) v=%d: grad logX %.15g logits %.15g, golden %.15g %.15g",
					n, K, v, g[v], gl, c.GradLogX[v], c.GradLogits[v])
			}
		}
	}
}

func TestGoldenTransform(t *testing.T) {
	for _, c := range loadGolden(t).Transform {
		tr := TransformFor(c.K)
		if a := tr.Alpha(c.Gamma); !near(a, c.Alpha, 1e-7, 0) {
			t.Errorf("K=%d gamma=%v: T = %.15g, golden %.15g", c.K, c.Gamma, a, c.Alpha)
		}
		if d := tr.DAlphaDGamma(c.Gamma); !near(d, c.DAlpha, 1e-7, 1e-12) {
			t.Errorf("K=%d gamma=%v: dT = %.15g, golden %.15g", c.K, c.Gamma, d, c.DAlpha)
		}
	}
}
