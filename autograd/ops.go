package autograd

import (
	"github.com/duo-go/duo/tensor"
)

// vars is shorthand for an input list.
func vars(v ...*Var) []*Var { return v }

// grads is shorthand for a gradient list.
func grads(g ...*tensor.Tensor) []*tensor.Tensor { return g }

// MatMul returns op(a) @ op(b) (see tensor.MatMul).
func (t *Tape) MatMul(a, b *Var, transA, transB bool) *Var {
	y := tensor.MatMul(a.Value, b.Value, transA, transB)
	return t.Op(y, vars(a, b), func(g *tensor.Tensor) []*tensor.Tensor {
		var da, db *tensor.Tensor
		if a.grad {
			// C = A B: dA = g B^T; with A stored transposed, dA^T = B g^T.
			switch {
			case transA && b.Value.Rank() < a.Value.Rank():
				da = tensor.Transpose(tensor.MatMul(g, b.Value, false, !transB))
			case transA:
				da = tensor.MatMul(b.Value, g, transB, true)
			default:
				da = tensor.MatMul(g, b.Value, false, !transB)
			}
		}
		if b.grad {
			av, gv, ta := a.Value, g, transA
			if b.Value.Rank() == 2 && a.Value.Rank() > 2 {
				// b is shared by the batch: stack op(a) and g into rows.
				if ta {
					av, ta = tensor.Transpose(av), false
				}
				av = av.Reshape(-1, av.Dim(-1))
				gv = gv.Reshape(-1, gv.Dim(-1))
			}
			if transB {
				db = tensor.MatMul(gv, av, true, ta)
			} else {
				db = tensor.MatMul(av, gv, !ta, false)
			}
		}
		return grads(da, db)
	})
}

// Linear returns x @ w^T + b (b may be nil), as PyTorch's nn.Linear.
func (t *Tape) Linear(x, w, b *Var) *Var {
	var bv *tensor.Tensor
	in := vars(x, w)
	if b != nil {
		bv = b.Value
		in = append(in, b)
	}
	y := tensor.Linear(x.Value, w.Value, bv)
	return t.Op(y, in, func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.LinearGrads(g, x.Value, w.Value, x.grad, w.grad, b != nil && b.grad))
	})
}

// Add returns a + b with broadcasting.
func (t *Tape) Add(a, b *Var) *Var {
	return t.Op(tensor.Add(a.Value, b.Value), vars(a, b), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.ReduceTo(g, a.Value.Shape()), tensor.ReduceTo(g, b.Value.Shape()))
	})
}

// Sub returns a - b with broadcasting.
func (t *Tape) Sub(a, b *Var) *Var {
	return t.Op(tensor.Sub(a.Value, b.Value), vars(a, b), func(g *tensor.Tensor) []*tensor.Tensor {
		var db *tensor.Tensor
		if b.grad {
			db = tensor.Scale(tensor.ReduceTo(g, b.Value.Shape()), -1)
		}
		return grads(tensor.ReduceTo(g, a.Value.Shape()), db)
	})
}

// Mul returns a * b with broadcasting.
func (t *Tape) Mul(a, b *Var) *Var {
	return t.Op(tensor.Mul(a.Value, b.Value), vars(a, b), func(g *tensor.Tensor) []*tensor.Tensor {
		var da, db *tensor.Tensor
		if a.grad {
			da = tensor.ReduceTo(tensor.Mul(g, b.Value), a.Value.Shape())
		}
		if b.grad {
			db = tensor.ReduceTo(tensor.Mul(g, a.Value), b.Value.Shape())
		}
		return grads(da, db)
	})
}

// Div returns a / b with broadcasting.
func (t *Tape) Div(a, b *Var) *Var {
	y := tensor.Div(a.Value, b.Value)
	return t.Op(y, vars(a, b), func(g *tensor.Tensor) []*tensor.Tensor {
		var da, db *tensor.Tensor
		if a.grad {
			da = tensor.ReduceTo(tensor.Div(g, b.Value), a.Value.Shape())
		}
		if b.grad { // d(a/b)/db = -y/b
			db = tensor.ReduceTo(tensor.Scale(tensor.Div(tensor.Mul(g, y), b.Value), -1), b.Value.Shape())
		}
		return grads(da, db)
	})
}

// Scale returns s * a.
func (t *Tape) Scale(a *Var, s float32) *Var {
	return t.Op(tensor.Scale(a.Value, s), vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.Scale(g, s))
	})
}

// AddScalar returns a + s.
func (t *Tape) AddScalar(a *Var, s float32) *Var {
	y := tensor.AddScalar(a.Value, s)
	return t.Op(y, vars(a), func(g *tensor.Tensor) []*tensor.Tensor { return grads(g) })
}

// Exp returns e^a.
func (t *Tape) Exp(a *Var) *Var {
	y := tensor.Exp(a.Value)
	return t.Op(y, vars(a), func(g *tensor.Tensor) []*tensor.Tensor { return grads(tensor.Mul(g, y)) })
}

// Log returns ln a.
func (t *Tape) Log(a *Var) *Var {
	return t.Op(tensor.Log(a.Value), vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.Div(g, a.Value))
	})
}

// Sigmoid returns 1/(1+e^-a).
func (t *Tape) Sigmoid(a *Var) *Var {
	y := tensor.Sigmoid(a.Value)
	return t.Op(y, vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.SigmoidBackward(g, y))
	})
}

// SiLU returns a * sigmoid(a).
func (t *Tape) SiLU(a *Var) *Var {
	return t.Op(tensor.SiLU(a.Value), vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.SiLUBackward(g, a.Value))
	})
}

// GELU returns the tanh-approximated GELU.
func (t *Tape) GELU(a *Var) *Var {
	return t.Op(tensor.GELU(a.Value), vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.GELUBackward(g, a.Value))
	})
}

// Sum sums over axis.
func (t *Tape) Sum(a *Var, axis int, keep bool) *Var {
	return t.Op(tensor.Sum(a.Value, axis, keep), vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.ExpandAxis(g, a.Value, axis, 1))
	})
}

// Mean averages over axis.
func (t *Tape) Mean(a *Var, axis int, keep bool) *Var {
	n := float32(a.Value.Dim(axis))
	return t.Op(tensor.Mean(a.Value, axis, keep), vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.ExpandAxis(g, a.Value, axis, 1/n))
	})
}

// Max takes the maximum over axis; the gradient goes to the first maximum.
func (t *Tape) Max(a *Var, axis int, keep bool) *Var {
	return t.Op(tensor.Max(a.Value, axis, keep), vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.MaxBackward(g, a.Value, axis))
	})
}

// LogSumExp computes log(sum(exp(a))) over axis.
func (t *Tape) LogSumExp(a *Var, axis int, keep bool) *Var {
	y := tensor.LogSumExp(a.Value, axis, keep)
	return t.Op(y, vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		// d/da = softmax along axis times g.
		p := tensor.Exp(tensor.Sub(a.Value, tensor.ExpandAxis(y, a.Value, axis, 1)))
		return grads(tensor.Mul(p, tensor.ExpandAxis(g, a.Value, axis, 1)))
	})
}

// SumAll returns the sum of every element as a scalar.
func (t *Tape) SumAll(a *Var) *Var {
	y := tensor.Scalar(float32(tensor.SumAll(a.Value)))
	return t.Op(y, vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.Full(g.Item(), a.Value.Shape()...))
	})
}

// MeanAll returns the mean of every element as a scalar.
func (t *Tape) MeanAll(a *Var) *Var {
	n := float64(a.Value.Len())
	y := tensor.Scalar(float32(tensor.SumAll(a.Value) / n))
	return t.Op(y, vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.Full(g.Item()/float32(n), a.Value.Shape()...))
	})
}

// Softmax returns softmax over the last axis.
func (t *Tape) Softmax(a *Var) *Var {
	y := tensor.Softmax(a.Value)
	return t.Op(y, vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.SoftmaxBackward(g, y))
	})
}

// LogSoftmax returns log_softmax over the last axis.
func (t *Tape) LogSoftmax(a *Var) *Var {
	y := tensor.LogSoftmax(a.Value)
	return t.Op(y, vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.LogSoftmaxBackward(g, y))
	})
}

// CrossEntropy returns the mean next-token loss -log softmax(logits)[target]
// over rows whose target is not negative.
func (t *Tape) CrossEntropy(logits *Var, targets []int32) *Var {
	stats := tensor.CrossEntropyStats(logits.Value, targets) // [loss, count]
	loss := stats.Rows(0, 1).Reshape()
	return t.Op(loss, vars(logits), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.CrossEntropyGrad(logits.Value, targets, stats, g))
	})
}

// LayerNorm normalises the last axis and scales by w (no bias).
func (t *Tape) LayerNorm(x, w *Var, eps float32) *Var {
	y, mean, rstd := tensor.LayerNorm(x.Value, w.Value, eps)
	return t.Op(y, vars(x, w), func(g *tensor.Tensor) []*tensor.Tensor {
		var dw *tensor.Tensor
		if w.grad {
			dw = tensor.New(w.Value.Shape()...)
		}
		return grads(tensor.LayerNormBackward(g, x.Value, w.Value, mean, rstd, dw), dw)
	})
}

// Embedding gathers rows of table for ids; the result is (len(ids), D).
func (t *Tape) Embedding(table *Var, ids []int32) *Var {
	return t.Op(tensor.Embedding(table.Value, ids), vars(table), func(g *tensor.Tensor) []*tensor.Tensor {
		d := tensor.New(table.Value.Shape()...)
		tensor.EmbeddingBackward(g, ids, d)
		return grads(d)
	})
}

// EmbeddingMix returns the weighted sums of n rows of table per position
// (tensor.EmbeddingMix); the weights w are constants.
func (t *Tape) EmbeddingMix(table *Var, ids []int32, w []float32, n int) *Var {
	return t.Op(tensor.EmbeddingMix(table.Value, ids, w, n), vars(table), func(g *tensor.Tensor) []*tensor.Tensor {
		d := tensor.New(table.Value.Shape()...)
		tensor.EmbeddingMixBackward(g, ids, w, n, d)
		return grads(d)
	})
}

// GatherLast returns a[..., idx[r]] for every last-axis row r.
func (t *Tape) GatherLast(a *Var, idx []int32) *Var {
	return t.Op(tensor.GatherLast(a.Value, idx), vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.GatherLastBackward(g, idx, a.Value.Shape()))
	})
}

// Concat joins Vars along axis.
func (t *Tape) Concat(axis int, xs ...*Var) *Var {
	vals := make([]*tensor.Tensor, len(xs))
	sizes := make([]int, len(xs))
	for i, x := range xs {
		vals[i] = x.Value
		sizes[i] = x.Value.Dim(axis)
	}
	return t.Op(tensor.Concat(axis, vals...), xs, func(g *tensor.Tensor) []*tensor.Tensor {
		return tensor.Split(g, axis, sizes...)
	})
}

// Split cuts a along axis into pieces of the given sizes.
func (t *Tape) Split(a *Var, axis int, sizes ...int) []*Var {
	parts := tensor.Split(a.Value, axis, sizes...)
	out := make([]*Var, len(parts))
	for i, p := range parts {
		i := i
		out[i] = t.Op(p, vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
			zs := make([]*tensor.Tensor, len(parts))
			for j, q := range parts {
				if j == i {
					zs[j] = g
				} else {
					zs[j] = tensor.New(q.Shape()...)
				}
			}
			return grads(tensor.Concat(axis, zs...))
		})
	}
	return out
}

// Reshape returns a view of a with a new shape.
func (t *Tape) Reshape(a *Var, shape ...int) *Var {
	return t.Op(a.Value.Reshape(shape...), vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(g.Reshape(a.Value.Shape()...))
	})
}

// Dropout zeroes elements with probability p and scales the rest by
// 1/(1-p). With p == 0 it returns a unchanged.
func (t *Tape) Dropout(a *Var, p float32, rng *tensor.RNG) *Var {
	if p == 0 {
		return a
	}
	mask := tensor.DropoutMask(rng, p, a.Value.Shape()...)
	return t.Op(tensor.Mul(a.Value, mask), vars(a), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.Mul(g, mask))
	})
}

// Rotary applies rotary position embeddings to the q and k parts of a
// packed qkv tensor (B, L, 3*H*d).
func (t *Tape) Rotary(qkv *Var, r *tensor.Rotary, heads int) *Var {
	return t.Op(r.Apply(qkv.Value, heads, false), vars(qkv), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(r.Apply(g, heads, true))
	})
}

// Attention is fused multi-head attention over a packed qkv tensor
// (B, L, 3*H*d); the result is (B, L, H*d).
func (t *Tape) Attention(qkv *Var, heads int, causal bool) *Var {
	if !t.Recording() || !qkv.grad {
		y, _ := tensor.Attention(qkv.Value, heads, causal)
		return t.Op(y, vars(qkv), nil)
	}
	y, lse, probs := tensor.AttentionForTraining(qkv.Value, heads, causal)
	return t.Op(y, vars(qkv), func(g *tensor.Tensor) []*tensor.Tensor {
		dqkv := tensor.AttentionBackward(g, qkv.Value, y, lse, probs, heads, causal)
		if probs != nil {
			tensor.Recycle(probs) // read by this closure only
		}
		return grads(dqkv)
	})
}

// Modulate returns x * (1 + scale) + shift for x (B, L, D) and per-sequence
// shift and scale (B, D): the DiT's adaLN modulation.
func (t *Tape) Modulate(x, shift, scale *Var) *Var {
	return t.Op(tensor.Modulate(x.Value, shift.Value, scale.Value), vars(x, shift, scale), func(g *tensor.Tensor) []*tensor.Tensor {
		dx, dshift, dscale := tensor.ModulateBackward(g, x.Value, scale.Value)
		return grads(dx, dshift, dscale)
	})
}

// GatedAdd returns h + gate * y for h, y (B, L, D) and a per-sequence gate
// (B, D): the DiT's gated residual.
func (t *Tape) GatedAdd(h, y, gate *Var) *Var {
	return t.Op(tensor.GatedAdd(h.Value, y.Value, gate.Value), vars(h, y, gate), func(g *tensor.Tensor) []*tensor.Tensor {
		dy, dgate := tensor.GatedAddBackward(g, y.Value, gate.Value)
		return grads(g, dy, dgate)
	})
}
