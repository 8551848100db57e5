package duo

import (
	"context"
	"fmt"

	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/internal/sysmem"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// Final noise-removal rules at t = 1e-5 (spec section 6).
const (
	SamplerAncestral = "ancestral" // posterior with alpha_s = 1
	SamplerGreedy    = "greedy"    // Greedy-Tail: argmax of x_theta
	SamplerNone      = "none"      // keep z
)

// tMin is the sampling grid's last time (spec section 6).
const tMin = 1e-5

// SampleConfig configures ancestral sampling.
type SampleConfig struct {
	Steps   int     // network calls on the time grid (plus one for the final step, unless Sampler is none)
	Sampler string  // final step: ancestral, greedy or none
	TopP    float64 // nucleus mass kept of x_theta (1 or 0: off)
	Batch   int     // sequences
	Length  int     // tokens per sequence (at most the model's length)
	Seed    uint64  // the seed of the rows' seeds (RowSeeds), unless Seeds is set
	// Seeds, when set, holds one seed per row: row b's draws come from
	// Seeds[b] alone, so a row is the same whatever is sampled beside it
	// (requests batched together). Nil: RowSeeds(Seed, Batch).
	Seeds []uint64
	// Schedule is the noise schedule to sample under (nil: the Objective's,
	// which ModelInfo.EvalObjective gives as the model was trained, else
	// the log-linear schedule of text models).
	Schedule Schedule
	// Objective is the one the model was trained with (nil: a uniform-state
	// model); MDLM models have a sampler of their own.
	Objective Objective
	// Psi, when set, samples with a Psi-sampler (its time grid and kappa
	// modes) instead of ancestral sampling; see Psi.
	Psi *Psi

	// Fixed, when set, holds Batch*Length entries: a token id keeps its
	// position clean at every step, so the network sees it throughout and
	// only the other positions are drawn (a prompt, the context of an
	// infill); -1 leaves the position to the sampler.
	Fixed []int32

	// Repair, when set, holds Batch*Length tokens taken as the latent z_t at
	// time From (in (0, 1]): sampling starts there instead of from pure
	// noise, and the model repairs the corrupted text (see Corrupt).
	Repair []int32
	From   float64

	// Trace, when set, is called with the latents z_t (Batch*Length ids,
	// not to be kept) at the start, at time t = 1 or From, and after every
	// step, at the step's time s (0 for the final noise removal): the text
	// as it emerges from the noise.
	Trace func(t float64, z []int32)
}

// Validate reports the first bad setting.
func (c SampleConfig) Validate(maxLen int) error {
	switch {
	case c.Steps < 1:
		return fmt.Errorf("steps %d: need at least 1", c.Steps)
	case c.Sampler != SamplerAncestral && c.Sampler != SamplerGreedy && c.Sampler != SamplerNone:
		return fmt.Errorf("sampler %q: want ancestral, greedy or none", c.Sampler)
	case !(c.TopP >= 0 && c.TopP <= 1): // NaN too
		return fmt.Errorf("top-p %g outside [0, 1]", c.TopP)
	case c.Batch < 1:
		return fmt.Errorf("batch %d: need at least 1", c.Batch)
	case c.Length < 1 || c.Length > maxLen:
		return fmt.Errorf("length %d outside [1, %d]", c.Length, maxLen)
	case c.Repair != nil && len(c.Repair) != c.Batch*c.Length:
		return fmt.Errorf("repair input has %d tokens, want %d x %d", len(c.Repair), c.Batch, c.Length)
	case c.Repair != nil && !(c.From > 0 && c.From <= 1):
		return fmt.Errorf("repair start time %g outside (0, 1]", c.From)
	case c.Seeds != nil && len(c.Seeds) != c.Batch:
		return fmt.Errorf("seeds: %d, want one per row (%d)", len(c.Seeds), c.Batch)
	case c.Fixed != nil && len(c.Fixed) != c.Batch*c.Length:
		return fmt.Errorf("fixed tokens: %d entries, want %d x %d", len(c.Fixed), c.Batch, c.Length)
	case c.Psi != nil && c.Repair != nil:
		return fmt.Errorf("repair starts from a time of its own: it takes ancestral steps, not a Psi-sampler's grid")
	case c.Psi != nil:
		return c.Psi.Validate()
	}
	return nil
}

// RowSeeds returns the seeds of n rows sampled with seed: the first n
// draws of its stream, so the first rows of a larger batch are the rows of
// a smaller one.
func RowSeeds(seed uint64, n int) []uint64 {
	rng := tensor.NewRNG(seed)
	s := make([]uint64, n)
	for i := range s {
		s[i] = rng.Uint64()
	}
	return s
}

// rows returns the random stream of each row (see Seeds).
func (c SampleConfig) rows() rowStreams {
	seeds := c.Seeds
	if seeds == nil {
		seeds = RowSeeds(c.Seed, c.Batch)
	}
	r := make(rowStreams, len(seeds))
	for b, s := range seeds {
		r[b] = tensor.NewRNG(s)
	}
	return r
}

// rowStreams are the random streams of a batch's rows.
type rowStreams []*tensor.RNG

// positionSeeds returns one seed per position of the B rows of L tokens,
// row b's from its own stream: a stream per position, so the draws depend
// neither on the thread count nor on the other rows.
func (r rowStreams) positionSeeds(L int) []uint64 {
	seeds := make([]uint64, len(r)*L)
	for i := range seeds {
		seeds[i] = r[i/L].Uint64()
	}
	return seeds
}

// fix writes the fixed tokens of cfg into z, checking them against a
// vocabulary of K ids of which the first free are the model's tokens.
func (c SampleConfig) fix(z []int32, free int) error {
	for i, id := range c.Fixed {
		if id < -1 || int(id) >= free {
			return fmt.Errorf("fixed token %d at position %d outside the vocabulary [0,%d)", id, i, free)
		}
		if id >= 0 {
			z[i] = id
		}
	}
	return nil
}

// Sample generates token sequences from a USDM denoiser by ancestral
// sampling: z_1 uniform, then steps posterior draws on the grid
// t_k = linspace(1, 1e-5, steps+1) under the log-linear schedule, with
// x_theta in float64, optional nucleus filtering of x_theta, and the final
// noise removal of cfg.Sampler. With cfg.Psi, the grid and each step's
// draw are the Psi-sampler's.
func Sample(m *nn.DiT, cfg SampleConfig) ([][]int32, error) {
	return SampleContext(context.Background(), m, cfg)
}

// SampleContext is Sample that stops between steps, returning ctx's error,
// once ctx is done.
func SampleContext(ctx context.Context, m *nn.DiT, cfg SampleConfig) ([][]int32, error) {
	if m.Causal {
		return nil, fmt.Errorf("sample: the model is causal (AR); diffusion sampling needs a Duo/UDLM denoiser")
	}
	if err := cfg.Validate(m.Length); err != nil {
		return nil, err
	}
	B, L, K := cfg.Batch, cfg.Length, m.Vocab
	what := fmt.Sprintf("sampling %d sequences of %d tokens (vocab_size %d, hidden_dim %d, %d blocks)", B, L, K, m.Hidden, m.Config.Blocks)
	if err := sysmem.Check(what, m.Config.MemoryBytes(B, L, false)); err != nil {
		return nil, err
	}
	if s, ok := cfg.Objective.(interface {
		sample(context.Context, *nn.DiT, SampleConfig) ([][]int32, error)
	}); ok {
		return s.sample(ctx, m, cfg)
	}
	rows := cfg.rows()
	sched := cfg.Schedule
	if sched == nil {
		sched = LogLinear{}
		if o, ok := cfg.Objective.(interface{ schedule() Schedule }); ok {
			sched = o.schedule()
		}
	}
	start := 1.0
	z := make([]int32, B*L)
	for i := range z {
		if cfg.Repair == nil {
			z[i] = int32(rows[i/L].IntN(K))
			continue
		}
		if id := cfg.Repair[i]; id < 0 || int(id) >= K {
			return nil, fmt.Errorf("repair token %d at position %d outside the vocabulary [0,%d)", id, i, K)
		}
		start, z[i] = cfg.From, cfg.Repair[i]
	}
	if err := cfg.fix(z, K); err != nil {
		return nil, err
	}
	trace := func(t float64) {
		if cfg.Trace != nil {
			cfg.Trace(t, z)
		}
	}
	grid, kappas, err := sampleGrid(cfg, start, sched)
	if err != nil {
		return nil, err
	}
	trace(start)
	for k := 0; k < cfg.Steps; k++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		step := denoise{B: B, L: L, AlphaT: sched.Alpha(grid[k]), AlphaS: sched.Alpha(grid[k+1]), Corrector: 1 - kappas[k], TopP: cfg.TopP, Fixed: cfg.Fixed}
		if err := step.run(m, z, rows); err != nil {
			return nil, err
		}
		trace(grid[k+1])
	}
	if cfg.Sampler != SamplerNone {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		final := denoise{B: B, L: L, AlphaT: sched.Alpha(tMin), AlphaS: 1, TopP: cfg.TopP, Greedy: cfg.Sampler == SamplerGreedy, Fixed: cfg.Fixed}
		if err := final.run(m, z, rows); err != nil {
			return nil, err
		}
		trace(0)
	}
	return splitRows(z, B, L), nil
}

// sampleGrid returns the steps+1 times of cfg's sampling grid from start,
// and kappa for each step: linspace(start, 1e-5) and 1 (ancestral), or
// cfg.Psi's.
func sampleGrid(cfg SampleConfig, start float64, sched Schedule) (grid, kappas []float64, err error) {
	if cfg.Psi == nil {
		kappas = make([]float64, cfg.Steps+1)
		for i := range kappas {
			kappas[i] = 1
		}
		return linspace(start, tMin, cfg.Steps+1), kappas, nil
	}
	if grid, err = cfg.Psi.Grid(cfg.Steps, sched); err != nil {
		return nil, nil, err
	}
	return grid, cfg.Psi.Kappas(grid, sched), nil
}

// splitRows returns the B rows of L tokens of z.
func splitRows(z []int32, B, L int) [][]int32 {
	out := make([][]int32, B)
	for b := range out {
		out[b] = z[b*L : (b+1)*L]
	}
	return out
}

// denoise is one sampling step of B sequences of L tokens, from signal
// level AlphaT to AlphaS >= AlphaT, with nucleus mass TopP on x_theta.
type denoise struct {
	B, L           int
	AlphaT, AlphaS float64
	Corrector      float64 // 1 - kappa of a Psi step (0: ancestral)
	TopP           float64
	Greedy         bool    // argmax x_theta instead of a posterior draw (Greedy-Tail's last step)
	Fixed          []int32 // positions >= 0 here stay as they are (SampleConfig.Fixed)
}

// run replaces z (z_t) in place by a draw of z_s from
// p_theta(z_s | z_t) = q(z_s | z_t, x_theta) (Eq. 4), or from the Psi
// mixture (PsiPosterior) when Corrector > 0, or by argmax x_theta when
// Greedy.
func (d denoise) run(m *nn.DiT, z []int32, rows rowStreams) error {
	sigma := make([]float32, d.B)
	for b := range sigma {
		sigma[b] = float32(Sigma(d.AlphaT))
	}
	K := m.Vocab
	seeds := rows.positionSeeds(d.L)
	return logitRows(m, nn.Input{Batch: d.B, IDs: z, Sigma: sigma}, func(lo int, x []float32) {
		parallel.For(len(x)/K, 16, func(a, b int) {
			p, scratch := make([]float64, K), make([]float32, K)
			q := p // the posterior may overwrite x_theta, not the Psi mixture
			if d.Corrector > 0 {
				q = make([]float64, K)
			}
			var order []int
			for i := a; i < b; i++ {
				r := lo + i
				if d.Fixed != nil && d.Fixed[r] >= 0 {
					continue
				}
				softmax64(p, x[i*K:(i+1)*K], scratch)
				if d.TopP > 0 && d.TopP < 1 {
					order = nucleus(p, d.TopP, order)
				}
				if d.Greedy {
					z[r] = int32(argmaxOf(p))
					continue
				}
				if d.Corrector > 0 {
					PsiPosterior(q, p, int(z[r]), d.AlphaT, d.AlphaS, 1-d.Corrector)
				} else {
					Posterior(q, p, int(z[r]), d.AlphaT, d.AlphaS)
				}
				z[r] = int32(sampleCategorical(q, tensor.NewRNG(seeds[r])))
			}
		})
	})
}

// logitChunk bounds the logits a sampler holds at once (floats): 8M, 32 MB.
var logitChunk = 8 << 20

// logitRows runs the network on in and calls fn with consecutive ranges of
// rows of its logits, starting at row lo (x holds rows x K floats, on the
// host), at most logitChunk floats at a time: at GPT-2's vocabulary the
// logits of one sequence of 1024 tokens are 206 MB, more than the rest of
// a step's working set. fn must be done with x when it returns, and must
// not depend on the chunking (the rows' results must not interact).
func logitRows(m *nn.DiT, in nn.Input, fn func(lo int, x []float32)) error {
	feat, err := m.Features(nil, in)
	if err != nil {
		return err
	}
	rows := feat.Value.Len() / m.Hidden
	step := max(1, min(rows, logitChunk/m.Vocab))
	for lo := 0; lo < rows; lo += step {
		logits := m.Logits(feat.Value, lo, min(rows, lo+step))
		fn(lo, logits.Host())
		tensor.Recycle(logits)
	}
	return nil
}

// softmax64 writes x_theta = softmax(x) into dst (float64; scratch: len(x)
// float32s), see tensor.SoftmaxProbs64.
func softmax64(dst []float64, x, scratch []float32) { tensor.SoftmaxProbs64(dst, x, scratch) }

// nucleus keeps the smallest set of most probable entries whose mass
// reaches topP and renormalises p over it (top-p on x_theta). It takes the
// entries in order from a max-heap of indices, so a nucleus of j entries of
// K costs O(K + j log K) rather than a sort of all K (50257 for GPT-2's
// vocabulary). heap is scratch, returned for reuse.
func nucleus(p []float64, topP float64, heap []int) []int {
	h := heap[:0]
	for i := range p {
		h = append(h, i)
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		siftDown(h, i, p)
	}
	// The kept entries collect at the end of h as the heap shrinks.
	var cum float64
	n := len(h)
	for n > 0 && cum < topP {
		cum += p[h[0]]
		n--
		h[0], h[n] = h[n], h[0]
		siftDown(h[:n], 0, p)
	}
	for _, i := range h[:n] {
		p[i] = 0
	}
	for i := range p {
		p[i] /= cum
	}
	return h
}

// siftDown restores the max-heap order (by p) of h below position i.
func siftDown(h []int, i int, p []float64) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && p[h[c+1]] > p[h[c]] {
			c++
		}
		if p[h[c]] <= p[h[i]] {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// argmaxOf returns the index of the first largest entry of x.
func argmaxOf[T float32 | float64](p []T) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// sampleCategorical draws an index with probability proportional to p (non
// negative, not all zero) by inverting its cumulative sum at one uniform:
// one random number per position, where the exponential race (argmax
// p_i / E_i) needs one per vocabulary entry.
func sampleCategorical(p []float64, rng *tensor.RNG) int {
	var s float64
	for _, v := range p {
		s += v
	}
	u := rng.Float64() * s
	last := 0
	for i, v := range p {
		if v > 0 {
			last = i
			if u -= v; u < 0 {
				return i
			}
		}
	}
	return last // u reached the end by rounding
}
