package duo

import (
	"errors"
	"fmt"
	"math"

	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// ARConfig configures left-to-right sampling of an AR model.
type ARConfig struct {
	Temperature float64 // divides the logits; 0: greedy (the argmax)
	TopP        float64 // nucleus mass kept (1 or 0: off)
	Batch       int     // sequences
	Length      int     // tokens per sequence, prompt included (at most the model's length + 1)
	Prompt      []int32 // the first tokens of every sequence: at least one (an AR model has no start token of its own)
	Seed        uint64
	// Seeds, when set, holds one seed per sequence (default RowSeeds(Seed,
	// Batch)), so that a share of a batch draws what it would in the batch.
	Seeds []uint64
}

// SampleAR draws sequences from a causal model left to right: the prompt is
// fed, then each token is drawn from softmax(logits / Temperature) (float64,
// optional nucleus) and fed back. A KV cache (nn.Decoder) makes each token
// one single-position pass.
func SampleAR(m *nn.DiT, cfg ARConfig) ([][]int32, error) {
	switch {
	case !m.Causal:
		return nil, errors.New("sample: the model is not causal; use Sample for diffusion models")
	case len(cfg.Prompt) == 0:
		return nil, errors.New("sample: an AR model needs a prompt of at least one token")
	case cfg.Batch < 1:
		return nil, fmt.Errorf("batch %d: need at least 1", cfg.Batch)
	case cfg.Length < len(cfg.Prompt) || cfg.Length > m.Length+1:
		return nil, fmt.Errorf("length %d outside [%d, %d] (the prompt's length to the model's length + 1)", cfg.Length, len(cfg.Prompt), m.Length+1)
	case !(cfg.Temperature >= 0) || math.IsInf(cfg.Temperature, 0):
		return nil, fmt.Errorf("temperature %g: want a finite number >= 0", cfg.Temperature)
	case !(cfg.TopP >= 0 && cfg.TopP <= 1):
		return nil, fmt.Errorf("top-p %g outside [0, 1]", cfg.TopP)
	}
	for i, id := range cfg.Prompt {
		if id < 0 || int(id) >= m.Vocab {
			return nil, fmt.Errorf("prompt token %d at position %d outside the vocabulary [0,%d)", id, i, m.Vocab)
		}
	}
	B, K := cfg.Batch, m.Vocab
	dec, err := m.NewDecoder(B)
	if err != nil {
		return nil, err
	}
	seeds := cfg.Seeds
	if seeds == nil {
		seeds = RowSeeds(cfg.Seed, B)
	}
	if len(seeds) != B {
		return nil, fmt.Errorf("%d seeds for a batch of %d", len(seeds), B)
	}
	out := make([][]int32, B)
	rngs := make([]*tensor.RNG, B)
	for b := range out {
		out[b] = append(make([]int32, 0, cfg.Length), cfg.Prompt...)
		rngs[b] = tensor.NewRNG(seeds[b])
	}
	next := make([]int32, B)
	feed := func(n int) (*tensor.Tensor, error) { // the tokens at position n
		for b := range next {
			next[b] = out[b][n]
		}
		return dec.Step(next)
	}
	for n := 0; n < len(cfg.Prompt)-1; n++ {
		if _, err := feed(n); err != nil {
			return nil, err
		}
	}
	p, tempered, scratch := make([]float64, K), make([]float32, K), make([]float32, K)
	var order []int
	for n := len(cfg.Prompt); n < cfg.Length; n++ {
		logits, err := feed(n - 1)
		if err != nil {
			return nil, err
		}
		x := logits.Host()
		for b := range out {
			row := x[b*K : (b+1)*K]
			if cfg.Temperature == 0 {
				out[b] = append(out[b], int32(argmaxOf(row)))
				continue
			}
			for v, l := range row {
				tempered[v] = l / float32(cfg.Temperature)
			}
			softmax64(p, tempered, scratch)
			if cfg.TopP > 0 && cfg.TopP < 1 {
				order = nucleus(p, cfg.TopP, order)
			}
			out[b] = append(out[b], int32(sampleCategorical(p, rngs[b])))
		}
	}
	return out, nil
}
