package duo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tokenizer"
)

// Model is a trained model opened for use: the network, what its
// config.json says of it, and its tokenizer. Its methods generate, score
// and evaluate text. They only read the model, so on the CPU they may run
// concurrently (they share its cores: side by side, not faster); duo serve
// runs them from a bounded set of workers.
type Model struct {
	Net       *nn.DiT
	Info      ModelInfo
	Tokenizer tokenizer.Tokenizer
}

// OpenOptions are the choices of Open.
type OpenOptions struct {
	// Tokenizer is "bytes", "gpt2" (GPT-2's BPE, embedded) or a directory
	// or tokenizer.json file of BPE files; "" takes the model's: what
	// config.json names, the BPE files in the directory, or GPT-2's when the
	// vocabulary is GPT-2's (the authors' checkpoints).
	Tokenizer string
}

// ErrNoTokenizer says that a model directory does not tell its tokenizer.
// Open returns the model with it, for callers that only handle token ids.
var ErrNoTokenizer = errors.New("no tokenizer")

// Open opens a model directory (this project's checkpoints, a converted
// .ckpt, the authors' Hugging Face layout) with its tokenizer. When the
// tokenizer cannot be known the model is returned with an error wrapping
// ErrNoTokenizer.
func Open(dir string, opt *OpenOptions) (*Model, error) {
	if opt == nil {
		opt = &OpenOptions{}
	}
	net, info, err := LoadModel(dir)
	if err != nil {
		return nil, err
	}
	m := &Model{Net: net, Info: info}
	spec := opt.Tokenizer
	if spec == "" {
		switch {
		case info.Tokenizer == "bytes":
			spec = tokenizer.BytesSpec
		case tokenizer.HasBPEFiles(dir):
			spec = dir
		case tokenizer.IsGPT2Vocab(net.Vocab):
			spec = tokenizer.GPT2Spec
		default:
			return m, fmt.Errorf("%s: config.json names no tokenizer and the directory holds no tokenizer files "+
				"(encoder.json+vocab.bpe, vocab.json+merges.txt or tokenizer.json); name one: %w", dir, ErrNoTokenizer)
		}
	}
	tok, err := tokenizer.Load(spec)
	if err != nil {
		return nil, err
	}
	if tok.VocabSize() > net.Vocab {
		return nil, fmt.Errorf("%s: the tokenizer has %d ids but the model only %d", dir, tok.VocabSize(), net.Vocab)
	}
	m.Tokenizer = tok
	return m, nil
}

// GenerateOptions are the choices of Model.Generate. The zero value draws
// one sample of the model's length in 64 ancestral steps.
type GenerateOptions struct {
	Prompt string // text every sample starts with (kept clean at every step)
	Infill string // "before{}after": every sample starts with before and ends with after (diffusion models)
	N      int    // samples (0: 1)
	Length int    // tokens per sample, the fixed text's included (0: the model's length)
	Steps  int    // denoising steps (0: 64; AR models draw one token at a time)
	// Sampler is the final noise removal: ancestral (""), greedy or none;
	// for an AR model, greedy takes the argmax at every token.
	Sampler     string
	TopP        float64 // nucleus mass (0 or 1: off)
	Temperature float64 // AR models: divides the logits (0: 1)
	Seed        uint64
	// Seeds, when set, holds one seed per sample (see SampleConfig.Seeds).
	Seeds     []uint64
	StopAtEOT bool // end each sample before its first drawn end-of-text token
	Psi       *Psi // a Psi-sampler instead of ancestral steps (diffusion models)
	// OnStep, when set, is called after every denoising step with the
	// current text of each sample (it changes everywhere at once), and
	// once at the start with the pure noise. Diffusion models only; not
	// called when the samples are shared by a Group.
	OnStep func(Step)
	// Group, when it has several ranks, shares the samples among them:
	// each draws a contiguous share of the rows (with the rows' own seeds)
	// and every rank returns all of them, as one process would.
	Group Group
}

// Step is the state of a generation after one denoising step.
type Step struct {
	Step, Steps int      // steps done (0: the start) of Steps (the final noise removal included)
	T           float64  // the time reached (1: pure noise, 0: the end)
	Texts       []string // each sample's current text
}

// Generation is one generated sample.
type Generation struct {
	Text   string
	Tokens []int32
}

// Generate draws samples from the model: by the diffusion sampler of its
// objective, or left to right for an AR model, with the prompt or infill of
// o. It stops between steps, returning ctx's error, once ctx is done.
func (m *Model) Generate(ctx context.Context, o GenerateOptions) ([]Generation, error) {
	if _, n := rankOf(o.Group); n > 1 {
		return m.generateShared(ctx, o)
	}
	cfg, err := m.SampleConfig(o)
	if err != nil {
		return nil, err
	}
	var out [][]int32
	if m.Net.Causal {
		out, err = m.generateAR(ctx, cfg, o)
	} else {
		if o.OnStep != nil {
			total, k := cfg.Steps+1, 0
			if cfg.Sampler == SamplerNone {
				total--
			}
			cfg.Trace = func(t float64, z []int32) {
				texts := make([]string, cfg.Batch)
				for b := range texts {
					texts[b] = m.Tokenizer.Decode(z[b*cfg.Length : (b+1)*cfg.Length])
				}
				o.OnStep(Step{Step: k, Steps: total, T: t, Texts: texts})
				k++
			}
		}
		out, err = SampleContext(ctx, m.Net, cfg)
	}
	if err != nil {
		return nil, err
	}
	if o.StopAtEOT {
		out = cutAtEOT(out, m.Tokenizer.EOT(), cfg.Fixed)
	}
	gens := make([]Generation, len(out))
	for i, ids := range out {
		gens[i] = Generation{Text: m.Tokenizer.Decode(ids), Tokens: ids}
	}
	return gens, nil
}

// SampleConfig returns the sampler configuration of o for this model: its
// objective and schedule, the fixed tokens of the prompt or infill, and
// o's defaults filled in. Generate samples with it.
func (m *Model) SampleConfig(o GenerateOptions) (SampleConfig, error) {
	if m.Tokenizer == nil {
		return SampleConfig{}, fmt.Errorf("generate: the model has no tokenizer: %w", ErrNoTokenizer)
	}
	cfg := SampleConfig{Steps: o.Steps, Sampler: o.Sampler, TopP: o.TopP, Batch: o.N, Length: o.Length, Seed: o.Seed, Seeds: o.Seeds, Psi: o.Psi}
	if cfg.Steps == 0 {
		cfg.Steps = 64
	}
	if cfg.Sampler == "" {
		cfg.Sampler = SamplerAncestral
	}
	if cfg.Batch == 0 {
		cfg.Batch = 1
	}
	if cfg.Length == 0 {
		cfg.Length = m.Net.Length
	}
	if cfg.TopP == 0 {
		cfg.TopP = 1
	}
	if o.StopAtEOT {
		if m.Tokenizer.EOT() < 0 {
			return cfg, errors.New("stop at end-of-text: the tokenizer has no end-of-text token")
		}
		if o.Infill != "" {
			return cfg, errors.New("stop at end-of-text with an infill: an infill ends with its fixed text, not at an end-of-text token")
		}
	}
	obj, err := m.Info.EvalObjective()
	if err != nil {
		return cfg, err
	}
	cfg.Objective = obj
	if err := cfg.Validate(m.Net.Length); err != nil {
		return cfg, err
	}
	cfg.Fixed, err = FixedTokens(m.Tokenizer, o.Prompt, o.Infill, cfg.Batch, cfg.Length)
	return cfg, err
}

// generateAR draws from an AR model left to right (SampleAR): after the
// prompt, or after the tokenizer's end-of-text token as a start token,
// dropped from the output.
func (m *Model) generateAR(ctx context.Context, cfg SampleConfig, o GenerateOptions) ([][]int32, error) {
	switch {
	case o.Infill != "":
		return nil, errors.New("infill needs a diffusion model; an AR model continues a prompt")
	case o.Psi != nil:
		return nil, errors.New("a Psi-sampler needs a diffusion model")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var prompt []int32
	for _, id := range cfg.Fixed[:min(len(cfg.Fixed), cfg.Length)] {
		if id < 0 {
			break
		}
		prompt = append(prompt, id)
	}
	length, start := cfg.Length, len(prompt) == 0
	if start {
		eot := m.Tokenizer.EOT()
		if eot < 0 {
			return nil, errors.New("an AR model whose tokenizer has no start (end-of-text) token needs a prompt")
		}
		prompt, length = []int32{eot}, length+1
	}
	temp := o.Temperature
	switch {
	case cfg.Sampler == SamplerGreedy:
		temp = 0
	case temp == 0:
		temp = 1
	}
	out, err := SampleAR(m.Net, ARConfig{Temperature: temp, TopP: cfg.TopP, Batch: cfg.Batch, Length: length, Prompt: prompt, Seed: cfg.Seed, Seeds: cfg.Seeds})
	if err != nil {
		return nil, err
	}
	if start {
		for b := range out {
			out[b] = out[b][1:]
		}
	}
	return out, nil
}

// FixedTokens builds SampleConfig.Fixed for a prompt or an infill
// ("before{}after"): the prompt's tokens at the start of every one of batch
// rows of length tokens, or before at the start and after at the end; nil
// when neither is given.
func FixedTokens(t tokenizer.Tokenizer, prompt, infill string, batch, length int) ([]int32, error) {
	if prompt != "" && infill != "" {
		return nil, errors.New("a prompt and an infill: give one")
	}
	var before, after []int32
	switch {
	case prompt != "":
		before = t.Encode(prompt)
	case infill != "":
		b, a, ok := strings.Cut(infill, "{}")
		if !ok {
			return nil, fmt.Errorf("infill %q: want before{}after, with {} where the model writes", infill)
		}
		before, after = t.Encode(b), t.Encode(a)
	default:
		return nil, nil
	}
	if len(before)+len(after) >= length {
		return nil, fmt.Errorf("the fixed text is %d tokens, leaving nothing to sample in a length of %d", len(before)+len(after), length)
	}
	fixed := make([]int32, batch*length)
	for b := range batch {
		row := fixed[b*length : (b+1)*length]
		for i := range row {
			row[i] = -1
		}
		copy(row, before)
		copy(row[length-len(after):], after)
	}
	return fixed, nil
}

// cutAtEOT ends each sample before its first end-of-text id drawn by the
// sampler (fixed positions, a prompt's, are not cut at).
func cutAtEOT(out [][]int32, eot int32, fixed []int32) [][]int32 {
	for b, ids := range out {
		for i, id := range ids {
			if id == eot && (fixed == nil || fixed[b*len(ids)+i] < 0) {
				out[b] = ids[:i]
				break
			}
		}
	}
	return out
}

// Score returns the log-likelihood of continuation given context (Score),
// under the model's objective unless o names another.
func (m *Model) Score(ctx context.Context, context, continuation string, o ScoreOptions) (ScoreResult, error) {
	if err := ctx.Err(); err != nil {
		return ScoreResult{}, err
	}
	var err error
	if o.Objective, err = m.ready("score", o.Objective); err != nil {
		return ScoreResult{}, err
	}
	return Score(m.Net, m.Tokenizer.Encode(context), m.Tokenizer.Encode(continuation), o)
}

// Evaluate measures the model on text (EvaluateContext): its tokens in
// consecutive blocks of the model's length, under the model's objective
// unless o names another.
func (m *Model) Evaluate(ctx context.Context, text string, o EvalOptions) (EvalResult, error) {
	var err error
	if o.Objective, err = m.ready("evaluate", o.Objective); err != nil {
		return EvalResult{}, err
	}
	return EvaluateContext(ctx, m.Net, m.Tokenizer.Encode(text), o)
}

// ready checks that the model can take text and returns obj, or the
// model's own objective when obj is nil.
func (m *Model) ready(op string, obj Objective) (Objective, error) {
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("%s: the model has no tokenizer: %w", op, ErrNoTokenizer)
	}
	if obj != nil {
		return obj, nil
	}
	return m.Info.EvalObjective()
}
