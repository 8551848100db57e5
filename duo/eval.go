package duo

import (
	"fmt"
	"math"

	"github.com/duo-go/duo/internal/sysmem"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// EvalResult is a validation measurement.
type EvalResult struct {
	NLL     float64 `json:"nll"`    // nats per token: the NELBO bound for diffusion, exact for AR
	StdErr  float64 `json:"stderr"` // standard error of NLL over the Monte Carlo batches
	PPL     float64 `json:"ppl"`
	BPD     float64 `json:"bpd"` // bits per token (per byte with the byte tokenizer)
	Tokens  int     `json:"tokens"`
	Batches int     `json:"batches"` // Monte Carlo samples of the batch loss
}

// Evaluate measures a model on consecutive blocks of L tokens of stream,
// B sequences per batch, `batches` batches (0: all whole blocks), each
// scored mc times with fresh antithetic times and noise (diffusion) or once
// (AR, exact). Dropout is off.
func Evaluate(m *nn.DiT, objective string, stream []int32, B, batches, mc int, seed uint64) (EvalResult, error) {
	if B < 1 {
		return EvalResult{}, fmt.Errorf("evaluation batch %d: need at least 1", B)
	}
	what := fmt.Sprintf("evaluating batches of %d sequences of %d tokens (vocab_size %d, hidden_dim %d)", B, m.Length, m.Vocab, m.Hidden)
	if err := sysmem.Check(what, m.Config.MemoryBytes(B, m.Length, false)); err != nil {
		return EvalResult{}, err
	}
	L := m.Length
	if objective == ObjectiveAR {
		L++ // blocks carry the next-token target of their last position
		mc = 1
	}
	avail := len(stream) / (L * B)
	if avail == 0 {
		return EvalResult{}, fmt.Errorf("evaluation data has %d tokens: fewer than one batch of %dx%d", len(stream), B, L)
	}
	if batches <= 0 || batches > avail {
		batches = avail
	}
	if mc < 1 {
		mc = 1
	}
	rng := tensor.NewRNG(seed)
	var samples []float64
	tokens := 0
	for i := 0; i < batches; i++ {
		blocks := stream[i*B*L : (i+1)*B*L]
		for r := 0; r < mc; r++ {
			var loss float64
			if objective == ObjectiveAR {
				ids, targets := arBatch(blocks, B, L-1)
				logits, err := m.Forward(nil, nn.Input{Batch: B, IDs: ids})
				if err != nil {
					return EvalResult{}, err
				}
				loss, _ = tensor.CrossEntropy(logits.Value, targets)
			} else {
				nb := NoiseDiscrete(blocks, B, m.Vocab, rng)
				logits, err := m.Forward(nil, nn.Input{Batch: B, IDs: nb.Zt, Sigma: nb.Sigma})
				if err != nil {
					return EvalResult{}, err
				}
				for _, l := range TokenLosses(logits.Value, nb, nil) {
					loss += l
				}
				loss /= float64(len(blocks))
			}
			samples = append(samples, loss)
		}
		tokens += B * (m.Length)
	}
	mean, se := meanStdErr(samples)
	return EvalResult{NLL: mean, StdErr: se, PPL: math.Exp(mean), BPD: mean / math.Ln2, Tokens: tokens, Batches: len(samples)}, nil
}

// meanStdErr returns the mean and its standard error.
func meanStdErr(x []float64) (mean, se float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(x)-1) / float64(len(x)))
}

// Entropy returns the entropy (nats) of the empirical unigram distribution
// of ids: low values flag repetitive samples.
func Entropy(ids []int32) float64 {
	counts := map[int32]float64{}
	for _, id := range ids {
		counts[id]++
	}
	var h float64
	n := float64(len(ids))
	for _, c := range counts {
		h -= c / n * math.Log(c/n)
	}
	return h
}
