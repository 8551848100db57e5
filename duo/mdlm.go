package duo

import (
	"context"
	"fmt"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// The masked diffusion baseline, MDLM (spec section 7).

// ObjectiveMDLM names the masked diffusion baseline in configurations.
const ObjectiveMDLM = "mdlm"

// MDLM is masked (absorbing-state) diffusion: the network's vocabulary is
// the tokenizer's plus one [MASK] id, the last; z_t masks each token with
// probability 1 - alpha_t under Schedule (nil: log-linear); the network
// never predicts [MASK] (its logit is dropped) and copies unmasked tokens,
// so only masked positions add to the loss, (alpha'_t / (1 - alpha_t)) log
// x_theta(x) >= 0 each.
type MDLM struct{ Schedule Schedule }

// Name returns "mdlm".
func (MDLM) Name() string { return ObjectiveMDLM }

// Causal returns false.
func (MDLM) Causal() bool { return false }

// Span returns L.
func (MDLM) Span(L int) int { return L }

// Exact returns false: NLL is a bound.
func (MDLM) Exact() bool { return false }

// Vocab returns the network's vocabulary for a tokenizer of K ids: K + 1.
func (MDLM) Vocab(K int) int { return K + 1 }

// ModelVocab returns the size of the network's vocabulary that objective
// o needs for a tokenizer of K ids (K, or K + 1 for MDLM's [MASK]).
func ModelVocab(o Objective, K int) int {
	if v, ok := o.(interface{ Vocab(K int) int }); ok {
		return v.Vocab(K)
	}
	return K
}

func (o MDLM) schedule() Schedule {
	if o.Schedule == nil {
		return LogLinear{}
	}
	return o.Schedule
}

// Masked is a batch corrupted by the masking process.
type Masked struct {
	X, Zt             []int32   // B*L clean tokens and latents ([MASK] = Mask)
	Mask              int32     // the [MASK] id
	Alpha, AlphaPrime []float64 // B
	Sigma             []float32 // B: -log alpha_t
}

// maskNoise masks clean tokens x (B sequences over a network vocabulary of
// K ids, the last being [MASK]) at antithetic times.
func (o MDLM) maskNoise(x []int32, B, K int, rng *tensor.RNG) *Masked {
	L := len(x) / B
	t := make([]float64, B)
	AntitheticTimes(t, rng.Float64())
	nb := &Masked{X: x, Zt: make([]int32, len(x)), Mask: int32(K - 1),
		Alpha: make([]float64, B), AlphaPrime: make([]float64, B), Sigma: make([]float32, B)}
	sched := o.schedule()
	for b := range t {
		a := sched.Alpha(t[b])
		nb.Alpha[b], nb.AlphaPrime[b], nb.Sigma[b] = a, sched.AlphaPrime(t[b]), float32(Sigma(a))
		for i := b * L; i < (b+1)*L; i++ {
			nb.Zt[i] = x[i]
			if rng.Float64() >= a {
				nb.Zt[i] = nb.Mask
			}
		}
	}
	return nb
}

// MDLMLoss returns the mean over all positions of the MDLM loss of logits
// (B, L, K) for a masked batch, as an autograd value: log x_theta is the
// log_softmax over the K-1 ids other than [MASK] (its logit zero-masked),
// and unmasked positions, whose x_theta is their own token, add 0.
func MDLMLoss(tp *autograd.Tape, logits *autograd.Var, nb *Masked) *autograd.Var {
	K := logits.Value.Dim(-1)
	B, L := len(nb.Alpha), len(nb.X)/len(nb.Alpha)
	tokens := tp.Split(logits, -1, K-1, 1)[0]
	logX := tp.GatherLast(tp.LogSoftmax(tokens), nb.X)
	w := tensor.New(B, L)
	for i, z := range nb.Zt {
		if z == nb.Mask {
			b := i / L
			w.Data()[i] = float32(nb.AlphaPrime[b] / (1 - nb.Alpha[b]))
		}
	}
	return tp.MeanAll(tp.Mul(tp.Reshape(logX, B, L), autograd.Const(w)))
}

// Loss returns MDLMLoss of the network on the masked batch.
func (o MDLM) Loss(tp *autograd.Tape, m *nn.DiT, b Batch) (*autograd.Var, error) {
	nb := o.maskNoise(b.Tokens, b.B, m.Vocab, b.RNG)
	logits, err := m.Forward(tp, nn.Input{Batch: b.B, IDs: nb.Zt, Sigma: nb.Sigma, RNG: b.Dropout})
	if err != nil {
		return nil, err
	}
	return MDLMLoss(tp, logits, nb), nil
}

// NLL returns the MDLM bound per token on one draw of the mask.
func (o MDLM) NLL(m *nn.DiT, b Batch) (float64, error) {
	nb := o.maskNoise(b.Tokens, b.B, m.Vocab, b.RNG)
	logits, err := m.Forward(nil, nn.Input{Batch: b.B, IDs: nb.Zt, Sigma: nb.Sigma})
	if err != nil {
		return 0, err
	}
	return float64(MDLMLoss(nil, logits, nb).Value.Item()), nil
}

// MDLMPosterior writes p(z_s = . | z_t = zt, x_theta) into dst (K ids, the
// last being [MASK]), with x (K-1 ids) the network's x_theta: an unmasked
// token stays; a masked one stays masked with probability (1 - alpha_s) /
// (1 - alpha_t), else becomes v with probability (alpha_s - alpha_t) /
// (1 - alpha_t) x_v.
func MDLMPosterior(dst, x []float64, zt int, alphaT, alphaS float64) {
	K := len(dst)
	clear(dst)
	if zt != K-1 {
		dst[zt] = 1
		return
	}
	unmask := (alphaS - alphaT) / (1 - alphaT)
	for v, p := range x {
		dst[v] = unmask * p
	}
	dst[K-1] = (1 - alphaS) / (1 - alphaT)
}

// sample is MDLM's ancestral sampler: every position starts masked; each
// step computes x_theta (float64, optional nucleus) and draws masked
// positions from MDLMPosterior; the final step (alpha_s = 1) unmasks the
// rest by a draw (ancestral) or the argmax (greedy).
func (o MDLM) sample(ctx context.Context, m *nn.DiT, cfg SampleConfig) ([][]int32, error) {
	if cfg.Sampler == SamplerNone {
		return nil, fmt.Errorf("sample: sampler none would leave masked tokens in an MDLM sample; use ancestral or greedy")
	}
	if cfg.Repair != nil {
		return nil, fmt.Errorf("sample: repair is for uniform-state models, not MDLM")
	}
	B, L, K := cfg.Batch, cfg.Length, m.Vocab
	mask := int32(K - 1)
	sched := cfg.Schedule
	if sched == nil {
		sched = o.schedule()
	}
	rows := cfg.rows()
	z := make([]int32, B*L)
	for i := range z {
		z[i] = mask
	}
	if err := cfg.fix(z, K-1); err != nil { // fixed tokens are unmasked: carried over
		return nil, err
	}
	grid, kappas, err := sampleGrid(cfg, 1, sched)
	if err != nil {
		return nil, err
	}
	trace := func(t float64) {
		if cfg.Trace != nil {
			cfg.Trace(t, z)
		}
	}
	trace(1)
	step := func(at, as, kappa float64, greedy bool) error {
		sigma := make([]float32, B)
		for b := range sigma {
			sigma[b] = float32(Sigma(at))
		}
		seeds := rows.positionSeeds(L)
		return logitRows(m, nn.Input{Batch: B, IDs: z, Sigma: sigma}, func(lo int, x []float32) {
			parallel.For(len(x)/K, 16, func(a, b int) {
				p, q, scratch := make([]float64, K-1), make([]float64, K), make([]float32, K)
				var order []int
				for i := a; i < b; i++ {
					r := lo + i
					switch {
					case cfg.Fixed != nil && cfg.Fixed[r] >= 0:
						continue
					case z[r] != mask && kappa == 1:
						continue // carry-over
					case z[r] != mask: // the corrector may remask it; x_theta is not needed
						MDLMPsiPosterior(q, p, int(z[r]), at, as, kappa)
						z[r] = int32(sampleCategorical(q, tensor.NewRNG(seeds[r])))
						continue
					}
					softmax64(p, x[i*K:i*K+K-1], scratch)
					if cfg.TopP > 0 && cfg.TopP < 1 {
						order = nucleus(p, cfg.TopP, order)
					}
					if greedy {
						z[r] = int32(argmaxOf(p))
						continue
					}
					MDLMPsiPosterior(q, p, int(mask), at, as, kappa)
					z[r] = int32(sampleCategorical(q, tensor.NewRNG(seeds[r])))
				}
			})
		})
	}
	for k := 0; k < cfg.Steps; k++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := step(sched.Alpha(grid[k]), sched.Alpha(grid[k+1]), kappas[k], false); err != nil {
			return nil, err
		}
		trace(grid[k+1])
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := step(sched.Alpha(tMin), 1, 1, cfg.Sampler == SamplerGreedy); err != nil {
		return nil, err
	}
	trace(0)
	return splitRows(z, B, L), nil
}
