package tensor

import (
	"fmt"

	"github.com/duo-go/duo/internal/gemm"
	"github.com/duo-go/duo/internal/parallel"
)

// matDims returns the (rows, cols) of the last two dimensions and the batch
// size (product of the leading dimensions).
func matDims(t *Tensor) (batch, r, c int) {
	if len(t.shape) < 2 {
		panic(fmt.Sprintf("tensor: matmul operand of shape %v is not a matrix", t.shape))
	}
	r, c = t.shape[len(t.shape)-2], t.shape[len(t.shape)-1]
	batch = 1
	for _, d := range t.shape[:len(t.shape)-2] {
		batch *= d
	}
	return batch, r, c
}

// matShape checks op(a) @ op(b) and returns the result's shape.
func matShape(a, b *Tensor, transA, transB bool) []int {
	ba, ar, ac := matDims(a)
	bb, br, bc := matDims(b)
	m, k := ar, ac
	if transA {
		m, k = ac, ar
	}
	kb, n := br, bc
	if transB {
		kb, n = bc, br
	}
	if k != kb || (bb != 1 && bb != ba) || (bb != 1 && !equalInts(a.shape[:len(a.shape)-2], b.shape[:len(b.shape)-2])) {
		panic(fmt.Sprintf("tensor: matmul of %v (trans %v) and %v (trans %v)", a.shape, transA, b.shape, transB))
	}
	return append(append([]int(nil), a.shape[:len(a.shape)-2]...), m, n)
}

// MatMul returns op(a) @ op(b), where op transposes the last two dimensions
// when the flag is set. a is (..., M, K) and b either has the same leading
// dimensions or is a single matrix shared by every batch entry.
func MatMul(a, b *Tensor, transA, transB bool) *Tensor {
	shape := matShape(a, b, transA, transB)
	c := call()
	ab, bb := c.in(a), c.in(b)
	out, ob := c.newOut(shape...)
	c.be.MatMul(ob, ab, bb, a.shape, b.shape, transA, transB, 0)
	c.done()
	return out
}

// MatMulInto computes out = op(a) @ op(b) + beta*out with the same shape rules
// as MatMul; out must already have the result's shape.
func MatMulInto(out, a, b *Tensor, transA, transB bool, beta float32) {
	if shape := matShape(a, b, transA, transB); out.n != checkShape(shape) {
		panic(fmt.Sprintf("tensor: matmul output %v for %v x %v", out.shape, a.shape, b.shape))
	}
	c := call()
	ab, bb := c.in(a), c.in(b)
	var ob Buffer
	if beta == 0 {
		ob = c.out(out)
	} else {
		ob = c.inout(out)
	}
	c.be.MatMul(ob, ab, bb, a.shape, b.shape, transA, transB, beta)
	c.done()
}

func (cpu) MatMul(out, a, b Buffer, aShape, bShape []int, transA, transB bool, beta float32) {
	o, x, y := f32(out), f32(a), f32(b)
	ar, ac := aShape[len(aShape)-2], aShape[len(aShape)-1]
	br, bc := bShape[len(bShape)-2], bShape[len(bShape)-1]
	ba, bb := checkShape(aShape[:len(aShape)-2]), checkShape(bShape[:len(bShape)-2])
	m, k := ar, ac
	if transA {
		m, k = ac, ar
	}
	n := bc
	if transB {
		n = br
	}
	if bb == 1 && !transA {
		// One shared right operand: fold the batch into the rows of a.
		gemm.Sgemm(false, transB, ba*m, n, k, 1, x, ac, y, bc, beta, o, n)
		return
	}
	sa, sb := ar*ac, br*bc
	if bb == 1 {
		sb = 0
	}
	for i := 0; i < ba; i++ {
		gemm.Sgemm(transA, transB, m, n, k, 1, x[i*sa:], ac, y[i*sb:], bc, beta, o[i*m*n:], n)
	}
}

// Linear returns x @ w^T + bias for x (..., in), w (out, in) and an optional
// bias (out), as PyTorch's nn.Linear.
func Linear(x, w, bias *Tensor) *Tensor {
	_, in := lastDim(x)
	if w.Rank() != 2 || w.shape[1] != in {
		panic(fmt.Sprintf("tensor: linear of %v with weight %v", x.shape, w.shape))
	}
	nout := w.shape[0]
	shape := append(append([]int(nil), x.shape[:len(x.shape)-1]...), nout)
	if bias != nil && bias.Len() != nout {
		panic(fmt.Sprintf("tensor: linear bias %v for weight %v", bias.shape, w.shape))
	}
	lk, ok := current.(LinearKernels)
	if !ok {
		return linearComposed(x, w, bias)
	}
	c := call()
	xb, wb, bb := c.in(x), c.in(w), c.opt(bias)
	y, yb := c.newOut(shape...)
	lk.Linear(yb, xb, wb, bb, in)
	c.done()
	return y
}

func (cpu) Linear(y, x, w, bias Buffer, in int) {
	yd, xd, wd := f32(y), f32(x), f32(w)
	if in == 0 {
		linearEmpty(yd, f32(bias))
		return
	}
	nout, rows := len(wd)/in, len(xd)/in
	if bias != nil {
		gemm.SgemmBias(false, true, rows, nout, in, xd, in, wd, in, f32(bias), yd, nout)
		return
	}
	gemm.Sgemm(false, true, rows, nout, in, 1, xd, in, wd, in, 0, yd, nout)
}

// linearEmpty is Linear with no input features: y is the bias in every row
// (zero without one).
func linearEmpty(y, bias []float32) {
	if len(bias) == 0 {
		clear(y)
		return
	}
	for r := 0; r < len(y); r += len(bias) {
		copy(y[r:], bias)
	}
}

// LinearBackward returns dx = g @ w and accumulates dw += g^T @ x and
// db += column sums of g (dw and db may be nil). dx is nil when wantDX is
// false.
func LinearBackward(g, x, w, dw, db *Tensor, wantDX bool) (dx *Tensor) {
	_, in := lastDim(x)
	if w.Rank() != 2 || w.shape[1] != in || g.n != x.n/max(in, 1)*w.shape[0] {
		panic(fmt.Sprintf("tensor: linear backward of %v and %v with weight %v", g.shape, x.shape, w.shape))
	}
	lk, ok := current.(LinearKernels)
	if !ok {
		return linearBackwardComposed(g, x, w, dw, db, wantDX)
	}
	c := call()
	gb, xb, wb := c.in(g), c.in(x), c.in(w)
	var dxb Buffer
	if wantDX {
		dx, dxb = c.newOut(x.shape...)
	}
	lk.LinearBackward(dxb, gb, xb, wb, c.optInout(dw), c.optInout(db), in)
	c.done()
	return dx
}

func (cpu) LinearBackward(dx, g, x, w, dw, db Buffer, in int) {
	gd, xd, wd := f32(g), f32(x), f32(w)
	if in == 0 { // no weights: dx and dw are empty
		if db != nil && len(f32(db)) > 0 {
			nout := len(f32(db))
			for r := 0; r < len(gd)/nout; r++ {
				addVec(f32(db), f32(db), gd[r*nout:(r+1)*nout])
			}
		}
		return
	}
	nout, rows := len(wd)/in, len(xd)/in
	if dx != nil {
		gemm.Sgemm(false, false, rows, in, nout, 1, gd, nout, wd, in, 0, f32(dx), in)
	}
	if dw != nil {
		gemm.Sgemm(true, false, nout, in, rows, 1, gd, nout, xd, in, 1, f32(dw), in)
	}
	if db != nil {
		// Column sums, split by columns: each goroutine adds every row's
		// slice in row order, so the result does not depend on the split.
		dbd := f32(db)
		parallel.For(nout, 64, func(lo, hi int) {
			d := dbd[lo:hi]
			for r := 0; r < rows; r++ {
				addVec(d, d, gd[r*nout+lo:r*nout+hi])
			}
		})
	}
}

// LinearGrads is LinearBackward into new tensors: dx (when wantDX), dw =
// g^T @ x (when wantDW) and db = the column sums of g (when wantDB). dw is
// written by one product, not accumulated into zeros.
func LinearGrads(g, x, w *Tensor, wantDX, wantDW, wantDB bool) (dx, dw, db *Tensor) {
	if wantDB {
		db = New(w.shape[0])
	}
	dx = LinearBackward(g, x, w, nil, db, wantDX) // checks the shapes
	if wantDW {
		rows, in := lastDim(x)
		dw = MatMul(g.Reshape(rows, w.shape[0]), x.Reshape(rows, in), true, false)
	}
	return dx, dw, db
}

// Transpose swaps the last two dimensions (a copy).
func Transpose(t *Tensor) *Tensor {
	batch, r, c := matDims(t)
	shape := append([]int(nil), t.shape...)
	shape[len(shape)-2], shape[len(shape)-1] = c, r
	dc := call()
	tb := dc.in(t)
	out, ob := dc.newOut(shape...)
	dc.be.Transpose(ob, tb, batch, r, c)
	dc.done()
	return out
}

func (cpu) Transpose(out, t Buffer, batch, r, c int) {
	o, x := f32(out), f32(t)
	for b := 0; b < batch; b++ {
		src, dst := x[b*r*c:(b+1)*r*c], o[b*r*c:(b+1)*r*c]
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				dst[j*r+i] = src[i*c+j]
			}
		}
	}
}
