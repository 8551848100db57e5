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

// binaryFunc returns the float32 function of a broadcasting binary op.
func binaryFunc(op BinaryOp) func(x, y float32) float32 {
	switch op {
	case BinaryAdd:
		return func(x, y float32) float32 { return x + y }
	case BinarySub:
		return func(x, y float32) float32 { return x - y }
	case BinaryMul:
		return func(x, y float32) float32 { return x * y }
	case BinaryDiv:
		return func(x, y float32) float32 { return x / y }
	case BinarySigmoidBackward:
		return func(g, s float32) float32 { return g * s * (1 - s) }
	}
	panic(fmt.Sprintf("tensor: binary op %d", op))
}

// broadcast applies f elementwise with NumPy broadcasting: o holds the
// broadcast of aShape and bShape.
func broadcast(o, a, b []float32, aShape, bShape []int, f func(x, y float32) float32) {
	if equalInts(aShape, bShape) {
		b = b[:len(a)]
		parallel.For(len(o), 1<<15, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				o[i] = f(a[i], b[i])
			}
		})
		return
	}
	shape, _ := BroadcastShape(aShape, bShape)
	sa, sb := BroadcastStrides(aShape, shape), BroadcastStrides(bShape, shape)
	n, ka, kb := 1, 1, 1
	if nd := len(shape); nd > 0 {
		n, ka, kb = shape[nd-1], sa[nd-1], sb[nd-1]
	}
	forRows(shape, sa, sb, func(r, ia, ib int) {
		for j := 0; j < n; j++ {
			o[r+j] = f(a[ia+j*ka], b[ib+j*kb])
		}
	})
}

// binaryOp validates and dispatches a broadcasting binary kernel.
func binaryOp(op BinaryOp, name string, a, b *Tensor) *Tensor {
	shape, err := BroadcastShape(a.shape, b.shape)
	if err != nil {
		panic("tensor: " + name + ": " + err.Error())
	}
	c := call()
	ab, bb := c.in(a), c.in(b)
	out, ob := c.newOut(shape...)
	c.be.Binary(op, ob, ab, bb, a.shape, b.shape)
	c.done()
	return out
}

// sameOp dispatches an elementwise binary kernel on two tensors of one shape.
func sameOp(op BinaryOp, name string, a, b *Tensor) *Tensor {
	mustSameShape(name, a, b)
	return binaryOp(op, name, a, b)
}

// unaryOp dispatches an elementwise unary kernel.
func unaryOp(op UnaryOp, a *Tensor, alpha float32) *Tensor {
	c := call()
	ab := c.in(a)
	out, ob := c.newOut(a.shape...)
	c.be.Unary(op, ob, ab, alpha)
	c.done()
	return out
}

func (cpu) Binary(op BinaryOp, out, a, b Buffer, aShape, bShape []int) {
	o, x, y := f32(out), f32(a), f32(b)
	switch op {
	case BinarySiLUBackward:
		expChunks(o, x, y, func(g, x, e, y []float32) {
			for i, v := range x {
				s := 1 / (1 + e[i])
				y[i] = g[i] * s * (1 + v*(1-s))
			}
		})
	case BinaryGELUBackward:
		parallel.For(len(o), 1<<14, func(lo, hi int) { geluBackwardVec(o[lo:hi], x[lo:hi], y[lo:hi]) })
	default:
		broadcast(o, x, y, aShape, bShape, binaryFunc(op))
	}
}

func (cpu) Unary(op UnaryOp, out, x Buffer, alpha float32) {
	o, a := f32(out), f32(x)
	switch op {
	case UnaryCopy:
		copy(o, a)
	case UnaryScale:
		parallel.For(len(o), 1<<15, func(lo, hi int) { scaleVec(o[lo:hi], a[lo:hi], alpha) })
	case UnaryAddScalar:
		parallel.For(len(o), 1<<15, func(lo, hi int) { addScalarVec(o[lo:hi], a[lo:hi], alpha) })
	case UnaryExp:
		map64(o, a, math.Exp)
	case UnaryLog:
		map64(o, a, math.Log)
	case UnarySigmoid:
		expChunks(o, nil, a, func(_, _, e, y []float32) {
			for i := range y {
				y[i] = 1 / (1 + e[i])
			}
		})
	case UnarySiLU:
		expChunks(o, nil, a, func(_, x, e, y []float32) {
			for i, v := range x {
				y[i] = v * (1 / (1 + e[i]))
			}
		})
	case UnaryGELU:
		parallel.For(len(o), 1<<14, func(lo, hi int) { geluVec(o[lo:hi], a[lo:hi]) })
	default:
		panic(fmt.Sprintf("tensor: unary op %d", op))
	}
}

// map64 sets o[i] = f(a[i]) with f in float64 (exp, log), in parallel.
func map64(o, a []float32, f func(float64) float64) {
	parallel.For(len(o), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			o[i] = float32(f(float64(a[i])))
		}
	})
}

// Add returns a + b with broadcasting.
func Add(a, b *Tensor) *Tensor { return binaryOp(BinaryAdd, "add", a, b) }

// Sub returns a - b with broadcasting.
func Sub(a, b *Tensor) *Tensor { return binaryOp(BinarySub, "sub", a, b) }

// Mul returns a * b with broadcasting.
func Mul(a, b *Tensor) *Tensor { return binaryOp(BinaryMul, "mul", a, b) }

// Div returns a / b with broadcasting.
func Div(a, b *Tensor) *Tensor { return binaryOp(BinaryDiv, "div", a, b) }

// ReduceTo sums g over the dimensions that were broadcast to produce it from
// a tensor of the given shape (the backward of broadcasting).
func ReduceTo(g *Tensor, shape []int) *Tensor {
	if equalInts(g.shape, shape) {
		return g
	}
	c := call()
	gb := c.in(g)
	out, ob := c.newOut(shape...)
	c.be.ReduceTo(ob, gb, g.shape, shape)
	c.done()
	return out
}

func (cpu) ReduceTo(out, g Buffer, gShape, shape []int) {
	o, gd := f32(out), f32(g)
	clear(o)
	so := BroadcastStrides(shape, gShape)
	nd := len(gShape)
	n, k := gShape[nd-1], so[nd-1]
	forRows(gShape, so, so, func(r, io, _ int) {
		row := gd[r : r+n]
		if k == 0 {
			o[io] += float32(sumVec(row))
			return
		}
		axpyVec(1, row, o[io:io+n])
	})
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
	hostRead(a, b)
	out := newHostFull(a.shape...)
	broadcast(out.data, a.data, b.data, a.shape, b.shape, f)
	return out
}

// Scale returns s * a.
func Scale(a *Tensor, s float32) *Tensor { return unaryOp(UnaryScale, a, s) }

// ScaleBy returns a * (s*c) for a one-element tensor s, with s*c rounded to
// float32 first: a scaling by a value that may live on the device (an
// upstream gradient), without reading it on the host.
func ScaleBy(a, s *Tensor, c float32) *Tensor {
	if s.n != 1 {
		panic(fmt.Sprintf("tensor: scale by a tensor of shape %v", s.shape))
	}
	return binaryOp(BinaryMul, "scale by", a, Scale(s, c).Reshape())
}

// AddScalar returns a + s.
func AddScalar(a *Tensor, s float32) *Tensor { return unaryOp(UnaryAddScalar, a, s) }

// AddScaled computes a += s*b in place (same shapes).
func AddScaled(a, b *Tensor, s float32) {
	mustSameShape("addscaled", a, b)
	c := call()
	bb := c.in(b)
	c.be.AddScaled(c.inout(a), bb, s)
	c.done()
}

func (cpu) AddScaled(a, b Buffer, s float32) {
	y, x := f32(a), f32(b)
	parallel.For(len(y), 1<<15, func(lo, hi int) { axpyVec(s, x[lo:hi], y[lo:hi]) })
}

// Exp returns e^a.
func Exp(a *Tensor) *Tensor { return unaryOp(UnaryExp, a, 0) }

// Log returns ln a.
func Log(a *Tensor) *Tensor { return unaryOp(UnaryLog, a, 0) }

// Sigmoid returns 1/(1+e^-a).
func Sigmoid(a *Tensor) *Tensor { return unaryOp(UnarySigmoid, a, 0) }

// SigmoidBackward returns g * y * (1 - y) for y = Sigmoid(x).
func SigmoidBackward(g, y *Tensor) *Tensor {
	return sameOp(BinarySigmoidBackward, "sigmoid backward", g, y)
}

// SiLU returns a * sigmoid(a).
func SiLU(a *Tensor) *Tensor { return unaryOp(UnarySiLU, a, 0) }

// SiLUBackward returns g * d SiLU(x)/dx.
func SiLUBackward(g, x *Tensor) *Tensor { return sameOp(BinarySiLUBackward, "silu backward", g, x) }

const (
	geluC = 0.7978845608028654 // sqrt(2/pi)
	geluA = 0.044715
)

// GELU returns the tanh approximation of GELU, as PyTorch's approximate="tanh".
func GELU(a *Tensor) *Tensor { return unaryOp(UnaryGELU, a, 0) }

// GELUBackward returns g * d GELU(x)/dx.
func GELUBackward(g, x *Tensor) *Tensor { return sameOp(BinaryGELUBackward, "gelu backward", g, x) }

// expChunk is the number of elements expChunks hands to its kernel at a
// time: the scratch for the exponentials stays in L1.
const expChunk = 1024

// expChunks runs an operation built around e^(-x) (the sigmoid's) over
// chunks of x (in parallel): f(g, x, e, y) writes y = op(g, x) given
// e = e^(-x), computed by expVec into a scratch that stays in L1. g may be
// nil (unary ops).
func expChunks(y, g, x []float32, f func(g, x, e, y []float32)) {
	parallel.For(len(y), 1<<14, func(lo, hi int) {
		e := make([]float32, min(expChunk, hi-lo))
		for c := lo; c < hi; c += expChunk {
			ce := min(c+expChunk, hi)
			var gc []float32
			if g != nil {
				gc = g[c:ce]
			}
			xc, ec := x[c:ce], e[:ce-c]
			for i, v := range xc {
				ec[i] = -v
			}
			expVec(ec, ec)
			f(gc, xc, ec, y[c:ce])
		}
	})
}
