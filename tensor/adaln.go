package tensor

import (
	"fmt"

	"github.com/duo-go/duo/internal/parallel"
)

// adaLN kernels of the DiT block. x, h and y are (B, L, D); shift, scale and
// gate are (B, D), one vector per sequence, broadcast over its L positions.

func adaDims(op string, x, v *Tensor) (B, L, D int) {
	if x.Rank() != 3 || v.Len() != x.shape[0]*x.shape[2] {
		panic(fmt.Sprintf("tensor: %s of %v with %v", op, x.shape, v.shape))
	}
	return x.shape[0], x.shape[1], x.shape[2]
}

// Modulate returns x * (1 + scale) + shift.
func Modulate(x, shift, scale *Tensor) *Tensor {
	B, L, D := adaDims("modulate", x, shift)
	adaDims("modulate", x, scale)
	if be := current; be != nil {
		c := dcall{be: be}
		xb, sh, sc := c.in(x), c.in(shift), c.in(scale)
		out, ob := c.newOut(x.shape...)
		be.Modulate(ob, xb, sh, sc, B, L, D)
		c.done()
		return out
	}
	hostRead(x, shift, scale)
	out := newHostFull(x.shape...)
	parallel.For(B*L, max(1, 4096/D), func(lo, hi int) {
		a, ab := make([]float32, D), -1 // 1 + scale of sequence ab
		for r := lo; r < hi; r++ {
			b := r / L
			if b != ab {
				addScalarVec(a, scale.data[b*D:(b+1)*D], 1)
				ab = b
			}
			fmaVec(out.data[r*D:(r+1)*D], x.data[r*D:(r+1)*D], a, shift.data[b*D:(b+1)*D])
		}
	})
	return out
}

// ModulateBackward returns dx, dshift and dscale for y = Modulate(x, shift, scale).
func ModulateBackward(g, x, scale *Tensor) (dx, dshift, dscale *Tensor) {
	B, L, D := adaDims("modulate backward", x, scale)
	if be := current; be != nil {
		c := dcall{be: be}
		gb, xb, sc := c.in(g), c.in(x), c.in(scale)
		var dxb, dsh, dsc Buffer
		dx, dxb = c.newOut(x.shape...)
		dshift, dsh = c.newOut(scale.shape...)
		dscale, dsc = c.newOut(scale.shape...)
		be.ModulateBackward(dxb, dsh, dsc, gb, xb, sc, B, L, D)
		c.done()
		return dx, dshift, dscale
	}
	hostRead(g, x, scale)
	dx = newHostFull(x.shape...)
	dshift, dscale = newHost(scale.shape...), newHost(scale.shape...)
	parallel.For(B, 1, func(lo, hi int) {
		a := make([]float32, D) // 1 + scale
		for b := lo; b < hi; b++ {
			addScalarVec(a, scale.data[b*D:(b+1)*D], 1)
			ds, dc := dshift.data[b*D:(b+1)*D], dscale.data[b*D:(b+1)*D]
			for r := b * L; r < (b+1)*L; r++ {
				gr := g.data[r*D : (r+1)*D]
				mulVec(dx.data[r*D:(r+1)*D], gr, a)
				addVec(ds, ds, gr)
				fmaVec(dc, gr, x.data[r*D:(r+1)*D], dc)
			}
		}
	})
	return dx, dshift, dscale
}

// GatedAdd returns h + gate * y (the DiT's gated residual).
func GatedAdd(h, y, gate *Tensor) *Tensor {
	B, L, D := adaDims("gated add", h, gate)
	mustSameShape("gated add", h, y)
	if be := current; be != nil {
		c := dcall{be: be}
		hb, yb, gb := c.in(h), c.in(y), c.in(gate)
		out, ob := c.newOut(h.shape...)
		be.GatedAdd(ob, hb, yb, gb, B, L, D)
		c.done()
		return out
	}
	hostRead(h, y, gate)
	out := newHostFull(h.shape...)
	parallel.For(B*L, max(1, 4096/D), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			gt := gate.data[(r/L)*D : (r/L+1)*D]
			fmaVec(out.data[r*D:(r+1)*D], gt, y.data[r*D:(r+1)*D], h.data[r*D:(r+1)*D])
		}
	})
	return out
}

// GatedAddBackward returns dy and dgate for out = GatedAdd(h, y, gate); dh
// is g itself.
func GatedAddBackward(g, y, gate *Tensor) (dy, dgate *Tensor) {
	B, L, D := adaDims("gated add backward", y, gate)
	if be := current; be != nil {
		c := dcall{be: be}
		gb, yb, gt := c.in(g), c.in(y), c.in(gate)
		var dyb, dgb Buffer
		dy, dyb = c.newOut(y.shape...)
		dgate, dgb = c.newOut(gate.shape...)
		be.GatedAddBackward(dyb, dgb, gb, yb, gt, B, L, D)
		c.done()
		return dy, dgate
	}
	hostRead(g, y, gate)
	dy, dgate = newHostFull(y.shape...), newHost(gate.shape...)
	parallel.For(B, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			gt, dg := gate.data[b*D:(b+1)*D], dgate.data[b*D:(b+1)*D]
			for r := b * L; r < (b+1)*L; r++ {
				gr := g.data[r*D : (r+1)*D]
				mulVec(dy.data[r*D:(r+1)*D], gr, gt)
				fmaVec(dg, gr, y.data[r*D:(r+1)*D], dg)
			}
		}
	})
	return dy, dgate
}
