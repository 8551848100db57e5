// Package nn builds networks from autograd operations: layers, the DiT
// denoiser of Duo, optimisers, EMA, schedules and checkpoints.
package nn

import (
	"math"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/tensor"
)

// Param is a trainable tensor with its checkpoint name (the PyTorch
// state-dict key of the reference implementation).
type Param struct {
	Name string
	*autograd.Var
}

// Linear is y = x W^T + b with W of shape (out, in), as PyTorch's nn.Linear.
type Linear struct {
	W, B *autograd.Var // B is nil without bias
}

// NewLinear returns a Linear initialised as PyTorch does: weight and bias
// uniform in ±1/sqrt(in).
func NewLinear(rng *tensor.RNG, in, out int, bias bool) *Linear {
	bound := float32(1 / math.Sqrt(float64(in)))
	l := &Linear{W: autograd.Param(tensor.New(out, in))}
	rng.Uniform(l.W.Value, -bound, bound)
	if bias {
		l.B = autograd.Param(tensor.New(out))
		rng.Uniform(l.B.Value, -bound, bound)
	}
	return l
}

// Forward applies the layer to x (..., in).
func (l *Linear) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return tp.Linear(x, l.W, l.B)
}

// params lists the layer's tensors under prefix.weight and prefix.bias.
func (l *Linear) params(prefix string) []Param {
	ps := []Param{{prefix + ".weight", l.W}}
	if l.B != nil {
		ps = append(ps, Param{prefix + ".bias", l.B})
	}
	return ps
}

// zero sets the layer's weight and bias to zero (the DiT's adaLN and output
// initialisation).
func (l *Linear) zero() {
	l.W.Value.Fill(0)
	if l.B != nil {
		l.B.Value.Fill(0)
	}
}

// LayerNorm normalises the last axis and multiplies by a learned weight; it
// has no bias (as in the DiT).
type LayerNorm struct {
	W   *autograd.Var
	Eps float32
}

// NewLayerNorm returns a LayerNorm over dim features with weight 1.
func NewLayerNorm(dim int) *LayerNorm {
	return &LayerNorm{W: autograd.Param(tensor.Full(1, dim)), Eps: 1e-5}
}

// Forward normalises x.
func (n *LayerNorm) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return tp.LayerNorm(x, n.W, n.Eps)
}

// Embedding is a lookup table of K rows of dimension D.
type Embedding struct {
	W *autograd.Var
}

// NewEmbedding returns a K x D table initialised as the reference does
// (kaiming-uniform with a = sqrt(5): uniform in ±1/sqrt(D)).
func NewEmbedding(rng *tensor.RNG, k, d int) *Embedding {
	e := &Embedding{W: autograd.Param(tensor.New(k, d))}
	bound := float32(1 / math.Sqrt(float64(d)))
	rng.Uniform(e.W.Value, -bound, bound)
	return e
}

// Lookup returns the rows for ids, (len(ids), D).
func (e *Embedding) Lookup(tp *autograd.Tape, ids []int32) *autograd.Var {
	return tp.Embedding(e.W, ids)
}

// Mix returns, per position, the weighted sum of the rows the mixture
// names: the sparse form of Soft (the efficient curriculum's input).
func (e *Embedding) Mix(tp *autograd.Tape, mx *Mix) *autograd.Var {
	return tp.EmbeddingMix(e.W, mx.IDs, mx.Weights, mx.N)
}

// Soft returns softmax(w) @ W for w (..., K): a convex combination of rows
// per position (the curriculum's soft input).
func (e *Embedding) Soft(tp *autograd.Tape, w *autograd.Var) *autograd.Var {
	return tp.MatMul(tp.Softmax(w), e.W, false, false)
}
