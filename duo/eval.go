package duo

import (
	"context"
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

// EvalOptions are the settings of Evaluate.
type EvalOptions struct {
	Objective Objective // nil: the model's own (AR when causal, else USDM)
	Batch     int       // sequences per batch (0: 16)
	Batches   int       // batches to score (0: all whole batches of the stream)
	MC        int       // Monte Carlo samples of each batch's bound (0: 1; 1 for an exact objective)
	Seed      uint64    // times and noise
	Group     Group     // ranks that share the batches (nil: this process alone)
}

// Evaluate measures a model on consecutive blocks of stream, opt.Batch
// sequences per batch: each batch is scored opt.MC times with fresh
// antithetic times and noise (a bound), or once (an exact objective).
// Dropout is off. Each (batch, sample) pair draws from its own stream, so
// with a Group the ranks score every Size-th pair and every rank gets the
// result of one process.
func Evaluate(m *nn.DiT, stream []int32, opt EvalOptions) (EvalResult, error) {
	return EvaluateContext(context.Background(), m, stream, opt)
}

// EvaluateContext is Evaluate that stops between batches, returning ctx's
// error, once ctx is done.
func EvaluateContext(ctx context.Context, m *nn.DiT, stream []int32, opt EvalOptions) (EvalResult, error) {
	obj := opt.Objective
	if obj == nil {
		obj = Objective(USDM{})
		if m.Causal {
			obj = AR{}
		}
	}
	B := opt.Batch
	if B == 0 {
		B = 16
	}
	if B < 1 {
		return EvalResult{}, fmt.Errorf("evaluation batch %d: need at least 1", B)
	}
	if obj.Causal() != m.Causal {
		return EvalResult{}, fmt.Errorf("objective %s needs causal=%v, the model has %v", obj.Name(), obj.Causal(), m.Causal)
	}
	what := fmt.Sprintf("evaluating batches of %d sequences of %d tokens (vocab_size %d, hidden_dim %d)", B, m.Length, m.Vocab, m.Hidden)
	if err := sysmem.Check(what, m.Config.MemoryBytes(B, m.Length, false)); err != nil {
		return EvalResult{}, err
	}
	span := obj.Span(m.Length)
	avail := len(stream) / (span * B)
	if avail == 0 {
		return EvalResult{}, fmt.Errorf("evaluation data has %d tokens: fewer than one batch of %dx%d", len(stream), B, span)
	}
	batches := opt.Batches
	if batches <= 0 || batches > avail {
		batches = avail
	}
	mc := max(opt.MC, 1)
	if obj.Exact() {
		mc = 1
	}
	rank, ranks := rankOf(opt.Group)
	samples := make([]float64, batches*mc)
	for k := rank; k < len(samples); k += ranks {
		if err := ctx.Err(); err != nil {
			return EvalResult{}, err
		}
		i := k / mc
		b := Batch{Tokens: stream[i*B*span : (i+1)*B*span], B: B, RNG: tensor.NewRNG(microSeed(opt.Seed, i, k%mc))}
		nll, err := obj.NLL(m, b)
		if err != nil {
			return EvalResult{}, err
		}
		samples[k] = nll
	}
	if ranks > 1 {
		// The other ranks' entries are zeros here: the sum gathers them.
		if err := opt.Group.AllreduceSum64(samples); err != nil {
			return EvalResult{}, err
		}
	}
	tokens := batches * B * m.Length
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
