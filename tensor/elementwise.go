package tensor

import (
	"fmt"
	"math"

	"github.com/duo-go/duo/internal/parallel"
)

// BroadcastShape returns the NumPy broadcast of two shapes.
func BroadcastShape(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// BroadcastStrides returns the element strides of shape aligned to out (a
// broadcast of it), with 0 on the broadcast dimensions.
func BroadcastStrides(shape, out []int) []int {
	st := make([]int, len(out))
	s := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := len(shape) - len(out) + i
		if j < 0 {
			continue
		}
		if shape[j] != 1 {
			st[i] = s
		}
		s *= shape[j]
	}
	return st
}

// forRows walks out's last-dimension rows and calls fn with the offsets of
// the row in out, a and b and the strides (0 or 1) of a and b along the row.
func forRows(out, sa, sb []int, fn func(o, ia, ib int)) {
	nd := len(out)
	if nd == 0 {
		fn(0, 0, 0)
		return
	}
	rows := 1
	for _, d := range out[:nd-1] {
		rows *= d
	}
	idx := make([]int, nd)
	ia, ib := 0, 0
	for r := 0; r < rows; r++ {
		fn(r*out[nd-1], ia, ib)
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			ia += sa[d]
			ib += sb[d]
			if idx[d] < out[d] {
				break
			}
			ia -= sa[d] * out[d]
			ib -= sb[d] * out[d]
			idx[d] = 0
		}
	}
}

// binary applies f elementwise with NumPy broadcasting (on the host).
func binary(op string, a, b *Tensor, f func(x, y float32) float32) *Tensor {
	hostRead(a, b)
	if SameShape(a, b) {
		out := newHostFull(a.shape...)
		o, x, y := out.data, a.data, b.data[:len(a.data)]
		parallel.For(len(o), 1<<15, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				o[i] = f(x[i], y[i])
			}
		})
		return out
	}
	shape, err := BroadcastShape(a.shape, b.shape)
	if err != nil {
		panic("tensor: " + op + ": " + err.Error())
	}
	out := newHost(shape...)
	sa, sb := BroadcastStrides(a.shape, shape), BroadcastStrides(b.shape, shape)
	n := 1
	if len(shape) > 0 {
		n = shape[len(shape)-1]
	}
	ka, kb := 1, 1
	if len(shape) > 0 {
		ka, kb = sa[len(shape)-1], sb[len(shape)-1]
	}
	forRows(shape, sa, sb, func(o, ia, ib int) {
		for j := 0; j < n; j++ {
			out.data[o+j] = f(a.data[ia+j*ka], b.data[ib+j*kb])
		}
	})
	return out
}

// devBinary records a broadcasting binary kernel.
func devBinary(be Backend, op BinaryOp, name string, a, b *Tensor) *Tensor {
	shape, err := BroadcastShape(a.shape, b.shape)
	if err != nil {
		panic("tensor: " + name + ": " + err.Error())
	}
	c := dcall{be: be}
	ab, bb := c.in(a), c.in(b)
	out, ob := c.newOut(shape...)
	be.Binary(op, ob, ab, bb, a.shape, b.shape)
	c.done()
	return out
}

// devSame records an elementwise binary kernel on two tensors of one shape.
func devSame(be Backend, op BinaryOp, name string, a, b *Tensor) *Tensor {
	mustSameShape(name, a, b)
	return devBinary(be, op, name, a, b)
}

// devUnary records an elementwise unary kernel.
func devUnary(be Backend, op UnaryOp, a *Tensor, alpha float32) *Tensor {
	c := dcall{be: be}
	ab := c.in(a)
	out, ob := c.newOut(a.shape...)
	be.Unary(op, ob, ab, alpha)
	c.done()
	return out
}

// Add returns a + b with broadcasting.
func Add(a, b *Tensor) *Tensor {
	if be := current; be != nil {
		return devBinary(be, BinaryAdd, "add", a, b)
	}
	return binary("add", a, b, func(x, y float32) float32 { return x + y })
}

// Sub returns a - b with broadcasting.
func Sub(a, b *Tensor) *Tensor {
	if be := current; be != nil {
		return devBinary(be, BinarySub, "sub", a, b)
	}
	return binary("sub", a, b, func(x, y float32) float32 { return x - y })
}

// Mul returns a * b with broadcasting.
func Mul(a, b *Tensor) *Tensor {
	if be := current; be != nil {
		return devBinary(be, BinaryMul, "mul", a, b)
	}
	return binary("mul", a, b, func(x, y float32) float32 { return x * y })
}

// Div returns a / b with broadcasting.
func Div(a, b *Tensor) *Tensor {
	if be := current; be != nil {
		return devBinary(be, BinaryDiv, "div", a, b)
	}
	return binary("div", a, b, func(x, y float32) float32 { return x / y })
}

// ReduceTo sums g over the dimensions that were broadcast to produce it from
// a tensor of the given shape (the backward of broadcasting).
func ReduceTo(g *Tensor, shape []int) *Tensor {
	if equalInts(g.shape, shape) {
		return g
	}
	if be := current; be != nil {
		c := dcall{be: be}
		gb := c.in(g)
		out, ob := c.newOut(shape...)
		be.ReduceTo(ob, gb, g.shape, shape)
		c.done()
		return out
	}
	hostRead(g)
	out := newHost(shape...)
	so := BroadcastStrides(shape, g.shape)
	nd := len(g.shape)
	n, k := g.shape[nd-1], so[nd-1]
	forRows(g.shape, so, so, func(o, io, _ int) {
		row := g.data[o : o+n]
		if k == 0 {
			out.data[io] += float32(sumVec(row))
			return
		}
		axpyVec(1, row, out.data[io:io+n])
	})
	return out
}

// Map returns f applied to every element. It always runs on the host (f is
// Go code); hot paths use the named operations instead.
func Map(a *Tensor, f func(float32) float32) *Tensor {
	hostRead(a)
	out := newHostFull(a.shape...)
	x, o := a.data, out.data
	parallel.For(len(o), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			o[i] = f(x[i])
		}
	})
	return out
}

// Map2 returns f(a_i, b_i) for two tensors of the same shape. Like Map it
// always runs on the host.
func Map2(a, b *Tensor, f func(x, y float32) float32) *Tensor {
	mustSameShape("map2", a, b)
	return binary("map2", a, b, f)
}

// Scale returns s * a.
func Scale(a *Tensor, s float32) *Tensor {
	if be := current; be != nil {
		return devUnary(be, UnaryScale, a, s)
	}
	return Map(a, func(x float32) float32 { return s * x })
}

// ScaleBy returns a * (s*c) for a one-element tensor s, with s*c rounded to
// float32 first: a scaling by a value that may live on the device (an
// upstream gradient), without reading it on the host.
func ScaleBy(a, s *Tensor, c float32) *Tensor {
	if s.n != 1 {
		panic(fmt.Sprintf("tensor: scale by a tensor of shape %v", s.shape))
	}
	if be := current; be != nil {
		f := devUnary(be, UnaryScale, s, c)
		return devBinary(be, BinaryMul, "scale by", a, f.Reshape())
	}
	return Scale(a, s.Item()*c)
}

// AddScalar returns a + s.
func AddScalar(a *Tensor, s float32) *Tensor {
	if be := current; be != nil {
		return devUnary(be, UnaryAddScalar, a, s)
	}
	return Map(a, func(x float32) float32 { return x + s })
}

// AddScaled computes a += s*b in place (same shapes).
func AddScaled(a, b *Tensor, s float32) {
	mustSameShape("addscaled", a, b)
	if be := current; be != nil {
		c := dcall{be: be}
		bb := c.in(b)
		be.AddScaled(c.inout(a), bb, s)
		c.done()
		return
	}
	hostRead(b)
	hostWrite(a)
	x, y := b.data, a.data
	parallel.For(len(y), 1<<15, func(lo, hi int) { axpyVec(s, x[lo:hi], y[lo:hi]) })
}

// Exp returns e^a.
func Exp(a *Tensor) *Tensor {
	if be := current; be != nil {
		return devUnary(be, UnaryExp, a, 0)
	}
	return Map(a, func(x float32) float32 { return float32(math.Exp(float64(x))) })
}

// Log returns ln a.
func Log(a *Tensor) *Tensor {
	if be := current; be != nil {
		return devUnary(be, UnaryLog, a, 0)
	}
	return Map(a, func(x float32) float32 { return float32(math.Log(float64(x))) })
}

// Sigmoid returns 1/(1+e^-a).
func Sigmoid(a *Tensor) *Tensor {
	if be := current; be != nil {
		return devUnary(be, UnarySigmoid, a, 0)
	}
	return unaryExp(a, func(x, e, y []float32) {
		for i, v := range x {
			e[i] = -v
		}
		expVec(e, e)
		for i := range y {
			y[i] = 1 / (1 + e[i])
		}
	})
}

// SigmoidBackward returns g * y * (1 - y) for y = Sigmoid(x).
func SigmoidBackward(g, y *Tensor) *Tensor {
	if be := current; be != nil {
		return devSame(be, BinarySigmoidBackward, "sigmoid backward", g, y)
	}
	return Map2(g, y, func(g, s float32) float32 { return g * s * (1 - s) })
}

// SiLU returns a * sigmoid(a).
func SiLU(a *Tensor) *Tensor {
	if be := current; be != nil {
		return devUnary(be, UnarySiLU, a, 0)
	}
	return unaryExp(a, func(x, e, y []float32) {
		for i, v := range x {
			e[i] = -v
		}
		expVec(e, e)
		for i, v := range x {
			y[i] = v * (1 / (1 + e[i]))
		}
	})
}

// SiLUBackward returns g * d SiLU(x)/dx.
func SiLUBackward(g, x *Tensor) *Tensor {
	if be := current; be != nil {
		return devSame(be, BinarySiLUBackward, "silu backward", g, x)
	}
	return binaryExp("silu backward", g, x, func(g, x, e, y []float32) {
		for i, v := range x {
			e[i] = -v
		}
		expVec(e, e)
		for i, v := range x {
			s := 1 / (1 + e[i])
			y[i] = g[i] * s * (1 + v*(1-s))
		}
	})
}

const (
	geluC = 0.7978845608028654 // sqrt(2/pi)
	geluA = 0.044715
)

// GELU returns the tanh approximation of GELU, as PyTorch's approximate="tanh".
func GELU(a *Tensor) *Tensor {
	if be := current; be != nil {
		return devUnary(be, UnaryGELU, a, 0)
	}
	hostRead(a)
	out := newHostFull(a.shape...)
	x, y := a.data, out.data
	parallel.For(len(y), 1<<14, func(lo, hi int) { geluVec(y[lo:hi], x[lo:hi]) })
	return out
}

// GELUBackward returns g * d GELU(x)/dx.
func GELUBackward(g, x *Tensor) *Tensor {
	if be := current; be != nil {
		return devSame(be, BinaryGELUBackward, "gelu backward", g, x)
	}
	mustSameShape("gelu backward", g, x)
	hostRead(g, x)
	out := newHostFull(x.shape...)
	gd, xd, y := g.data, x.data, out.data
	parallel.For(len(y), 1<<14, func(lo, hi int) { geluBackwardVec(y[lo:hi], gd[lo:hi], xd[lo:hi]) })
	return out
}

// expChunk is the number of elements unaryExp and binaryExp hand to their
// kernel at a time: the scratch for the exponentials stays in L1.
const expChunk = 1024

// unaryExp is Map for operations built around one exponential per element:
// over chunks of a (in parallel, as Map), f(x, e, y) writes y = op(x) with e
// a scratch of the same length for the exponentials (filled by f with the
// arguments and turned into e^arg by expVec).
func unaryExp(a *Tensor, f func(x, e, y []float32)) *Tensor {
	hostRead(a)
	out := newHostFull(a.shape...)
	x, y := a.data, out.data
	parallel.For(len(y), 1<<14, func(lo, hi int) {
		e := make([]float32, min(expChunk, hi-lo))
		for c := lo; c < hi; c += expChunk {
			ce := min(c+expChunk, hi)
			f(x[c:ce], e[:ce-c], y[c:ce])
		}
	})
	return out
}

// binaryExp is unaryExp for two operands of the same shape (Map2):
// f(g, x, e, y) writes y = op(g, x).
func binaryExp(name string, g, x *Tensor, f func(g, x, e, y []float32)) *Tensor {
	mustSameShape(name, g, x)
	hostRead(g, x)
	out := newHostFull(x.shape...)
	gd, xd, y := g.data, x.data, out.data
	parallel.For(len(y), 1<<14, func(lo, hi int) {
		e := make([]float32, min(expChunk, hi-lo))
		for c := lo; c < hi; c += expChunk {
			ce := min(c+expChunk, hi)
			f(gd[c:ce], xd[c:ce], e[:ce-c], y[c:ce])
		}
	})
	return out
}
