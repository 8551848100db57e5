package vk

import (
	"fmt"
	"math"
	"slices"

	"github.com/duo-go/duo/tensor"
)

// Operation codes of unary.comp (specialization constant OP).
const (
	uCopy = iota
	uScale
	uAddScalar
	uExp
	uLog
	uSigmoid
	uSiLU
	uGELU
	uFill
	uSquare
)

// Operation codes of binary.comp (specialization constant OP).
const (
	bAdd = iota
	bSub
	bMul
	bDiv
	bAxpy
	bSiLUBwd
	bGELUBwd
	bSigmoidBwd
	bEMA
	bClip
)

func (d *Device) unary(name string, op uint32, out, x *Buffer, alpha float32) {
	n := x.Len()
	mustLen(name, out, n)
	d.run(kUnary, []uint32{op}, [3]int{gridGroups(n, 256), 1, 1}, push{}.u(n).f(alpha), wr(out), rd(x))
}

// copyBuf copies src into dst (tensor.Tensor.CopyFrom, Clone).
func (d *Device) copyBuf(dst, src *Buffer) { d.unary("copy", uCopy, dst, src, 0) }

// fill sets every element of b to v (tensor.Tensor.Fill).
func (d *Device) fill(b *Buffer, v float32) { d.unary("fill", uFill, b, b, v) }

// scale computes out = s * a (tensor.Scale). out may be a.
func (d *Device) scale(out, a *Buffer, s float32) { d.unary("scale", uScale, out, a, s) }

// addScalar computes out = a + s (the map of autograd's AddScalar). out may
// be a.
func (d *Device) addScalar(out, a *Buffer, s float32) { d.unary("addscalar", uAddScalar, out, a, s) }

// exp computes out = e^a (tensor.Exp).
func (d *Device) exp(out, a *Buffer) { d.unary("exp", uExp, out, a, 0) }

// log computes out = ln a (tensor.Log).
func (d *Device) log(out, a *Buffer) { d.unary("log", uLog, out, a, 0) }

// sigmoid computes out = 1/(1+e^-a) (tensor.Sigmoid).
func (d *Device) sigmoid(out, a *Buffer) { d.unary("sigmoid", uSigmoid, out, a, 0) }

// silu computes out = a * sigmoid(a) (tensor.SiLU).
func (d *Device) silu(out, a *Buffer) { d.unary("silu", uSiLU, out, a, 0) }

// gelu computes the tanh approximation of GELU (tensor.GELU).
func (d *Device) gelu(out, a *Buffer) { d.unary("gelu", uGELU, out, a, 0) }

// square computes out = a * a.
func (d *Device) square(out, a *Buffer) { d.unary("square", uSquare, out, a, 0) }

// binarySame runs a binary op on three buffers of the same length.
func (d *Device) binarySame(name string, op uint32, out, a, b *Buffer, alpha float32) {
	n := a.Len()
	mustLen(name, b, n)
	mustLen(name, out, n)
	pc := push{}.u(make([]int, 12)...).u(n).f(alpha)
	d.run(kBinary, []uint32{op, 0}, [3]int{gridGroups(n, 256), 1, 1}, pc, wr(out), rd(a), rd(b))
}

// binaryBroadcast runs a binary op with NumPy broadcasting; out must hold
// the broadcast shape.
func (d *Device) binaryBroadcast(name string, op uint32, out, a, b *Buffer, aShape, bShape []int) {
	mustLen(name, a, numel(aShape))
	mustLen(name, b, numel(bShape))
	if slices.Equal(aShape, bShape) {
		d.binarySame(name, op, out, a, b, 0)
		return
	}
	shape, err := tensor.BroadcastShape(aShape, bShape)
	if err != nil {
		panic(fmt.Sprintf("vk: %s: %v", name, err))
	}
	n := numel(shape)
	mustLen(name, out, n)
	dims, st := collapse(name, shape, tensor.BroadcastStrides(aShape, shape), tensor.BroadcastStrides(bShape, shape))
	pc := push{}.u(dims[:]...).u(st[0][:]...).u(st[1][:]...).u(n).f(0)
	d.run(kBinary, []uint32{op, 1}, [3]int{gridGroups(n, 256), 1, 1}, pc, wr(out), rd(a), rd(b))
}

// add computes out = a + b with NumPy broadcasting (tensor.Add); out holds
// the broadcast shape and may be a when that is a's shape.
func (d *Device) add(out, a, b *Buffer, aShape, bShape []int) {
	d.binaryBroadcast("add", bAdd, out, a, b, aShape, bShape)
}

// sub computes out = a - b with broadcasting (tensor.Sub).
func (d *Device) sub(out, a, b *Buffer, aShape, bShape []int) {
	d.binaryBroadcast("sub", bSub, out, a, b, aShape, bShape)
}

// mul computes out = a * b with broadcasting (tensor.Mul).
func (d *Device) mul(out, a, b *Buffer, aShape, bShape []int) {
	d.binaryBroadcast("mul", bMul, out, a, b, aShape, bShape)
}

// div computes out = a / b with broadcasting (tensor.Div).
func (d *Device) div(out, a, b *Buffer, aShape, bShape []int) {
	d.binaryBroadcast("div", bDiv, out, a, b, aShape, bShape)
}

// addScaled computes a += s*b in place (tensor.AddScaled).
func (d *Device) addScaled(a, b *Buffer, s float32) { d.binarySame("addscaled", bAxpy, a, a, b, s) }

// siluBackward computes out = g * d SiLU(x)/dx (tensor.SiLUBackward).
func (d *Device) siluBackward(out, g, x *Buffer) {
	d.binarySame("silu backward", bSiLUBwd, out, g, x, 0)
}

// geluBackward computes out = g * d GELU(x)/dx (tensor.GELUBackward).
func (d *Device) geluBackward(out, g, x *Buffer) {
	d.binarySame("gelu backward", bGELUBwd, out, g, x, 0)
}

// sigmoidBackward computes out = g * y * (1-y) for y = sigmoid(x) (the
// backward of autograd's Sigmoid).
func (d *Device) sigmoidBackward(out, g, y *Buffer) {
	d.binarySame("sigmoid backward", bSigmoidBwd, out, g, y, 0)
}

// emaUpdate moves shadow towards w: shadow -= (1-decay_n) * (shadow - w)
// with decay_n = min(decay, (1+n)/(10+n)) for the n-th update (n counts
// from 1), as nn.EMA.Update.
func (d *Device) emaUpdate(shadow, w *Buffer, decay float64, n int) {
	dn := math.Min(decay, (1+float64(n))/(10+float64(n)))
	d.binarySame("ema", bEMA, shadow, shadow, w, float32(1-dn))
}

// clipByNorm scales g by maxNorm/(norm+1e-6) when norm = sqrt(sumsq[0])
// exceeds maxNorm (the scaling of nn.ClipGradNorm); sumsq is the device
// result of SumSquares over all gradients, so clipping needs no host round
// trip.
func (d *Device) clipByNorm(g, sumsq *Buffer, maxNorm float32) {
	n := g.Len()
	if sumsq.Len() < 1 {
		panic("vk: clip: empty sum-of-squares buffer")
	}
	dims := [4]int{1, 1, 1, n}
	pc := push{}.u(dims[:]...).u(0, 0, 0, 1).u(0, 0, 0, 0).u(n).f(maxNorm)
	d.run(kBinary, []uint32{bClip, 1}, [3]int{gridGroups(n, 256), 1, 1}, pc, wr(g), rd(g), rd(sumsq))
}
