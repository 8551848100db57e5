package tensor

import (
	"fmt"
	"math"
)

// Embedding gathers rows of table (K, D) for each id: the result is
// (len(ids), D). Ids must lie in [0, K).
func Embedding(table *Tensor, ids []int32) *Tensor {
	k, d := table.shape[0], table.shape[1]
	out := New(len(ids), d)
	for i, id := range ids {
		if id < 0 || int(id) >= k {
			panic(fmt.Sprintf("tensor: embedding id %d outside [0,%d)", id, k))
		}
		copy(out.data[i*d:(i+1)*d], table.data[int(id)*d:(int(id)+1)*d])
	}
	return out
}

// EmbeddingBackward scatter-adds the rows of g into dtable at ids.
func EmbeddingBackward(g *Tensor, ids []int32, dtable *Tensor) {
	d := dtable.shape[1]
	for i, id := range ids {
		axpy(1, g.data[i*d:(i+1)*d], dtable.data[int(id)*d:(int(id)+1)*d])
	}
}

// GatherLast returns t[..., idx[r]] for every last-axis row r.
func GatherLast(t *Tensor, idx []int32) *Tensor {
	rows, n := lastDim(t)
	if len(idx) != rows {
		panic(fmt.Sprintf("tensor: gather %d indices from %v", len(idx), t.shape))
	}
	out := New(t.shape[:len(t.shape)-1]...)
	for r, j := range idx {
		if j < 0 || int(j) >= n {
			panic(fmt.Sprintf("tensor: gather index %d outside [0,%d)", j, n))
		}
		out.data[r] = t.data[r*n+int(j)]
	}
	return out
}

// GatherLastBackward scatters g into a zero tensor of the given shape.
func GatherLastBackward(g *Tensor, idx []int32, shape []int) *Tensor {
	dx := New(shape...)
	_, n := lastDim(dx)
	for r, j := range idx {
		dx.data[r*n+int(j)] += g.data[r]
	}
	return dx
}

// Argmax returns the index of the largest element of each last-axis row
// (the first one on ties).
func Argmax(t *Tensor) []int32 {
	rows, n := lastDim(t)
	out := make([]int32, rows)
	rowsOp(t, func(r int, x []float32) {
		best := 0
		for j := 1; j < n; j++ {
			if x[j] > x[best] {
				best = j
			}
		}
		out[r] = int32(best)
	})
	return out
}

// Concat joins tensors along axis; all other dimensions must agree.
func Concat(axis int, ts ...*Tensor) *Tensor {
	outer, _, inner, ax := axisDims(ts[0], axis)
	shape := append([]int(nil), ts[0].shape...)
	shape[ax] = 0
	for _, t := range ts {
		if t.Rank() != len(shape) {
			panic(fmt.Sprintf("tensor: concat of %v and %v", ts[0].shape, t.shape))
		}
		for i, d := range t.shape {
			if i != ax && d != shape[i] {
				panic(fmt.Sprintf("tensor: concat of %v and %v on axis %d", ts[0].shape, t.shape, ax))
			}
		}
		shape[ax] += t.shape[ax]
	}
	out := New(shape...)
	n := shape[ax]
	off := 0
	for _, t := range ts {
		w := t.shape[ax] * inner
		for o := 0; o < outer; o++ {
			copy(out.data[(o*n)*inner+off:(o*n)*inner+off+w], t.data[o*w:(o+1)*w])
		}
		off += w
	}
	return out
}

// Split cuts t along axis into pieces of the given sizes, which must add up
// to the axis length.
func Split(t *Tensor, axis int, sizes ...int) []*Tensor {
	outer, n, inner, ax := axisDims(t, axis)
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != n {
		panic(fmt.Sprintf("tensor: split of %v axis %d into %v", t.shape, ax, sizes))
	}
	out := make([]*Tensor, len(sizes))
	off := 0
	for i, s := range sizes {
		shape := append([]int(nil), t.shape...)
		shape[ax] = s
		p := New(shape...)
		w := s * inner
		for o := 0; o < outer; o++ {
			copy(p.data[o*w:(o+1)*w], t.data[o*n*inner+off:o*n*inner+off+w])
		}
		off += w
		out[i] = p
	}
	return out
}

// DropoutMask returns a mask with entries 0 (probability p) or 1/(1-p).
func DropoutMask(rng *RNG, p float32, shape ...int) *Tensor {
	m := New(shape...)
	keep := 1 / (1 - p)
	for i := range m.data {
		if rng.Float64() >= float64(p) {
			m.data[i] = keep
		}
	}
	return m
}

// Sinusoidal returns the DiT's time features for each sigma: (len(sigma),
// 2*half) with [cos(sigma*f_j) | sin(sigma*f_j)], f_j = exp(-ln(maxPeriod) j/half).
func Sinusoidal(sigma []float32, half int, maxPeriod float64) *Tensor {
	out := New(len(sigma), 2*half)
	for b, s := range sigma {
		row := out.data[b*2*half : (b+1)*2*half]
		for j := 0; j < half; j++ {
			f := math.Exp(-math.Log(maxPeriod) * float64(j) / float64(half))
			a := float64(s) * f
			row[j] = float32(math.Cos(a))
			row[half+j] = float32(math.Sin(a))
		}
	}
	return out
}
