package vk_test

import (
	"math"
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

// adamwCPU is the update loop of nn.AdamW.Step, which the kernel mirrors
// (copied rather than imported so these tests depend on package tensor
// only).
func adamwCPU(w, g, m, v []float32, p vk.AdamWParams) {
	bc1 := 1 - math.Pow(p.Beta1, float64(p.Step))
	bc2 := 1 - math.Pow(p.Beta2, float64(p.Step))
	decay := float32(1 - p.LR*p.WeightDecay)
	b1, b2 := float32(p.Beta1), float32(p.Beta2)
	stepSize := float32(p.LR / bc1)
	rbc2 := float32(1 / math.Sqrt(bc2))
	eps := float32(p.Eps)
	for j := range w {
		w[j] *= decay
		m[j] = b1*m[j] + (1-b1)*g[j]
		v[j] = b2*v[j] + (1-b2)*g[j]*g[j]
		w[j] -= stepSize * m[j] / (float32(math.Sqrt(float64(v[j])))*rbc2 + eps)
	}
}

func TestAdamW(t *testing.T) {
	d := device(t)
	r := rng(19)
	n := 1000
	w, m, v := randn(r, n, 1), make([]float32, n), make([]float32, n)
	gw, gm, gv := d.NewBufferFrom(w), d.NewBufferFrom(m), d.NewBufferFrom(v)
	for step := 1; step <= 3; step++ {
		g := randn(r, n, 0.1)
		p := vk.AdamWParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: step}
		adamwCPU(w, g, m, v, p)
		d.AdamW(gw, d.NewBufferFrom(g), gm, gv, p)
	}
	near(t, "adamw w", gw.Download(), w, 1e-7, 1e-6)
	near(t, "adamw m", gm.Download(), m, 1e-7, 1e-6)
	near(t, "adamw v", gv.Download(), v, 1e-9, 1e-5)
}

func TestEMAAndClip(t *testing.T) {
	d := device(t)
	r := rng(20)
	s, w := randn(r, 300, 1), randn(r, 300, 1)
	gs, gw := d.NewBufferFrom(s), d.NewBufferFrom(w)
	for n := 1; n <= 2; n++ { // nn.EMA.Update
		dn := math.Min(0.999, (1+float64(n))/(10+float64(n)))
		k := float32(1 - dn)
		for j := range s {
			s[j] -= k * (s[j] - w[j])
		}
		d.EMAUpdate(gs, gw, 0.999, n)
	}
	near(t, "ema", gs.Download(), s, 1e-6, 1e-6)

	// nn.ClipGradNorm over two gradients.
	g1, g2 := randn(r, 100, 1), randn(r, 57, 1)
	var ss float64
	for _, g := range [][]float32{g1, g2} {
		for _, v := range g {
			ss += float64(v) * float64(v)
		}
	}
	for _, maxNorm := range []float64{1, 1e3} {
		b1, b2 := d.NewBufferFrom(g1), d.NewBufferFrom(g2)
		acc := d.NewBuffer(1)
		d.SumSquares(acc, b1, false)
		d.SumSquares(acc, b2, true)
		d.ClipByNorm(b1, acc, float32(maxNorm))
		d.ClipByNorm(b2, acc, float32(maxNorm))
		norm := math.Sqrt(ss)
		want1, want2 := tensor.From(append([]float32(nil), g1...), 100), tensor.From(append([]float32(nil), g2...), 57)
		if norm > maxNorm {
			sc := float32(maxNorm / (norm + 1e-6))
			want1, want2 = tensor.Scale(want1, sc), tensor.Scale(want2, sc)
		}
		near(t, "clip 1", b1.Download(), want1.Data(), 1e-6, 1e-5)
		near(t, "clip 2", b2.Download(), want2.Data(), 1e-6, 1e-5)
	}
}

func TestSinusoidal(t *testing.T) {
	d := device(t)
	sigma := []float32{0, 0.3, 7}
	out := d.NewBuffer(3 * 2 * 16)
	d.Sinusoidal(out, sigma, 16, 10000)
	near(t, "sinusoidal", out.Download(), tensor.Sinusoidal(sigma, 16, 10000).Data(), 0, 0)
}
