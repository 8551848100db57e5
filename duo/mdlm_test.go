package duo

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// The MDLM loss, its gradient and posterior against
// testdata/mdlm_golden.json (tools/golden/mdlm_golden.py: float64 PyTorch,
// the reference's formulation with a -inf [MASK] logit and carry-over).
func TestGoldenMDLM(t *testing.T) {
	raw, err := os.ReadFile("../testdata/mdlm_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		B, L, K    int
		Logits     []float32
		X, Zt      []int32
		Alpha      []float64
		AlphaPrime []float64 `json:"alpha_prime"`
		PerToken   []float64 `json:"per_token"`
		Loss       float64
		Grad       []float64
		Posterior  []struct {
			XTheta    []float64 `json:"x_theta"`
			Zt        int
			AlphaT    float64 `json:"alpha_t"`
			AlphaS    float64 `json:"alpha_s"`
			Posterior []float64
		}
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	logits := tensor.From(g.Logits, g.B, g.L, g.K)
	nb := &Masked{X: g.X, Zt: g.Zt, Mask: int32(g.K - 1), Alpha: g.Alpha, AlphaPrime: g.AlphaPrime}
	tp := autograd.NewTape()
	v := autograd.Param(logits)
	loss := MDLMLoss(tp, v, nb)
	if err := tp.Backward(loss); err != nil {
		t.Fatal(err)
	}
	if got := float64(loss.Value.Item()); !near(got, g.Loss, 1e-6, 1) {
		t.Errorf("loss %v, PyTorch %v", got, g.Loss)
	}
	for i, want := range g.Grad {
		if got := float64(v.Grad.Data()[i]); math.Abs(got-want) > 1e-6 {
			t.Errorf("gradient %d: %v, PyTorch %v", i, got, want)
		}
	}
	for _, c := range g.Posterior {
		q := make([]float64, g.K)
		MDLMPosterior(q, c.XTheta, c.Zt, c.AlphaT, c.AlphaS)
		for v, want := range c.Posterior {
			if math.Abs(q[v]-want) > 1e-12 {
				t.Errorf("posterior z_t=%d: q[%d] = %v, PyTorch %v", c.Zt, v, q[v], want)
			}
		}
	}
}

// The masking process masks a fraction 1 - alpha_t of the tokens, never
// touches the others, and the network vocabulary has the [MASK] id.
func TestMDLMMasking(t *testing.T) {
	const B, L, K = 64, 32, 9
	x := make([]int32, B*L)
	for i := range x {
		x[i] = int32(i % (K - 1))
	}
	nb := MDLM{}.maskNoise(x, B, K, tensor.NewRNG(1))
	var want, got float64
	for i, z := range nb.Zt {
		if z != nb.Mask && z != x[i] {
			t.Fatalf("position %d: z_t %d, x %d", i, z, x[i])
		}
		if z == nb.Mask {
			got++
		}
		want += 1 - nb.Alpha[i/L]
	}
	if se := math.Sqrt(want); math.Abs(got-want) > 5*se {
		t.Errorf("%v masked, expected %v", got, want)
	}
	if ModelVocab(MDLM{}, 256) != 257 || ModelVocab(USDM{}, 256) != 256 {
		t.Error("ModelVocab")
	}
}

// An MDLM denoiser that always predicts token 3 samples only 3s, and no
// [MASK] survives, at any step count.
func TestMDLMSamplerOneTokenModel(t *testing.T) {
	cfg := nn.Config{Vocab: 6, Length: 8, Hidden: 8, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 2}
	m, err := nn.NewDiT(cfg, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	m.Output.B.Value.Data()[3] = 40
	m.Output.B.Value.Data()[5] = 80 // the [MASK] logit: never predicted
	for _, sampler := range []string{SamplerAncestral, SamplerGreedy} {
		for _, steps := range []int{1, 3, 16} {
			out, err := Sample(m, SampleConfig{Steps: steps, Sampler: sampler, Batch: 2, Length: 8, Seed: 3, Objective: MDLM{}})
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range out {
				for _, id := range row {
					if id != 3 {
						t.Fatalf("%s, %d steps: sample %v", sampler, steps, row)
					}
				}
			}
		}
	}
	if _, err := Sample(m, SampleConfig{Steps: 2, Sampler: SamplerNone, Batch: 1, Length: 8, Objective: MDLM{}}); err == nil {
		t.Error("sampler none accepted for MDLM")
	}
}
