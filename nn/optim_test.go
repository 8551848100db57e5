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

// WarmupCosine: linear from 0 over the warm-up, LR at its end, half-way
// between LR and Min half-way through the decay, Min at the last step and
// after it.
func TestWarmupCosine(t *testing.T) {
	s := WarmupCosine{LR: 1e-3, Min: 1e-4, Warmup: 4, Steps: 14}
	for _, tc := range []struct {
		done int
		want float64
	}{
		{0, 0}, {1, 2.5e-4}, {3, 7.5e-4}, {4, 1e-3},
		{6, 1e-4 + 9e-4*(1+math.Cos(math.Pi/5))/2},
		{9, 5.5e-4}, {14, 1e-4}, {20, 1e-4},
	} {
		if got := s.At(tc.done); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("At(%d) = %g, want %g", tc.done, got, tc.want)
		}
	}
	if got := (WarmupCosine{LR: 1, Warmup: 5, Steps: 5}).At(5); got != 0 {
		t.Errorf("decay of zero length: At(5) = %g, want Min 0", got)
	}
}
