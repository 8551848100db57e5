package tensor

import (
	"fmt"
	"math"

	"github.com/duo-go/duo/internal/parallel"
)

// axisDims views a tensor as (outer, n, inner) around axis.
func axisDims(t *Tensor, axis int) (outer, n, inner, ax int) {
	if axis < 0 {
		axis += len(t.shape)
	}
	if axis < 0 || axis >= len(t.shape) {
		panic(fmt.Sprintf("tensor: axis %d of shape %v", axis, t.shape))
	}
	outer, inner = 1, 1
	for _, d := range t.shape[:axis] {
		outer *= d
	}
	for _, d := range t.shape[axis+1:] {
		inner *= d
	}
	return outer, t.shape[axis], inner, axis
}

// reduced returns shape with the axis removed (keep=false) or set to 1.
func reduced(shape []int, axis int, keep bool) []int {
	out := append([]int(nil), shape[:axis]...)
	if keep {
		out = append(out, 1)
	}
	return append(out, shape[axis+1:]...)
}

// reduceAxis applies a row reduction along axis; f receives the n values of
// one lane through a strided accessor.
func reduceAxis(t *Tensor, axis int, keep bool, f func(get func(int) float32, n int) float32) *Tensor {
	outer, n, inner, ax := axisDims(t, axis)
	out := New(reduced(t.shape, ax, keep)...)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			out.data[o*inner+i] = f(func(j int) float32 { return t.data[base+j*inner] }, n)
		}
	}
	return out
}

// Sum sums over axis.
func Sum(t *Tensor, axis int, keep bool) *Tensor {
	return reduceAxis(t, axis, keep, func(get func(int) float32, n int) float32 {
		var s float64
		for j := 0; j < n; j++ {
			s += float64(get(j))
		}
		return float32(s)
	})
}

// Mean averages over axis.
func Mean(t *Tensor, axis int, keep bool) *Tensor {
	return reduceAxis(t, axis, keep, func(get func(int) float32, n int) float32 {
		var s float64
		for j := 0; j < n; j++ {
			s += float64(get(j))
		}
		return float32(s / float64(n))
	})
}

// Max takes the maximum over axis.
func Max(t *Tensor, axis int, keep bool) *Tensor {
	return reduceAxis(t, axis, keep, func(get func(int) float32, n int) float32 {
		m := float32(math.Inf(-1))
		for j := 0; j < n; j++ {
			m = max(m, get(j))
		}
		return m
	})
}

// LogSumExp computes log(sum(exp(t))) over axis, stably.
func LogSumExp(t *Tensor, axis int, keep bool) *Tensor {
	return reduceAxis(t, axis, keep, func(get func(int) float32, n int) float32 {
		m := math.Inf(-1)
		for j := 0; j < n; j++ {
			m = math.Max(m, float64(get(j)))
		}
		if math.IsInf(m, 0) {
			return float32(m)
		}
		var s float64
		for j := 0; j < n; j++ {
			s += math.Exp(float64(get(j)) - m)
		}
		return float32(m + math.Log(s))
	})
}

// MaxBackward routes g (shaped like x reduced over axis) to the first
// maximal element of each lane of x.
func MaxBackward(g, x *Tensor, axis int) *Tensor {
	outer, n, inner, _ := axisDims(x, axis)
	dx := New(x.shape...)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base, best := o*n*inner+i, 0
			for j := 1; j < n; j++ {
				if x.data[base+j*inner] > x.data[base+best*inner] {
					best = j
				}
			}
			dx.data[base+best*inner] = g.data[o*inner+i]
		}
	}
	return dx
}

// SumAll returns the sum of all elements (accumulated in float64).
func SumAll(t *Tensor) float64 {
	var s float64
	for _, v := range t.data {
		s += float64(v)
	}
	return s
}

// ExpandAxis broadcasts g, shaped like t reduced over axis, back to t's
// shape, multiplying by scale (the backward of Sum and Mean).
func ExpandAxis(g *Tensor, like *Tensor, axis int, scale float32) *Tensor {
	outer, n, inner, _ := axisDims(like, axis)
	out := New(like.shape...)
	for o := 0; o < outer; o++ {
		for j := 0; j < n; j++ {
			for i := 0; i < inner; i++ {
				out.data[(o*n+j)*inner+i] = scale * g.data[o*inner+i]
			}
		}
	}
	return out
}

// rowsOp runs fn over the last-dimension rows of t in parallel.
func rowsOp(t *Tensor, fn func(r int, row []float32)) {
	rows, n := lastDim(t)
	grain := max(1, (1<<14)/max(n, 1))
	parallel.For(rows, grain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			fn(r, t.data[r*n:(r+1)*n])
		}
	})
}

// rowLSE returns max and log-sum-exp of a row.
func rowLSE(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	if math.IsInf(float64(m), 0) {
		return m
	}
	var s float64
	for _, v := range x {
		s += float64(expf(v - m))
	}
	return m + float32(math.Log(s))
}

// Softmax returns softmax over the last axis.
func Softmax(t *Tensor) *Tensor {
	out := New(t.shape...)
	_, n := lastDim(t)
	rowsOp(t, func(r int, x []float32) {
		lse := rowLSE(x)
		y := out.data[r*n : (r+1)*n]
		for j, v := range x {
			y[j] = expf(v - lse)
		}
	})
	return out
}

// LogSoftmax returns log_softmax over the last axis.
func LogSoftmax(t *Tensor) *Tensor {
	out := New(t.shape...)
	_, n := lastDim(t)
	rowsOp(t, func(r int, x []float32) {
		lse := rowLSE(x)
		y := out.data[r*n : (r+1)*n]
		for j, v := range x {
			y[j] = v - lse
		}
	})
	return out
}

// SoftmaxBackward returns dx = y * (g - sum(g*y)) for y = Softmax(x).
func SoftmaxBackward(g, y *Tensor) *Tensor {
	dx := New(y.shape...)
	_, n := lastDim(y)
	rowsOp(y, func(r int, yr []float32) {
		gr, dr := g.data[r*n:(r+1)*n], dx.data[r*n:(r+1)*n]
		var s float32
		for j, v := range yr {
			s += gr[j] * v
		}
		for j, v := range yr {
			dr[j] = v * (gr[j] - s)
		}
	})
	return dx
}

// LogSoftmaxBackward returns dx = g - softmax(x) * sum(g) for y = LogSoftmax(x).
func LogSoftmaxBackward(g, y *Tensor) *Tensor {
	dx := New(y.shape...)
	_, n := lastDim(y)
	rowsOp(y, func(r int, yr []float32) {
		gr, dr := g.data[r*n:(r+1)*n], dx.data[r*n:(r+1)*n]
		var s float32
		for _, v := range gr {
			s += v
		}
		for j, v := range yr {
			dr[j] = gr[j] - expf(v)*s
		}
	})
	return dx
}

// CrossEntropy returns the mean over rows of -log softmax(logits)[target]
// for logits (..., K) and one target per row; rows whose target is negative
// are ignored. It also returns the number of counted rows.
func CrossEntropy(logits *Tensor, targets []int32) (loss float64, count int) {
	rows, n := lastDim(logits)
	if len(targets) != rows {
		panic(fmt.Sprintf("tensor: cross entropy of %v with %d targets", logits.shape, len(targets)))
	}
	for r := 0; r < rows; r++ {
		t := targets[r]
		if t < 0 {
			continue
		}
		x := logits.data[r*n : (r+1)*n]
		loss += float64(rowLSE(x) - x[t])
		count++
	}
	if count > 0 {
		loss /= float64(count)
	}
	return loss, count
}

// CrossEntropyBackward returns d loss/d logits scaled by g (the upstream
// gradient of the mean loss).
func CrossEntropyBackward(logits *Tensor, targets []int32, count int, g float32) *Tensor {
	dx := New(logits.shape...)
	if count == 0 {
		return dx
	}
	_, n := lastDim(logits)
	scale := g / float32(count)
	rowsOp(logits, func(r int, x []float32) {
		t := targets[r]
		if t < 0 {
			return
		}
		lse := rowLSE(x)
		d := dx.data[r*n : (r+1)*n]
		for j, v := range x {
			d[j] = scale * expf(v-lse)
		}
		d[t] -= scale
	})
	return dx
}
