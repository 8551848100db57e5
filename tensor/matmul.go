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

// MatMul returns op(a) @ op(b), where op transposes the last two dimensions
// when the flag is set. a is (..., M, K) and b either has the same leading
// dimensions or is a single matrix shared by every batch entry.
func MatMul(a, b *Tensor, transA, transB bool) *Tensor {
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
	shape := append(append([]int(nil), a.shape[:len(a.shape)-2]...), m, n)
	if be := current; be != nil {
		c := dcall{be: be}
		ab, bb := c.in(a), c.in(b)
		out, ob := c.newOut(shape...)
		be.MatMul(ob, ab, bb, a.shape, b.shape, transA, transB, 0)
		c.done()
		return out
	}
	out := newHostFull(shape...)
	MatMulInto(out, a, b, transA, transB, 0)
	return out
}

// MatMulInto computes out = op(a) @ op(b) + beta*out with the same shape rules
// as MatMul; out must already have the result's shape.
func MatMulInto(out, a, b *Tensor, transA, transB bool, beta float32) {
	ba, ar, ac := matDims(a)
	bb, br, bc := matDims(b)
	m, k := ar, ac
	if transA {
		m, k = ac, ar
	}
	n := bc
	if transB {
		n = br
	}
	if out.n != ba*m*n {
		panic(fmt.Sprintf("tensor: matmul output %v for %v x %v", out.shape, a.shape, b.shape))
	}
	if be := current; be != nil {
		c := dcall{be: be}
		ab, bb := c.in(a), c.in(b)
		var ob Buffer
		if beta == 0 {
			ob = c.out(out)
		} else {
			ob = c.inout(out)
		}
		be.MatMul(ob, ab, bb, a.shape, b.shape, transA, transB, beta)
		c.done()
		return
	}
	hostRead(a, b)
	hostWrite(out)
	if bb == 1 && !transA {
		// One shared right operand: fold the batch into the rows of a.
		gemm.Sgemm(false, transB, ba*m, n, k, 1, a.data, ac, b.data, bc, beta, out.data, n)
		return
	}
	sa, sb := ar*ac, br*bc
	if bb == 1 {
		sb = 0
	}
	for i := 0; i < ba; i++ {
		gemm.Sgemm(transA, transB, m, n, k, 1, a.data[i*sa:], ac, b.data[i*sb:], bc, beta, out.data[i*m*n:], n)
	}
}

// Linear returns x @ w^T + bias for x (..., in), w (out, in) and an optional
// bias (out), as PyTorch's nn.Linear.
func Linear(x, w, bias *Tensor) *Tensor {
	rows, in := lastDim(x)
	if w.Rank() != 2 || w.shape[1] != in {
		panic(fmt.Sprintf("tensor: linear of %v with weight %v", x.shape, w.shape))
	}
	nout := w.shape[0]
	shape := append(append([]int(nil), x.shape[:len(x.shape)-1]...), nout)
	if bias != nil && bias.Len() != nout {
		panic(fmt.Sprintf("tensor: linear bias %v for weight %v", bias.shape, w.shape))
	}
	if be := current; be != nil {
		c := dcall{be: be}
		xb, wb, bb := c.in(x), c.in(w), c.opt(bias)
		y, yb := c.newOut(shape...)
		be.Linear(yb, xb, wb, bb, in)
		c.done()
		return y
	}
	hostRead(x, w, bias)
	y := newHostFull(shape...)
	if bias != nil {
		gemm.SgemmBias(false, true, rows, nout, in, x.data, in, w.data, in, bias.data, y.data, nout)
		return y
	}
	gemm.Sgemm(false, true, rows, nout, in, 1, x.data, in, w.data, in, 0, y.data, nout)
	return y
}

// LinearBackward returns dx = g @ w and accumulates dw += g^T @ x and
// db += column sums of g (db may be nil). dx is nil when wantDX is false.
func LinearBackward(g, x, w, dw, db *Tensor, wantDX bool) (dx *Tensor) {
	rows, in := lastDim(x)
	nout := w.shape[0]
	if be := current; be != nil {
		c := dcall{be: be}
		gb, xb, wb := c.in(g), c.in(x), c.in(w)
		var dxb Buffer
		if wantDX {
			dx, dxb = c.newOut(x.shape...)
		}
		be.LinearBackward(dxb, gb, xb, wb, c.optInout(dw), c.optInout(db), in)
		c.done()
		return dx
	}
	hostRead(g, x, w)
	hostWrite(dw)
	hostWrite(db)
	if wantDX {
		dx = newHostFull(x.shape...)
		gemm.Sgemm(false, false, rows, in, nout, 1, g.data, nout, w.data, in, 0, dx.data, in)
	}
	if dw != nil {
		gemm.Sgemm(true, false, nout, in, rows, 1, g.data, nout, x.data, in, 1, dw.data, in)
	}
	if db != nil {
		// Column sums, split by columns: each goroutine adds every row's
		// slice in row order, so the result does not depend on the split.
		parallel.For(nout, 64, func(lo, hi int) {
			d := db.data[lo:hi]
			for r := 0; r < rows; r++ {
				addVec(d, d, g.data[r*nout+lo:r*nout+hi])
			}
		})
	}
	return dx
}

// LinearGrads is LinearBackward into new tensors: dx (when wantDX), dw =
// g^T @ x (when wantDW) and db = the column sums of g (when wantDB). On the
// CPU dw is written by the product directly, not accumulated into zeros.
func LinearGrads(g, x, w *Tensor, wantDX, wantDW, wantDB bool) (dx, dw, db *Tensor) {
	if wantDB {
		db = New(w.shape[0])
	}
	if current != nil || !wantDW {
		if wantDW {
			dw = New(w.shape...)
		}
		return LinearBackward(g, x, w, dw, db, wantDX), dw, db
	}
	dx = LinearBackward(g, x, w, nil, db, wantDX) // checks the shapes
	rows, in := lastDim(x)
	nout := w.shape[0]
	dw = newHostFull(w.shape...)
	gemm.Sgemm(true, false, nout, in, rows, 1, g.data, nout, x.data, in, 0, dw.data, in)
	return dx, dw, db
}

// Transpose swaps the last two dimensions (a copy).
func Transpose(t *Tensor) *Tensor {
	batch, r, c := matDims(t)
	shape := append([]int(nil), t.shape...)
	shape[len(shape)-2], shape[len(shape)-1] = c, r
	if be := current; be != nil {
		dc := dcall{be: be}
		tb := dc.in(t)
		out, ob := dc.newOut(shape...)
		be.Transpose(ob, tb, batch, r, c)
		dc.done()
		return out
	}
	hostRead(t)
	out := newHost(shape...)
	for b := 0; b < batch; b++ {
		src, dst := t.data[b*r*c:(b+1)*r*c], out.data[b*r*c:(b+1)*r*c]
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				dst[j*r+i] = src[i*c+j]
			}
		}
	}
	return out
}
