package nn

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/tensor"
)

// AdamW, clipping, the warm-up schedule and the EMA must reproduce
// PyTorch's trajectory (testdata/optim_golden.json, made by
// tools/golden/optim_golden.py).
func TestOptimizerMatchesPyTorch(t *testing.T) {
	raw, err := os.ReadFile("../testdata/optim_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Shapes             [][]int
		LR                 float64
		Warmup             int
		WeightDecay        float64 `json:"weight_decay"`
		MaxNorm            float64 `json:"max_norm"`
		EMADecay           float64 `json:"ema_decay"`
		Params, Final, EMA [][]float32
		Grads              [][][]float32
		Norms, LRs         []float64
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	var params []Param
	for i, s := range g.Shapes {
		params = append(params, Param{Name: "p", Var: autograd.Param(tensor.From(append([]float32(nil), g.Params[i]...), s...))})
	}
	opt := NewAdamW(params, g.WeightDecay)
	ema := NewEMA(params, g.EMADecay)
	sched := WarmupConstant{LR: g.LR, Warmup: g.Warmup}
	for step, gs := range g.Grads {
		for i, p := range params {
			p.Grad = tensor.From(append([]float32(nil), gs[i]...), g.Shapes[i]...)
		}
		if n := ClipGradNorm(params, g.MaxNorm); math.Abs(n-g.Norms[step]) > 1e-4*g.Norms[step] {
			t.Errorf("step %d: grad norm %v, want %v", step, n, g.Norms[step])
		}
		lr := sched.At(step)
		if math.Abs(lr-g.LRs[step]) > 1e-12 {
			t.Errorf("step %d: lr %v, want %v", step, lr, g.LRs[step])
		}
		opt.Step(lr)
		ema.Update(params)
	}
	for i, p := range params {
		for j, v := range p.Value.Data() {
			if d := math.Abs(float64(v - g.Final[i][j])); d > 1e-6 {
				t.Errorf("param %d[%d] = %v, want %v", i, j, v, g.Final[i][j])
			}
			if d := math.Abs(float64(ema.Shadow[i].Data()[j] - g.EMA[i][j])); d > 1e-6 {
				t.Errorf("ema %d[%d] = %v, want %v", i, j, ema.Shadow[i].Data()[j], g.EMA[i][j])
			}
		}
	}
}
