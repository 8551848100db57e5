package duo

import (
	"fmt"

	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// ScoreOptions configures Score.
type ScoreOptions struct {
	Objective Objective // the model's (nil: a uniform-state model)
	MC        int       // Monte Carlo draws of t for diffusion models (0: DefaultScoreMC), one batch
	Seed      uint64
}

// DefaultScoreMC is Score's default number of Monte Carlo draws of t.
const DefaultScoreMC = 64

// ScoreResult is the log-likelihood of a continuation given a context.
type ScoreResult struct {
	LogLik float64 // nats: exact for AR models, the ELBO (a lower bound) for diffusion models
	StdErr float64 // the Monte Carlo standard error of LogLik (0 when exact)
	Tokens int     // continuation tokens scored
	Exact  bool
}

// Score returns log p(cont | context) under m: the exact conditional
// log-likelihood of an AR model, or for a diffusion model the ELBO of the
// continuation with the context clean at every t (the forward process
// corrupts only the continuation, and only its positions' terms of the
// bound count: Eq. 17 for uniform-state models, the MDLM bound for MDLM),
// averaged over MC antithetic times in one batch. Context and continuation
// together must fit the model's length.
func Score(m *nn.DiT, context, cont []int32, opt ScoreOptions) (ScoreResult, error) {
	n := len(context) + len(cont)
	free := m.Vocab
	if _, ok := opt.Objective.(MDLM); ok {
		free-- // [MASK]
	}
	switch {
	case len(cont) == 0:
		return ScoreResult{}, fmt.Errorf("score: empty continuation")
	case m.Causal && len(context) == 0:
		return ScoreResult{}, fmt.Errorf("score: an AR model needs a context of at least one token")
	case m.Causal && n > m.Length+1 || !m.Causal && n > m.Length:
		return ScoreResult{}, fmt.Errorf("score: context and continuation are %d tokens, more than the model's length %d", n, m.Length)
	}
	seq := append(append(make([]int32, 0, n), context...), cont...)
	for i, id := range seq {
		if id < 0 || int(id) >= free {
			return ScoreResult{}, fmt.Errorf("score: token id %d at position %d outside the vocabulary [0,%d)", id, i, free)
		}
	}
	if m.Causal {
		return scoreAR(m, seq, len(context))
	}
	mc := opt.MC
	if mc == 0 {
		mc = DefaultScoreMC
	}
	if mc < 2 {
		return ScoreResult{}, fmt.Errorf("score: %d Monte Carlo draws; need at least 2 for a standard error", mc)
	}
	rng := tensor.NewRNG(opt.Seed)
	var sums []float64
	var err error
	switch o := opt.Objective.(type) {
	case MDLM:
		sums, err = o.scoreDraws(m, seq, len(context), mc, rng)
	case interface{ schedule() Schedule }: // USDM, and Duo and DCD, evaluated as USDM
		sums, err = scoreUSDM(m, seq, len(context), mc, o.schedule(), rng)
	default:
		sums, err = scoreUSDM(m, seq, len(context), mc, LogLinear{}, rng)
	}
	if err != nil {
		return ScoreResult{}, err
	}
	mean, se := meanStdErr(sums)
	return ScoreResult{LogLik: -mean, StdErr: se, Tokens: len(cont)}, nil
}

// scoreUSDM returns, for mc antithetic times, the sum over the continuation
// (positions from c on) of the per-token loss of Eq. 17, the context clean.
func scoreUSDM(m *nn.DiT, seq []int32, c, mc int, sched Schedule, rng *tensor.RNG) ([]float64, error) {
	L := len(seq)
	x := make([]int32, 0, mc*L)
	for range mc {
		x = append(x, seq...)
	}
	t := make([]float64, mc)
	AntitheticTimes(t, rng.Float64())
	nb := newNoised(x, mc, L)
	for b := range mc {
		a := sched.Alpha(t[b])
		nb.Alpha[b], nb.AlphaPrime[b], nb.Sigma[b] = a, sched.AlphaPrime(t[b]), float32(Sigma(a))
		row := nb.Zt[b*L : (b+1)*L]
		copy(row, seq)
		copy(row[c:], Corrupt(seq[c:], m.Vocab, a, rng))
	}
	logits, err := m.Forward(nil, nn.Input{Batch: mc, IDs: nb.Zt, Sigma: nb.Sigma})
	if err != nil {
		return nil, err
	}
	losses := TokenLosses(logits.Value, nb, nil)
	sums := make([]float64, mc)
	for b := range sums {
		for i := b*L + c; i < (b+1)*L; i++ {
			sums[b] += losses[i]
		}
	}
	return sums, nil
}

// scoreDraws returns, for mc antithetic times, MDLM's bound summed over the
// continuation (positions from c on; the context is never masked):
// alpha'/(1 - alpha) log x_theta(x) at each masked position.
func (o MDLM) scoreDraws(m *nn.DiT, seq []int32, c, mc int, rng *tensor.RNG) ([]float64, error) {
	L, K := len(seq), m.Vocab
	t := make([]float64, mc)
	AntitheticTimes(t, rng.Float64())
	zt := make([]int32, 0, mc*L)
	sigma := make([]float32, mc)
	w := make([]float64, mc)
	for b := range mc {
		a := o.schedule().Alpha(t[b])
		sigma[b], w[b] = float32(Sigma(a)), o.schedule().AlphaPrime(t[b])/(1-a)
		zt = append(zt, seq...)
		for i := b*L + c; i < (b+1)*L; i++ {
			if rng.Float64() >= a {
				zt[i] = int32(K - 1)
			}
		}
	}
	logits, err := m.Forward(nil, nn.Input{Batch: mc, IDs: zt, Sigma: sigma})
	if err != nil {
		return nil, err
	}
	x := logits.Value.Host()
	lp := make([]float64, K-1)
	sums := make([]float64, mc)
	for b := range sums {
		for i := b*L + c; i < (b+1)*L; i++ {
			if zt[i] == int32(K-1) {
				tensor.LogSoftmax64(lp, x[i*K:i*K+K-1])
				sums[b] += w[b] * lp[seq[i-b*L]]
			}
		}
	}
	return sums, nil
}

// scoreAR returns the exact log-likelihood of seq[c:] given seq[:c] under a
// causal model: one forward pass over seq[:len-1].
func scoreAR(m *nn.DiT, seq []int32, c int) (ScoreResult, error) {
	n := len(seq)
	logits, err := m.Forward(nil, nn.Input{Batch: 1, IDs: seq[:n-1]})
	if err != nil {
		return ScoreResult{}, err
	}
	x, K := logits.Value.Host(), m.Vocab
	lp := make([]float64, K)
	res := ScoreResult{Tokens: n - c, Exact: true}
	for p := c - 1; p < n-1; p++ {
		tensor.LogSoftmax64(lp, x[p*K:(p+1)*K])
		res.LogLik += lp[seq[p+1]]
	}
	return res, nil
}
