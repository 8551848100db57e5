package duo

import (
	"math"
	"testing"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/tensor"
)

func randomNoised(rng *tensor.RNG, B, L, K int) (*Noised, *tensor.Tensor) {
	x := make([]int32, B*L)
	for i := range x {
		x[i] = int32(rng.IntN(K))
	}
	nb := NoiseDiscrete(x, B, K, LogLinear{}, rng)
	logits := tensor.New(B, L, K)
	rng.Normal(logits, 0, 2)
	return nb, logits
}

// The batched loss must equal the scalar Eq. 17 per position, and its
// gradient must match finite differences of the mean loss.
func TestNELBO(t *testing.T) {
	rng := tensor.NewRNG(5)
	const B, L, K = 3, 4, 6
	nb, logits := randomNoised(rng, B, L, K)
	lv := autograd.Param(logits)
	tp := autograd.NewTape()
	loss := NELBO(tp, lv, nb)
	var want float64
	logX := make([]float64, K)
	for r := 0; r < B*L; r++ {
		tensor.LogSoftmax64(logX, logits.Data()[r*K:(r+1)*K])
		want += LossPerToken(logX, int(nb.Zt[r]), int(nb.X[r]), nb.Alpha[r/L], nb.AlphaPrime[r/L])
	}
	want /= B * L
	if got := float64(loss.Value.Item()); math.Abs(got-want) > 1e-5*math.Abs(want) {
		t.Fatalf("NELBO %v, want %v", got, want)
	}
	if err := tp.Backward(loss); err != nil {
		t.Fatal(err)
	}
	mean := func() float64 {
		var s float64
		for _, l := range TokenLosses(logits, nb, nil) {
			s += l
		}
		return s / (B * L)
	}
	// With a backend the losses are float32 means: their differences over
	// 2h carry about 1e-6 |loss| / 2h of rounding.
	slack := 0.0
	if tensor.OnDevice() {
		slack = 5e-5
	}
	for i := range logits.Data() {
		orig := logits.Data()[i]
		const h = 1e-2
		logits.Data()[i] = orig + h
		up := mean()
		logits.Data()[i] = orig - h
		down := mean()
		logits.Data()[i] = orig
		num := (up - down) / (2 * h)
		if got := float64(lv.Grad.Data()[i]); math.Abs(got-num) > 1e-3*math.Max(1e-2, math.Abs(num))+slack {
			t.Fatalf("d loss/d logits[%d] = %v, numeric %v", i, got, num)
		}
	}
}

// Curriculum latents: z_t is the argmax of the latent and the soft input is
// the latent over tau, so softmax(soft) concentrates on z_t as tau -> 0.
func TestNoiseCurriculum(t *testing.T) {
	rng := tensor.NewRNG(6)
	const B, L, K = 4, 8, 11
	x := make([]int32, B*L)
	for i := range x {
		x[i] = int32(rng.IntN(K))
	}
	c := Curriculum{Gamma: GammaSchedule{Min: -3.5, Max: -1.75}, Log10Tau: -3}
	nb := c.NoiseCurriculum(x, B, K, tensor.NewRNG(60))
	for b := 0; b < B; b++ {
		if nb.Alpha[b] <= 0 || nb.Alpha[b] >= 1 || nb.AlphaPrime[b] >= 0 {
			t.Fatalf("sequence %d: alpha %v alpha' %v", b, nb.Alpha[b], nb.AlphaPrime[b])
		}
		if math.Abs(float64(nb.Sigma[b])+math.Log(nb.Alpha[b])) > 1e-6 {
			t.Fatalf("sigma %v for alpha %v", nb.Sigma[b], nb.Alpha[b])
		}
	}
	p := tensor.Softmax(nb.Soft)
	for i, z := range nb.Zt {
		row := nb.Soft.Data()[i*K : (i+1)*K]
		for _, v := range row {
			if v > row[z] {
				t.Fatalf("position %d: z_t = %d is not the argmax", i, z)
			}
		}
		if p.Data()[i*K+int(z)] < 0.5 {
			t.Fatalf("position %d: softmax(w/tau) puts %v on z_t", i, p.Data()[i*K+int(z)])
		}
	}
	// Same seed, same draws: the noise is reproducible.
	nb2 := c.NoiseCurriculum(x, B, K, tensor.NewRNG(60))
	for i := range nb.Zt {
		if nb.Zt[i] != nb2.Zt[i] {
			t.Fatal("curriculum noise differs between runs with the same seed")
		}
	}
}
