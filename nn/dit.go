package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/tensor"
)

// Config describes a DiT. The JSON names are those of the authors' Hugging
// Face config.json, so one file format serves our checkpoints and theirs.
type Config struct {
	Vocab    int     `json:"vocab_size"`   // K
	Length   int     `json:"model_length"` // L, the longest sequence
	Hidden   int     `json:"hidden_dim"`   // D
	Cond     int     `json:"cond_dim"`     // C, the time-conditioning width
	Blocks   int     `json:"n_blocks"`
	Heads    int     `json:"n_heads"`
	MLPRatio int     `json:"mlp_ratio"`
	Dropout  float64 `json:"dropout"`
	Causal   bool    `json:"causal"` // the AR variant: causal attention, no adaLN
}

// timeFeatures is the width of the sinusoidal sigma features.
const timeFeatures = 256

// Validate reports the first inconsistent or implausibly large field.
func (c Config) Validate() error {
	switch {
	case c.Vocab > maxDim || c.Hidden > maxDim || c.Cond > maxDim || c.Heads > maxDim:
		return fmt.Errorf("vocab_size %d, hidden_dim %d, cond_dim %d, n_heads %d: implausibly large (limit %d)", c.Vocab, c.Hidden, c.Cond, c.Heads, maxDim)
	case c.Length > maxLength:
		return fmt.Errorf("model_length %d is implausibly large (limit %d)", c.Length, maxLength)
	case c.Blocks > maxBlocks:
		return fmt.Errorf("n_blocks %d is implausibly large (limit %d)", c.Blocks, maxBlocks)
	case c.MLPRatio > maxMLPRatio:
		return fmt.Errorf("mlp_ratio %d is implausibly large (limit %d)", c.MLPRatio, maxMLPRatio)
	case c.Vocab < 2:
		return fmt.Errorf("vocab_size %d: need at least 2", c.Vocab)
	case c.Length < 1:
		return fmt.Errorf("model_length %d: need at least 1", c.Length)
	case c.Hidden < 1 || c.Heads < 1 || c.Hidden%c.Heads != 0:
		return fmt.Errorf("hidden_dim %d is not a positive multiple of n_heads %d", c.Hidden, c.Heads)
	case (c.Hidden/c.Heads)%2 != 0:
		return fmt.Errorf("head dimension %d must be even for rotary embeddings", c.Hidden/c.Heads)
	case !c.Causal && c.Cond < 1:
		return fmt.Errorf("cond_dim %d: need at least 1", c.Cond)
	case c.Blocks < 1:
		return fmt.Errorf("n_blocks %d: need at least 1", c.Blocks)
	case c.MLPRatio < 1:
		return fmt.Errorf("mlp_ratio %d: need at least 1", c.MLPRatio)
	case !(c.Dropout >= 0 && c.Dropout < 1): // NaN too
		return fmt.Errorf("dropout %g outside [0, 1)", c.Dropout)
	}
	return nil
}

// Block is one transformer block (pre-norm; adaLN unless causal).
type Block struct {
	Norm1, Norm2 *LayerNorm
	QKV, Out     *Linear // attn_qkv (3D x D), attn_out (D x D), no bias
	MLP1, MLP2   *Linear // mlp.0 (4D x D), mlp.2 (D x 4D), with bias
	AdaLN        *Linear // adaLN_modulation (6D x C); nil when causal
}

// DiT is the denoiser of dit.md: token or soft input, sigma conditioning
// through adaLN, rotary attention, and a zero-initialised output layer.
type DiT struct {
	Config
	Embed     *Embedding
	Sigma1    *Linear // sigma_map.mlp.0; nil when causal
	Sigma2    *Linear // sigma_map.mlp.2
	Blocks    []*Block
	NormFinal *LayerNorm
	AdaFinal  *Linear // output_layer.adaLN_modulation; nil when causal
	Output    *Linear

	rotary *tensor.Rotary
}

// NewDiT returns a DiT initialised as the reference: PyTorch defaults, with
// adaLN and the output layer zeroed so an untrained model predicts the
// uniform law.
func NewDiT(cfg Config, rng *tensor.RNG) (*DiT, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dit config: %w", err)
	}
	D, C := cfg.Hidden, cfg.Cond
	m := &DiT{Config: cfg, Embed: NewEmbedding(rng, cfg.Vocab, D)}
	if !cfg.Causal {
		m.Sigma1 = NewLinear(rng, timeFeatures, C, true)
		m.Sigma2 = NewLinear(rng, C, C, true)
	}
	for i := 0; i < cfg.Blocks; i++ {
		b := &Block{
			Norm1: NewLayerNorm(D), Norm2: NewLayerNorm(D),
			QKV:  NewLinear(rng, D, 3*D, false),
			Out:  NewLinear(rng, D, D, false),
			MLP1: NewLinear(rng, D, cfg.MLPRatio*D, true),
			MLP2: NewLinear(rng, cfg.MLPRatio*D, D, true),
		}
		if !cfg.Causal {
			b.AdaLN = NewLinear(rng, C, 6*D, true)
			b.AdaLN.zero()
		}
		m.Blocks = append(m.Blocks, b)
	}
	m.NormFinal = NewLayerNorm(D)
	if !cfg.Causal {
		m.AdaFinal = NewLinear(rng, C, 2*D, true)
		m.AdaFinal.zero()
	}
	m.Output = NewLinear(rng, D, cfg.Vocab, true)
	m.Output.zero()
	m.rotary = tensor.NewRotary(cfg.Length, D/cfg.Heads, 10000)
	return m, nil
}

// Params lists every trainable tensor under the reference state-dict names
// (dit.md section 2), in PyTorch's registration order: the order of the
// reference DIT module's named_parameters(), and so of its EMA's
// shadow_params list (vocab_embed, sigma_map, then per block norm1,
// attn_qkv, attn_out, norm2, mlp.0, mlp.2, adaLN_modulation, then
// output_layer's norm_final, linear, adaLN_modulation).
func (m *DiT) Params() []Param {
	ps := []Param{{"vocab_embed.embedding", m.Embed.W}}
	if m.Sigma1 != nil {
		ps = append(ps, m.Sigma1.params("sigma_map.mlp.0")...)
		ps = append(ps, m.Sigma2.params("sigma_map.mlp.2")...)
	}
	for i, b := range m.Blocks {
		p := fmt.Sprintf("blocks.%d.", i)
		ps = append(ps, Param{p + "norm1.weight", b.Norm1.W})
		ps = append(ps, b.QKV.params(p+"attn_qkv")...)
		ps = append(ps, b.Out.params(p+"attn_out")...)
		ps = append(ps, Param{p + "norm2.weight", b.Norm2.W})
		ps = append(ps, b.MLP1.params(p+"mlp.0")...)
		ps = append(ps, b.MLP2.params(p+"mlp.2")...)
		if b.AdaLN != nil {
			ps = append(ps, b.AdaLN.params(p+"adaLN_modulation")...)
		}
	}
	ps = append(ps, Param{"output_layer.norm_final.weight", m.NormFinal.W})
	ps = append(ps, m.Output.params("output_layer.linear")...)
	if m.AdaFinal != nil {
		ps = append(ps, m.AdaFinal.params("output_layer.adaLN_modulation")...)
	}
	return ps
}

// NumParams returns the number of trainable scalars.
func (m *DiT) NumParams() int {
	n := 0
	for _, p := range m.Params() {
		n += p.Value.Len()
	}
	return n
}

// Input is one batch for the DiT: token ids, a soft input or a mixture.
type Input struct {
	Batch int           // B
	IDs   []int32       // B*L token ids in [0, K), row-major
	Soft  *autograd.Var // (B, L, K) weights w: the embedding is softmax(w) @ E
	Mix   *Mix          // the sparse soft input: N weighted ids per position
	Sigma []float32     // B noise levels, -log alpha_t (ignored when causal)
	RNG   *tensor.RNG   // non-nil selects training mode: dropout drawn from it
}

// Mix is a sparse soft input: N (id, weight) pairs per position, B*L*N of
// each in row-major order; a position's embedding is sum_j w_j E[id_j]. It
// stands for softmax(w) @ E when all but N entries of the softmax are
// negligible (the efficient curriculum, spec section 4).
type Mix struct {
	N       int
	IDs     []int32
	Weights []float32
}

// Forward returns the logits (B, L, K). Bad input (ids out of range, wrong
// lengths) is reported as an error.
func (m *DiT) Forward(tp *autograd.Tape, in Input) (*autograd.Var, error) {
	x, err := m.Features(tp, in)
	if err != nil {
		return nil, err
	}
	return m.Output.Forward(tp, x), nil
}

// Logits returns the logits of rows [lo, hi) of features (B, L, D) from
// Features, taken as B*L rows, without a tape: for inference that consumes
// logits a few rows at a time instead of holding all B*L*K of them.
func (m *DiT) Logits(features *tensor.Tensor, lo, hi int) *tensor.Tensor {
	x := features.Reshape(-1, m.Hidden).Rows(lo, hi)
	return tensor.Linear(x, m.Output.W.Value, m.Output.B.Value)
}

// Features returns what the output layer maps to logits: the final hidden
// states (B, L, D), normalised and modulated. Forward is its output layer.
func (m *DiT) Features(tp *autograd.Tape, in Input) (*autograd.Var, error) {
	B, K, D := in.Batch, m.Vocab, m.Hidden
	if B < 1 {
		return nil, fmt.Errorf("dit: batch size %d", B)
	}
	var h *autograd.Var
	given := 0
	for _, set := range []bool{in.IDs != nil, in.Soft != nil, in.Mix != nil} {
		if set {
			given++
		}
	}
	switch {
	case given > 1:
		return nil, errors.New("dit: more than one of token ids, soft input and mixture given")
	case in.IDs != nil:
		if len(in.IDs)%B != 0 {
			return nil, fmt.Errorf("dit: %d token ids do not split into %d sequences", len(in.IDs), B)
		}
		for i, id := range in.IDs {
			if id < 0 || int(id) >= K {
				return nil, fmt.Errorf("dit: token id %d at position %d outside the vocabulary [0,%d)", id, i, K)
			}
		}
		h = tp.Reshape(m.Embed.Lookup(tp, in.IDs), B, -1, D)
	case in.Soft != nil:
		s := in.Soft.Shape()
		if len(s) != 3 || s[0] != B || s[2] != K {
			return nil, fmt.Errorf("dit: soft input of shape %v, want [%d L %d]", s, B, K)
		}
		h = m.Embed.Soft(tp, in.Soft)
	case in.Mix != nil:
		if err := in.Mix.check(B, K); err != nil {
			return nil, err
		}
		h = tp.Reshape(m.Embed.Mix(tp, in.Mix), B, -1, D)
	default:
		return nil, errors.New("dit: no input")
	}
	if L := h.Shape()[1]; L < 1 || L > m.Length {
		return nil, fmt.Errorf("dit: sequence length %d outside [1,%d]", L, m.Length)
	}
	var c *autograd.Var
	if !m.Causal {
		if len(in.Sigma) != B {
			return nil, fmt.Errorf("dit: %d sigma values for a batch of %d", len(in.Sigma), B)
		}
		f := autograd.Const(tensor.Sinusoidal(in.Sigma, timeFeatures/2, 10000))
		c = tp.SiLU(m.Sigma2.Forward(tp, tp.SiLU(m.Sigma1.Forward(tp, f))))
	}
	for _, b := range m.Blocks {
		h = m.block(tp, b, h, c, in.RNG)
	}
	x := m.NormFinal.Forward(tp, h)
	if c != nil {
		mod := tp.Split(m.AdaFinal.Forward(tp, c), 1, D, D)
		x = modulate(tp, x, mod[0], mod[1])
	}
	return x, nil
}

// check reports a mixture that does not fit B sequences over K ids.
func (mx *Mix) check(B, K int) error {
	switch {
	case mx.N < 1:
		return fmt.Errorf("dit: mixture of %d ids per position", mx.N)
	case len(mx.Weights) != len(mx.IDs):
		return fmt.Errorf("dit: mixture of %d ids and %d weights", len(mx.IDs), len(mx.Weights))
	case len(mx.IDs)%(B*mx.N) != 0:
		return fmt.Errorf("dit: %d mixture ids do not split into %d sequences of %d per position", len(mx.IDs), B, mx.N)
	}
	for i, id := range mx.IDs {
		if id < 0 || int(id) >= K {
			return fmt.Errorf("dit: mixture id %d at %d outside the vocabulary [0,%d)", id, i, K)
		}
		if w := float64(mx.Weights[i]); math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("dit: mixture weight %v at %d", mx.Weights[i], i)
		}
	}
	return nil
}

// block runs one transformer block on h (B, L, D) with conditioning c (B, C).
func (m *DiT) block(tp *autograd.Tape, b *Block, h, c *autograd.Var, rng *tensor.RNG) *autograd.Var {
	D := m.Hidden
	var shift1, scale1, gate1, shift2, scale2, gate2 *autograd.Var
	if b.AdaLN != nil {
		mod := tp.Split(b.AdaLN.Forward(tp, c), 1, D, D, D, D, D, D)
		shift1, scale1, gate1, shift2, scale2, gate2 = mod[0], mod[1], mod[2], mod[3], mod[4], mod[5]
	}
	a := modulate(tp, b.Norm1.Forward(tp, h), shift1, scale1)
	qkv := tp.Rotary(b.QKV.Forward(tp, a), m.rotary, m.Heads)
	att := b.Out.Forward(tp, tp.Attention(qkv, m.Heads, m.Causal))
	h = residual(tp, h, m.dropout(tp, att, rng), gate1)
	x := modulate(tp, b.Norm2.Forward(tp, h), shift2, scale2)
	x = b.MLP2.Forward(tp, tp.GELU(b.MLP1.Forward(tp, x)))
	return residual(tp, h, m.dropout(tp, x, rng), gate2)
}

func (m *DiT) dropout(tp *autograd.Tape, x *autograd.Var, rng *tensor.RNG) *autograd.Var {
	if rng == nil || m.Dropout == 0 {
		return x
	}
	return tp.Dropout(x, float32(m.Dropout), rng)
}

// modulate returns x * (1 + scale) + shift, broadcast over the sequence;
// without adaLN (nil shift) it returns x.
func modulate(tp *autograd.Tape, x, shift, scale *autograd.Var) *autograd.Var {
	if shift == nil {
		return x
	}
	return tp.Modulate(x, shift, scale)
}

// residual returns h + gate * y (h + y without adaLN).
func residual(tp *autograd.Tape, h, y, gate *autograd.Var) *autograd.Var {
	if gate == nil {
		return tp.Add(h, y)
	}
	return tp.GatedAdd(h, y, gate)
}
