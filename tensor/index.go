package tensor

import (
	"fmt"
	"math"
)

// Embedding gathers rows of table (K, D) for each id: the result is
// (len(ids), D). Ids must lie in [0, K).
func Embedding(table *Tensor, ids []int32) *Tensor {
	k, d := table.shape[0], table.shape[1]
	for _, id := range ids {
		if id < 0 || int(id) >= k {
			panic(fmt.Sprintf("tensor: embedding id %d outside [0,%d)", id, k))
		}
	}
	c := call()
	tb, ib := c.in(table), c.ids(ids)
	out, ob := c.newOut(len(ids), d)
	if len(ids) > 0 && d > 0 {
		c.be.Embedding(ob, tb, ib, d)
	}
	c.done()
	return out
}

func (cpu) Embedding(out, table, ids Buffer, d int) {
	o, tb := f32(out), f32(table)
	for i, id := range i32(ids) {
		copy(o[i*d:(i+1)*d], tb[int(id)*d:(int(id)+1)*d])
	}
}

// EmbeddingBackward scatter-adds the rows of g into dtable at ids.
func EmbeddingBackward(g *Tensor, ids []int32, dtable *Tensor) {
	d := dtable.shape[1]
	if len(ids) == 0 || d == 0 {
		return
	}
	c := call()
	gb, ib := c.in(g), c.ids(ids)
	c.be.EmbeddingBackward(c.inout(dtable), gb, ib, d)
	c.done()
}

func (cpu) EmbeddingBackward(dtable, g, ids Buffer, d int) {
	dt, gd := f32(dtable), f32(g)
	for i, id := range i32(ids) {
		row := dt[int(id)*d : (int(id)+1)*d]
		addVec(row, row, gd[i*d:(i+1)*d])
	}
}

// GatherLast returns t[..., idx[r]] for every last-axis row r.
func GatherLast(t *Tensor, idx []int32) *Tensor {
	rows, n := lastDim(t)
	if len(idx) != rows {
		panic(fmt.Sprintf("tensor: gather %d indices from %v", len(idx), t.shape))
	}
	for _, j := range idx {
		if j < 0 || int(j) >= n {
			panic(fmt.Sprintf("tensor: gather index %d outside [0,%d)", j, n))
		}
	}
	c := call()
	tb, ib := c.in(t), c.ids(idx)
	out, ob := c.newOut(t.shape[:len(t.shape)-1]...)
	if rows > 0 {
		c.be.GatherLast(ob, tb, ib, n)
	}
	c.done()
	return out
}

func (cpu) GatherLast(out, t, idx Buffer, n int) {
	o, x := f32(out), f32(t)
	for r, j := range i32(idx) {
		o[r] = x[r*n+int(j)]
	}
}

// GatherLastBackward scatters g into a zero tensor of the given shape.
func GatherLastBackward(g *Tensor, idx []int32, shape []int) *Tensor {
	c := call()
	gb, ib := c.in(g), c.ids(idx)
	dx, db := c.newOut(shape...)
	if rows, n := lastDim(dx); rows > 0 {
		c.be.GatherLastBackward(db, gb, ib, n)
	}
	c.done()
	return dx
}

func (cpu) GatherLastBackward(dx, g, idx Buffer, n int) {
	d, gd := f32(dx), f32(g)
	clear(d)
	for r, j := range i32(idx) {
		d[r*n+int(j)] += gd[r]
	}
}

// Argmax returns the index of the largest element of each last-axis row
// (the first one on ties). With a backend it runs on the device and reads
// the indices back (a wait).
func Argmax(t *Tensor) []int32 {
	rows, n := lastDim(t)
	out := make([]int32, rows)
	if rows == 0 {
		return out
	}
	c := call()
	tb := c.in(t)
	ob := c.tempIDs(rows)
	c.be.Argmax(ob, tb, n)
	c.be.DownloadInt32(out, ob)
	c.done()
	return out
}

func (cpu) Argmax(out, t Buffer, n int) {
	o := i32(out)
	rowsOp(f32(t), n, func(r int, x []float32) {
		best := 0
		for j := 1; j < n; j++ {
			if x[j] > x[best] {
				best = j
			}
		}
		o[r] = int32(best)
	})
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
	n := shape[ax]
	c := call()
	out, ob := c.newOut(shape...)
	off := 0
	for _, t := range ts {
		w := t.shape[ax] * inner
		c.be.CopyRows(ob, c.in(t), outer, w, off, n*inner, 0, w)
		off += w
	}
	c.done()
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
	c := call()
	tb := c.in(t)
	off := 0
	for i, s := range sizes {
		shape := append([]int(nil), t.shape...)
		shape[ax] = s
		p, pb := c.newOut(shape...)
		w := s * inner
		c.be.CopyRows(pb, tb, outer, w, 0, w, off, n*inner)
		off += w
		out[i] = p
	}
	c.done()
	return out
}

// DropoutMask returns a mask with entries 0 (probability p) or 1/(1-p),
// drawn on the host.
func DropoutMask(rng *RNG, p float32, shape ...int) *Tensor {
	m := newHost(shape...)
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
//
// The few values are computed on the host.
func Sinusoidal(sigma []float32, half int, maxPeriod float64) *Tensor {
	out := newHost(len(sigma), 2*half)
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
