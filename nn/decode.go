package nn

import (
	"errors"
	"fmt"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/tensor"
)

// Decoder runs a causal (AR) DiT one position at a time over B sequences,
// keeping each block's keys and values (a KV cache), so that decoding n
// tokens costs n single-position passes instead of n passes over growing
// prefixes. Inference only; CPU kernels.
type Decoder struct {
	m     *DiT
	B     int
	cache []*tensor.KVCache // one per block
}

// NewDecoder returns a decoder of B sequences of at most the model's length.
func (m *DiT) NewDecoder(B int) (*Decoder, error) {
	if !m.Causal {
		return nil, errors.New("dit: incremental decoding needs a causal (AR) model")
	}
	if B < 1 {
		return nil, fmt.Errorf("dit: batch size %d", B)
	}
	d := &Decoder{m: m, B: B}
	for range m.Blocks {
		d.cache = append(d.cache, tensor.NewKVCache(B, m.Length, m.Heads, m.Hidden/m.Heads))
	}
	return d, nil
}

// Len returns the number of positions decoded so far.
func (d *Decoder) Len() int { return d.cache[0].N }

// Step feeds the token ids of the next position (one per sequence) and
// returns the logits of the position after it, (B, K): what Forward's
// logits at that position would be for the whole prefix.
func (d *Decoder) Step(ids []int32) (*tensor.Tensor, error) {
	m := d.m
	switch {
	case len(ids) != d.B:
		return nil, fmt.Errorf("dit: %d ids for %d sequences", len(ids), d.B)
	case d.Len() >= m.Length:
		return nil, fmt.Errorf("dit: the decoder is full (%d positions)", m.Length)
	}
	for i, id := range ids {
		if id < 0 || int(id) >= m.Vocab {
			return nil, fmt.Errorf("dit: token id %d of sequence %d outside the vocabulary [0,%d)", id, i, m.Vocab)
		}
	}
	pos := d.Len()
	h := m.Embed.Lookup(nil, ids) // (B, D)
	for i, b := range m.Blocks {
		qkv := m.rotary.ApplyAt(b.QKV.Forward(nil, b.Norm1.Forward(nil, h)).Value, m.Heads, pos)
		h = residual(nil, h, b.Out.Forward(nil, autograd.Const(d.cache[i].Attend(qkv))), nil)
		x := b.MLP2.Forward(nil, (*autograd.Tape)(nil).GELU(b.MLP1.Forward(nil, b.Norm2.Forward(nil, h))))
		h = residual(nil, h, x, nil)
	}
	return m.Output.Forward(nil, m.NormFinal.Forward(nil, h)).Value, nil
}
