package tensor

import (
	"fmt"
	"math"

	"github.com/duo-go/duo/internal/parallel"
)

// EmbeddingMixer is the optional fused weighted embedding of a backend. A
// backend without it runs EmbeddingMix as Embedding, Mul and Sum.
type EmbeddingMixer interface {
	// EmbeddingMix writes out[p] = sum_j w[p*n+j] * table[ids[p*n+j]].
	EmbeddingMix(out, table, ids, w Buffer, n, dim int)
	// EmbeddingMixBackward adds w[p*n+j] * g[p] to dtable[ids[p*n+j]].
	EmbeddingMixBackward(dtable, g, ids, w Buffer, n, dim int)
}

// EmbeddingMix returns the weighted sums of n table rows per position: row p
// of the (len(ids)/n, D) result is sum_j w[p*n+j] * table[ids[p*n+j]]. It is
// the sparse form of softmax(logits) @ table when only n entries per row
// carry weight (the efficient curriculum's input, spec section 4).
func EmbeddingMix(table *Tensor, ids []int32, w []float32, n int) *Tensor {
	k, d := table.shape[0], table.shape[1]
	checkMix(ids, w, n, k)
	P := len(ids) / n
	mx, ok := current.(EmbeddingMixer)
	if !ok {
		return Sum(Mul(Embedding(table, ids).Reshape(P, n, d), From(w, P, n, 1)), 1, false)
	}
	c := call()
	tb, ib, wb := c.in(table), c.ids(ids), c.in(From(w, len(w)))
	out, ob := c.newOut(P, d)
	if P > 0 && d > 0 {
		mx.EmbeddingMix(ob, tb, ib, wb, n, d)
	}
	c.done()
	return out
}

func (cpu) EmbeddingMix(out, table, ids, w Buffer, n, d int) {
	o, tb, id, wd := f32(out), f32(table), i32(ids), f32(w)
	clear(o)
	parallel.For(len(o)/max(d, 1), max(1, 4096/(n*d+1)), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			row := o[p*d : (p+1)*d]
			for j := p * n; j < (p+1)*n; j++ {
				r := int(id[j])
				axpyVec(wd[j], tb[r*d:(r+1)*d], row)
			}
		}
	})
}

// EmbeddingMixBackward adds to dtable the gradient of EmbeddingMix: w[p*n+j]
// times row p of g at row ids[p*n+j].
func EmbeddingMixBackward(g *Tensor, ids []int32, w []float32, n int, dtable *Tensor) {
	k, d := dtable.shape[0], dtable.shape[1]
	checkMix(ids, w, n, k)
	P := len(ids) / n
	if g.Len() != P*d {
		panic(fmt.Sprintf("tensor: embedding mix gradient %v for %d positions of width %d", g.shape, P, d))
	}
	if P == 0 || d == 0 {
		return
	}
	mx, ok := current.(EmbeddingMixer)
	if !ok {
		EmbeddingBackward(Mul(g.Reshape(P, 1, d), From(w, P, n, 1)).Reshape(P*n, d), ids, dtable)
		return
	}
	c := call()
	gb, ib, wb := c.in(g), c.ids(ids), c.in(From(w, len(w)))
	mx.EmbeddingMixBackward(c.inout(dtable), gb, ib, wb, n, d)
	c.done()
}

func (cpu) EmbeddingMixBackward(dtable, g, ids, w Buffer, n, d int) {
	dt, gd, id, wd := f32(dtable), f32(g), i32(ids), f32(w)
	for p := 0; p < len(gd)/d; p++ {
		gp := gd[p*d : (p+1)*d]
		for j := p * n; j < (p+1)*n; j++ {
			r := int(id[j])
			axpyVec(wd[j], gp, dt[r*d:(r+1)*d])
		}
	}
}

// checkMix panics on ids and weights that do not form whole groups of n, on
// ids outside [0, k) and on non-finite weights.
func checkMix(ids []int32, w []float32, n, k int) {
	if n < 1 || len(ids)%n != 0 || len(w) != len(ids) {
		panic(fmt.Sprintf("tensor: embedding mix of %d ids and %d weights in groups of %d", len(ids), len(w), n))
	}
	for i, id := range ids {
		if id < 0 || int(id) >= k {
			panic(fmt.Sprintf("tensor: embedding id %d outside [0,%d)", id, k))
		}
		if v := float64(w[i]); math.IsNaN(v) || math.IsInf(v, 0) {
			panic(fmt.Sprintf("tensor: embedding mix weight %v", w[i]))
		}
	}
}
