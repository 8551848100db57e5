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
	ak, ok := current.(AdaLNKernels)
	if !ok {
		return modulateComposed(x, shift, scale)
	}
	c := call()
	xb, sh, sc := c.in(x), c.in(shift), c.in(scale)
	out, ob := c.newOut(x.shape...)
	ak.Modulate(ob, xb, sh, sc, B, L, D)
	c.done()
	return out
}

func (cpu) Modulate(out, x, shift, scale Buffer, B, L, D int) {
	o, xd, sh, sc := f32(out), f32(x), f32(shift), f32(scale)
	parallel.For(B*L, max(1, 4096/D), func(lo, hi int) {
		a, ab := make([]float32, D), -1 // 1 + scale of sequence ab
		for r := lo; r < hi; r++ {
			b := r / L
			if b != ab {
				addScalarVec(a, sc[b*D:(b+1)*D], 1)
				ab = b
			}
			fmaVec(o[r*D:(r+1)*D], xd[r*D:(r+1)*D], a, sh[b*D:(b+1)*D])
		}
	})
}

// ModulateBackward returns dx, dshift and dscale for y = Modulate(x, shift, scale).
func ModulateBackward(g, x, scale *Tensor) (dx, dshift, dscale *Tensor) {
	B, L, D := adaDims("modulate backward", x, scale)
	mustSameShape("modulate backward", g, x)
	ak, ok := current.(AdaLNKernels)
	if !ok {
		return modulateBackwardComposed(g, x, scale)
	}
	c := call()
	gb, xb, sc := c.in(g), c.in(x), c.in(scale)
	var dxb, dsh, dsc Buffer
	dx, dxb = c.newOut(x.shape...)
	dshift, dsh = c.newOut(scale.shape...)
	dscale, dsc = c.newOut(scale.shape...)
	ak.ModulateBackward(dxb, dsh, dsc, gb, xb, sc, B, L, D)
	c.done()
	return dx, dshift, dscale
}

func (cpu) ModulateBackward(dx, dshift, dscale, g, x, scale Buffer, B, L, D int) {
	dxd, dsd, dcd, gd, xd, sc := f32(dx), f32(dshift), f32(dscale), f32(g), f32(x), f32(scale)
	clear(dsd)
	clear(dcd)
	parallel.For(B, 1, func(lo, hi int) {
		a := make([]float32, D) // 1 + scale
		for b := lo; b < hi; b++ {
			addScalarVec(a, sc[b*D:(b+1)*D], 1)
			ds, dc := dsd[b*D:(b+1)*D], dcd[b*D:(b+1)*D]
			for r := b * L; r < (b+1)*L; r++ {
				gr := gd[r*D : (r+1)*D]
				mulVec(dxd[r*D:(r+1)*D], gr, a)
				addVec(ds, ds, gr)
				fmaVec(dc, gr, xd[r*D:(r+1)*D], dc)
			}
		}
	})
}

// GatedAdd returns h + gate * y (the DiT's gated residual).
func GatedAdd(h, y, gate *Tensor) *Tensor {
	B, L, D := adaDims("gated add", h, gate)
	mustSameShape("gated add", h, y)
	ak, ok := current.(AdaLNKernels)
	if !ok {
		return gatedAddComposed(h, y, gate)
	}
	c := call()
	hb, yb, gb := c.in(h), c.in(y), c.in(gate)
	out, ob := c.newOut(h.shape...)
	ak.GatedAdd(ob, hb, yb, gb, B, L, D)
	c.done()
	return out
}

func (cpu) GatedAdd(out, h, y, gate Buffer, B, L, D int) {
	o, hd, yd, gt := f32(out), f32(h), f32(y), f32(gate)
	parallel.For(B*L, max(1, 4096/D), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			g := gt[(r/L)*D : (r/L+1)*D]
			fmaVec(o[r*D:(r+1)*D], g, yd[r*D:(r+1)*D], hd[r*D:(r+1)*D])
		}
	})
}

// GatedAddBackward returns dy and dgate for out = GatedAdd(h, y, gate); dh
// is g itself.
func GatedAddBackward(g, y, gate *Tensor) (dy, dgate *Tensor) {
	B, L, D := adaDims("gated add backward", y, gate)
	mustSameShape("gated add backward", g, y)
	ak, ok := current.(AdaLNKernels)
	if !ok {
		return gatedAddBackwardComposed(g, y, gate)
	}
	c := call()
	gb, yb, gt := c.in(g), c.in(y), c.in(gate)
	var dyb, dgb Buffer
	dy, dyb = c.newOut(y.shape...)
	dgate, dgb = c.newOut(gate.shape...)
	ak.GatedAddBackward(dyb, dgb, gb, yb, gt, B, L, D)
	c.done()
	return dy, dgate
}

func (cpu) GatedAddBackward(dy, dgate, g, y, gate Buffer, B, L, D int) {
	dyd, dgd, gd, yd, gt := f32(dy), f32(dgate), f32(g), f32(y), f32(gate)
	clear(dgd)
	parallel.For(B, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			gb, dg := gt[b*D:(b+1)*D], dgd[b*D:(b+1)*D]
			for r := b * L; r < (b+1)*L; r++ {
				gr := gd[r*D : (r+1)*D]
				mulVec(dyd[r*D:(r+1)*D], gr, gb)
				fmaVec(dg, gr, yd[r*D:(r+1)*D], dg)
			}
		}
	})
}
