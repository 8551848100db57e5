package tensor

import (
	"fmt"
	"math"
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
	y = newHost(x.shape...)
	mean, rstd = newHost(rows), newHost(rows)
	rowsOp(x, func(r int, xr []float32) {
		var s float64
		for _, v := range xr {
			s += float64(v)
		}
		mu := s / float64(n)
		var ss float64
		for _, v := range xr {
			d := float64(v) - mu
			ss += d * d
		}
		rs := 1 / math.Sqrt(ss/float64(n)+float64(eps))
		mean.data[r], rstd.data[r] = float32(mu), float32(rs)
		yr := y.data[r*n : (r+1)*n]
		m, s32 := float32(mu), float32(rs)
		for j, v := range xr {
			yr[j] = (v - m) * s32 * w.data[j]
		}
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
	dx = newHost(x.shape...)
	rowsOp(x, func(r int, xr []float32) {
		gr, dr := g.data[r*n:(r+1)*n], dx.data[r*n:(r+1)*n]
		m, rs := mean.data[r], rstd.data[r]
		// dxhat = g*w; dx = rs * (dxhat - mean(dxhat) - xhat*mean(dxhat*xhat))
		var a, b float32
		for j, v := range xr {
			dh := gr[j] * w.data[j]
			a += dh
			b += dh * (v - m) * rs
		}
		a /= float32(n)
		b /= float32(n)
		for j, v := range xr {
			xh := (v - m) * rs
			dr[j] = rs * (gr[j]*w.data[j] - a - xh*b)
		}
	})
	if dw != nil {
		for r := 0; r < rows; r++ {
			xr, gr := x.data[r*n:(r+1)*n], g.data[r*n:(r+1)*n]
			m, rs := mean.data[r], rstd.data[r]
			for j, v := range xr {
				dw.data[j] += gr[j] * (v - m) * rs
			}
		}
	}
	return dx
}
