package nn

import (
	"math"
	"os"
	"testing"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/tensor"
)

// unigramEntropy returns the entropy (nats) of the byte distribution of data.
func unigramEntropy(data []byte) float64 {
	var counts [256]float64
	for _, b := range data {
		counts[b]++
	}
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := c / float64(len(data))
			h -= p * math.Log(p)
		}
	}
	return h
}

// A causal DiT trained on Shakespeare bytes with next-token cross-entropy
// must learn more than byte frequencies: its held-out loss must end well
// below the corpus's unigram entropy.
func TestTrainCausalShakespeare(t *testing.T) {
	text, err := os.ReadFile("../../shared/data/tinyshakespeare.txt")
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	split := len(text) * 9 / 10
	train, val := text[:split], text[split:]
	entropy := unigramEntropy(train)

	const B, L, steps = 16, 64, 300
	cfg := Config{Vocab: 256, Length: L, Hidden: 64, Blocks: 2, Heads: 4, MLPRatio: 4, Causal: true}
	rng := tensor.NewRNG(1)
	m, err := NewDiT(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	params := m.Params()
	opt := NewAdamW(params, 0)
	sched := WarmupConstant{LR: 3e-3, Warmup: 20}

	batch := func(data []byte, r *tensor.RNG) (ids, targets []int32) {
		for b := 0; b < B; b++ {
			off := r.IntN(len(data) - L - 1)
			for i := 0; i < L; i++ {
				ids = append(ids, int32(data[off+i]))
				targets = append(targets, int32(data[off+i+1]))
			}
		}
		return ids, targets
	}
	evalLoss := func() float64 {
		r := tensor.NewRNG(7)
		var sum float64
		for i := 0; i < 8; i++ {
			ids, tg := batch(val, r)
			logits, err := m.Forward(nil, Input{Batch: B, IDs: ids})
			if err != nil {
				t.Fatal(err)
			}
			l, _ := tensor.CrossEntropy(logits.Value, tg)
			sum += l
		}
		return sum / 8
	}
	before := evalLoss()
	for step := 0; step < steps; step++ {
		ids, tg := batch(train, rng)
		tp := autograd.NewTape()
		logits, err := m.Forward(tp, Input{Batch: B, IDs: ids, RNG: rng})
		if err != nil {
			t.Fatal(err)
		}
		loss := tp.CrossEntropy(logits, tg)
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
		ClipGradNorm(params, 1)
		opt.Step(sched.At(step))
		ZeroGrad(params)
	}
	after := evalLoss()
	t.Logf("unigram entropy %.3f nats; validation loss %.3f -> %.3f after %d steps", entropy, before, after, steps)
	if math.Abs(before-math.Log(256)) > 1e-3 {
		t.Errorf("untrained loss %.4f, want ln 256 = %.4f (zero-initialised output)", before, math.Log(256))
	}
	if after > entropy-0.4 {
		t.Errorf("validation loss %.3f not clearly below the unigram entropy %.3f", after, entropy)
	}
}
