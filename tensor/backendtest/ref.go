package backendtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/duo-go/duo/tensor"
)

// The float64 references of the suite and the helpers that compare a
// tensor with one. References are written from the operations' definitions
// (the paper's and PyTorch's formulas), not from the CPU kernels; the
// gradients of the backward operations are central differences of the
// float64 forward references, so no derivative is written twice.

// data is a tensor's float64 reference: its values and shape.
type data struct {
	v     []float64
	shape []int
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// gen draws the suite's inputs from one seeded stream.
type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{rand.New(rand.NewPCG(seed, 99))} }

// normal returns a tensor of normal values times scale and its reference
// (the same float32 values, widened).
func (g *gen) normal(scale float64, shape ...int) (*tensor.Tensor, data) {
	v := make([]float32, numel(shape))
	for i := range v {
		v[i] = float32(scale * g.r.NormFloat64())
	}
	return tensor.From(v, shape...), widen(v, shape)
}

// positive returns values in [lo, lo+1).
func (g *gen) positive(lo float64, shape ...int) (*tensor.Tensor, data) {
	v := make([]float32, numel(shape))
	for i := range v {
		v[i] = float32(lo + g.r.Float64())
	}
	return tensor.From(v, shape...), widen(v, shape)
}

func (g *gen) ids(n, k int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(g.r.IntN(k))
	}
	return ids
}

func widen(v []float32, shape []int) data {
	d := data{make([]float64, len(v)), append([]int(nil), shape...)}
	for i, x := range v {
		d.v[i] = float64(x)
	}
	return d
}

// tol is a comparison's tolerance: |got - want| <= Abs + Rel |want|.
type tol struct{ Abs, Rel float64 }

// f32 is the tolerance of a float32 kernel of a few dozen terms per output.
var f32 = tol{2e-5, 2e-5}

// expect compares got (its host values, downloaded when it lives on the
// device) with want, shapes included.
func expect(t *testing.T, what string, got *tensor.Tensor, want data, tl tol) {
	t.Helper()
	if !slices.Equal(got.Shape(), want.shape) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape(), want.shape)
		return
	}
	expectVals(t, what, got.Host(), want.v, tl)
}

func expectVals(t *testing.T, what string, got []float32, want []float64, tl tol) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	bad := 0
	for i, w := range want {
		g := float64(got[i])
		if math.Abs(g-w) > tl.Abs+tl.Rel*math.Abs(w) || math.IsNaN(g) != math.IsNaN(w) {
			if bad < 3 {
				t.Errorf("%s[%d] = %.8g, want %.8g (diff %.3g)", what, i, g, w, g-w)
			}
			bad++
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d of %d values off", what, bad, len(want))
	}
}

// mapRef applies f to every value.
func mapRef(x data, f func(float64) float64) data {
	out := data{make([]float64, len(x.v)), x.shape}
	for i, v := range x.v {
		out.v[i] = f(v)
	}
	return out
}

// vjp returns the gradient of sum(g * f(x)) with respect to x by central
// differences of the float64 function f (step h relative to 1 + |x_i|).
func vjp(f func(x []float64) []float64, x, g []float64) []float64 {
	dx := make([]float64, len(x))
	xx := append([]float64(nil), x...)
	for i := range x {
		h := 1e-6 * (1 + math.Abs(x[i]))
		xx[i] = x[i] + h
		p := f(xx)
		xx[i] = x[i] - h
		m := f(xx)
		xx[i] = x[i]
		var s float64
		for j := range g {
			s += g[j] * (p[j] - m[j])
		}
		dx[i] = s / (2 * h)
	}
	return dx
}

// broadcast returns the NumPy broadcast of two shapes.
func broadcast(a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		out[i] = max(da, db)
	}
	return out
}

// at returns the flat index into a tensor of shape of the broadcast index
// idx (of the broadcast shape's rank).
func at(shape, idx []int) int {
	off, k := 0, len(idx)-len(shape)
	for i, d := range shape {
		j := idx[k+i]
		if d == 1 {
			j = 0
		}
		off = off*d + j
	}
	return off
}

// unravel returns the multi-index of flat index i in shape.
func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = i % shape[d]
		i /= shape[d]
	}
	return idx
}

func binaryRef(a, b data, f func(x, y float64) float64) data {
	shape := broadcast(a.shape, b.shape)
	out := data{make([]float64, numel(shape)), shape}
	for i := range out.v {
		idx := unravel(i, shape)
		out.v[i] = f(a.v[at(a.shape, idx)], b.v[at(b.shape, idx)])
	}
	return out
}

// reduceToRef sums g over the dimensions broadcast from shape.
func reduceToRef(g data, shape []int) data {
	out := data{make([]float64, numel(shape)), shape}
	for i, v := range g.v {
		out.v[at(shape, unravel(i, g.shape))] += v
	}
	return out
}

// lanes calls f with the flat indices of every lane of shape along axis.
func lanes(shape []int, axis int, f func(lane []int)) {
	outer, n, inner := 1, shape[axis], 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	lane := make([]int, n)
	for o := range outer {
		for in := range inner {
			for j := range n {
				lane[j] = (o*n+j)*inner + in
			}
			f(lane)
		}
	}
}

// reduceRef reduces x over axis with f of the lane's values.
func reduceRef(x data, axis int, keep bool, f func(v []float64) float64) data {
	shape := append([]int(nil), x.shape...)
	shape[axis] = 1
	out := data{nil, shape}
	vals := make([]float64, x.shape[axis])
	lanes(x.shape, axis, func(lane []int) {
		for j, i := range lane {
			vals[j] = x.v[i]
		}
		out.v = append(out.v, f(vals))
	})
	if !keep {
		out.shape = append(append([]int(nil), x.shape[:axis]...), x.shape[axis+1:]...)
	}
	return out
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func logSumExp(v []float64) float64 {
	m := maxOf(v)
	var s float64
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

// rowsRef applies f to each last-axis row of x, in place of a copy.
func rowsRef(x data, f func(dst, row []float64)) data {
	n := x.shape[len(x.shape)-1]
	out := data{make([]float64, len(x.v)), x.shape}
	for r := 0; r < len(x.v); r += n {
		f(out.v[r:r+n], x.v[r:r+n])
	}
	return out
}

func softmaxRow(dst, x []float64) {
	l := logSumExp(x)
	for i, v := range x {
		dst[i] = math.Exp(v - l)
	}
}

func logSoftmaxRow(dst, x []float64) {
	l := logSumExp(x)
	for i, v := range x {
		dst[i] = v - l
	}
}

// matmulRef is op(a) @ op(b) on the last two dimensions, b shared by
// every batch entry when it is a single matrix.
func matmulRef(a, b data, transA, transB bool) data {
	ar, ac := a.shape[len(a.shape)-2], a.shape[len(a.shape)-1]
	br, bc := b.shape[len(b.shape)-2], b.shape[len(b.shape)-1]
	m, k, n := ar, ac, bc
	if transA {
		m, k = ac, ar
	}
	if transB {
		n = br
	}
	batch := numel(a.shape[:len(a.shape)-2])
	shared := numel(b.shape[:len(b.shape)-2]) == 1
	shape := append(append([]int(nil), a.shape[:len(a.shape)-2]...), m, n)
	out := data{make([]float64, batch*m*n), shape}
	for z := range batch {
		A := a.v[z*ar*ac:]
		B := b.v
		if !shared {
			B = b.v[z*br*bc:]
		}
		for i := range m {
			for j := range n {
				var s float64
				for p := range k {
					ia, ib := i*ac+p, p*bc+j
					if transA {
						ia = p*ac + i
					}
					if transB {
						ib = j*bc + p
					}
					s += A[ia] * B[ib]
				}
				out.v[z*m*n+i*n+j] = s
			}
		}
	}
	return out
}

func gelu(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// derivative returns f'(x) by a central difference.
func derivative(f func(float64) float64, x float64) float64 {
	h := 1e-6 * (1 + math.Abs(x))
	return (f(x+h) - f(x-h)) / (2 * h)
}
