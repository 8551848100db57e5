package tensor

import (
	"fmt"
	"math"

	"github.com/duo-go/duo/internal/parallel"
)

// LayerNorm normalises each last-axis row of x to zero mean and unit
// variance and multiplies by w (no bias), as the DiT's LayerNorm. It also
// returns the per-row mean and 1/std needed by LayerNormBackward.
func LayerNorm(x, w *Tensor, eps float32) (y, mean, rstd *Tensor) {
	rows, n := lastDim(x)
	if w.Len() != n {
		panic(fmt.Sprintf("tensor: layernorm of %v with weight %v", x.shape, w.shape))
	}
	rk, ok := current.(RowKernels)
	if !ok {
		return layerNormComposed(x, w, eps)
	}
	c := call()
	xb, wb := c.in(x), c.in(w)
	var yb, mb, rb Buffer
	y, yb = c.newOut(x.shape...)
	mean, mb = c.newOut(rows)
	rstd, rb = c.newOut(rows)
	if rows > 0 {
		rk.LayerNorm(yb, mb, rb, xb, wb, eps)
	}
	c.done()
	return y, mean, rstd
}

func (cpu) LayerNorm(y, mean, rstd, x, w Buffer, eps float32) {
	yd, md, rd, xd, wd := f32(y), f32(mean), f32(rstd), f32(x), f32(w)
	n := len(wd)
	rowsOp(xd, n, func(r int, xr []float32) {
		mu := sumVec(xr) / float64(n)
		rs := 1 / math.Sqrt(sumSqDevVec(xr, mu)/float64(n)+float64(eps))
		m, s := float32(mu), float32(rs)
		md[r], rd[r] = m, s
		yr := yd[r*n : (r+1)*n]
		shiftScaleVec(yr, xr, m, s) // xhat
		mulVec(yr, yr, wd)
	})
}

// LayerNormBackward returns dx and accumulates dw += sum over rows of
// g * xhat (dw may be nil).
func LayerNormBackward(g, x, w, mean, rstd, dw *Tensor) (dx *Tensor) {
	rows, n := lastDim(x)
	if w.Len() != n || mean.Len() != rows || rstd.Len() != rows || (dw != nil && dw.Len() != n) {
		panic(fmt.Sprintf("tensor: layernorm backward of %v with weight %v", x.shape, w.shape))
	}
	mustSameShape("layernorm backward", g, x)
	rk, ok := current.(RowKernels)
	if !ok {
		return layerNormBackwardComposed(g, x, w, mean, rstd, dw)
	}
	c := call()
	gb, xb, wb, mb, rb := c.in(g), c.in(x), c.in(w), c.in(mean), c.in(rstd)
	var dxb Buffer
	dx, dxb = c.newOut(x.shape...)
	if rows > 0 {
		rk.LayerNormBackward(dxb, c.optInout(dw), gb, xb, wb, mb, rb)
	}
	c.done()
	return dx
}

func (cpu) LayerNormBackward(dx, dw, g, x, w, mean, rstd Buffer) {
	dxd, gd, xd, wd, md, rd := f32(dx), f32(g), f32(x), f32(w), f32(mean), f32(rstd)
	n := len(wd)
	rows := len(md)
	// dxhat = g*w; dx = rs * (dxhat - mean(dxhat) - xhat*mean(dxhat*xhat))
	parallel.For(rows, max(1, (1<<14)/max(n, 1)), func(lo, hi int) {
		xh := make([]float32, n)
		for r := lo; r < hi; r++ {
			xr, gr, dr := xd[r*n:(r+1)*n], gd[r*n:(r+1)*n], dxd[r*n:(r+1)*n]
			rs := rd[r]
			shiftScaleVec(xh, xr, md[r], rs)
			mulVec(dr, gr, wd) // dxhat
			a := float32(sumVec(dr)) / float32(n)
			b := dotVec(dr, xh) / float32(n)
			lnBackVec(dr, dr, xh, rs, a, b)
		}
	})
	if dw != nil {
		dwd := f32(dw)
		xh := make([]float32, n)
		for r := 0; r < rows; r++ {
			shiftScaleVec(xh, xd[r*n:(r+1)*n], md[r], rd[r])
			fmaVec(dwd, gd[r*n:(r+1)*n], xh, dwd)
		}
	}
}
