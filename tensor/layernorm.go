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
	if be := current; be != nil {
		c := dcall{be: be}
		xb, wb := c.in(x), c.in(w)
		var yb, mb, rb Buffer
		y, yb = c.newOut(x.shape...)
		mean, mb = c.newOut(rows)
		rstd, rb = c.newOut(rows)
		if rows > 0 {
			be.LayerNorm(yb, mb, rb, xb, wb, eps)
		}
		c.done()
		return y, mean, rstd
	}
	hostRead(x, w)
	y = newHostFull(x.shape...)
	mean, rstd = newHost(rows), newHost(rows)
	rowsOp(x, func(r int, xr []float32) {
		mu := sumVec(xr) / float64(n)
		rs := 1 / math.Sqrt(sumSqDevVec(xr, mu)/float64(n)+float64(eps))
		m, s := float32(mu), float32(rs)
		mean.data[r], rstd.data[r] = m, s
		yr := y.data[r*n : (r+1)*n]
		shiftScaleVec(yr, xr, m, s) // xhat
		mulVec(yr, yr, w.data)
	})
	return y, mean, rstd
}

// LayerNormBackward returns dx and accumulates dw += sum over rows of
// g * xhat (dw may be nil).
func LayerNormBackward(g, x, w, mean, rstd, dw *Tensor) (dx *Tensor) {
	rows, n := lastDim(x)
	if be := current; be != nil {
		c := dcall{be: be}
		gb, xb, wb, mb, rb := c.in(g), c.in(x), c.in(w), c.in(mean), c.in(rstd)
		var dxb Buffer
		dx, dxb = c.newOut(x.shape...)
		if rows > 0 {
			be.LayerNormBackward(dxb, c.optInout(dw), gb, xb, wb, mb, rb)
		}
		c.done()
		return dx
	}
	hostRead(g, x, w, mean, rstd)
	hostWrite(dw)
	dx = newHostFull(x.shape...)
	// dxhat = g*w; dx = rs * (dxhat - mean(dxhat) - xhat*mean(dxhat*xhat))
	parallel.For(rows, max(1, (1<<14)/max(n, 1)), func(lo, hi int) {
		xh := make([]float32, n)
		for r := lo; r < hi; r++ {
			xr, gr, dr := x.data[r*n:(r+1)*n], g.data[r*n:(r+1)*n], dx.data[r*n:(r+1)*n]
			rs := rstd.data[r]
			shiftScaleVec(xh, xr, mean.data[r], rs)
			mulVec(dr, gr, w.data) // dxhat
			a := float32(sumVec(dr)) / float32(n)
			b := dotVec(dr, xh) / float32(n)
			lnBackVec(dr, dr, xh, rs, a, b)
		}
	})
	if dw != nil {
		xh := make([]float32, n)
		for r := 0; r < rows; r++ {
			shiftScaleVec(xh, x.data[r*n:(r+1)*n], mean.data[r], rstd.data[r])
			fmaVec(dw.data, g.data[r*n:(r+1)*n], xh, dw.data)
		}
	}
	return dx
}
