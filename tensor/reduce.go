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
	hostRead(t)
	out := newHost(reduced(t.shape, ax, keep)...)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			out.data[o*inner+i] = f(func(j int) float32 { return t.data[base+j*inner] }, n)
		}
	}
	return out
}

// devReduce records an axis reduction.
func devReduce(be Backend, op ReduceOp, t *Tensor, axis int, keep bool) *Tensor {
	_, _, _, ax := axisDims(t, axis)
	c := dcall{be: be}
	tb := c.in(t)
	out, ob := c.newOut(reduced(t.shape, ax, keep)...)
	be.Reduce(op, ob, tb, t.shape, ax)
	c.done()
	return out
}

// Sum sums over axis.
func Sum(t *Tensor, axis int, keep bool) *Tensor {
	if be := current; be != nil {
		return devReduce(be, ReduceSum, t, axis, keep)
	}
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
	if be := current; be != nil {
		return devReduce(be, ReduceMean, t, axis, keep)
	}
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
	if be := current; be != nil {
		return devReduce(be, ReduceMax, t, axis, keep)
	}
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
	if be := current; be != nil {
		return devReduce(be, ReduceLogSumExp, t, axis, keep)
	}
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
	outer, n, inner, ax := axisDims(x, axis)
	if be := current; be != nil {
		c := dcall{be: be}
		gb, xb := c.in(g), c.in(x)
		dx, db := c.newOut(x.shape...)
		be.MaxBackward(db, gb, xb, x.shape, ax)
		c.done()
		return dx
	}
	hostRead(g, x)
	dx := newHost(x.shape...)
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

// SumAll returns the sum of all elements (accumulated in float64). When the
// values are only on the device, the sum is taken there (in float32, with
// compensated partial sums) and read back, which waits for the device.
func SumAll(t *Tensor) float64 {
	if be := current; be != nil && !t.st.hostOK && t.onDevice(be) {
		c := dcall{be: be}
		tb := c.in(t)
		out := c.temp(1)
		be.SumAll(out, tb)
		v := make([]float32, 1)
		be.Download(v, out)
		c.done()
		return float64(v[0])
	}
	var s float64
	for _, v := range t.host() {
		s += float64(v)
	}
	return s
}

// ExpandAxis broadcasts g, shaped like t reduced over axis, back to t's
// shape, multiplying by scale (the backward of Sum and Mean).
func ExpandAxis(g *Tensor, like *Tensor, axis int, scale float32) *Tensor {
	outer, n, inner, ax := axisDims(like, axis)
	if be := current; be != nil {
		c := dcall{be: be}
		gb := c.in(g)
		out, ob := c.newOut(like.shape...)
		be.ExpandAxis(ob, gb, like.shape, ax, scale)
		c.done()
		return out
	}
	hostRead(g)
	out := newHost(like.shape...)
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

// rowLSE returns the log-sum-exp of a row, using e (at least as long as x,
// and not overlapping it) as scratch for the exponentials.
func rowLSE(x, e []float32) float32 {
	m := maxVec(x)
	if math.IsInf(float64(m), 0) {
		return m
	}
	return m + float32(math.Log(expShiftSum(e, x, m)))
}

// softmaxRow sets y = softmax(x) (y may be x) and returns the log-sum-exp
// of x: y = e^(x-max) / sum e^(x-max).
func softmaxRow(y, x []float32) (lse float32) {
	m := maxVec(x)
	if math.IsInf(float64(m), 0) { // as e^(x - lse) with lse = m
		addScalarVec(y, x, -m)
		expVec(y, y)
		return m
	}
	s := expShiftSum(y, x, m)
	scaleVec(y, y, float32(1/s))
	return m + float32(math.Log(s))
}

// devSoftmax records a row kernel of the softmax family over the last axis.
func devSoftmax(be Backend, op SoftmaxOp, x, g *Tensor) *Tensor {
	_, n := lastDim(x)
	c := dcall{be: be}
	xb := c.in(x)
	gb := xb
	if g != nil {
		mustSameShape("softmax backward", g, x)
		gb = c.in(g)
	}
	out, ob := c.newOut(x.shape...)
	if n > 0 {
		be.Softmax(op, ob, xb, gb, n)
	}
	c.done()
	return out
}

// Softmax returns softmax over the last axis.
func Softmax(t *Tensor) *Tensor {
	if be := current; be != nil {
		return devSoftmax(be, SoftmaxForward, t, nil)
	}
	return logSoftmaxRows(t, true)
}

// LogSoftmax returns log_softmax over the last axis.
func LogSoftmax(t *Tensor) *Tensor {
	if be := current; be != nil {
		return devSoftmax(be, LogSoftmaxForward, t, nil)
	}
	return logSoftmaxRows(t, false)
}

// logSoftmaxRows is the CPU log_softmax over the last axis, exponentiated
// (softmax) when exp is set.
func logSoftmaxRows(t *Tensor, exp bool) *Tensor {
	hostRead(t)
	out := newHostFull(t.shape...)
	_, n := lastDim(t)
	rowsOp(t, func(r int, x []float32) {
		y := out.data[r*n : (r+1)*n]
		if exp {
			softmaxRow(y, x)
			return
		}
		addScalarVec(y, x, -rowLSE(x, y))
	})
	return out
}

// SoftmaxBackward returns dx = y * (g - sum(g*y)) for y = Softmax(x).
func SoftmaxBackward(g, y *Tensor) *Tensor {
	if be := current; be != nil {
		return devSoftmax(be, SoftmaxBackwardOp, y, g)
	}
	hostRead(g, y)
	dx := newHostFull(y.shape...)
	_, n := lastDim(y)
	rowsOp(y, func(r int, yr []float32) {
		gr, dr := g.data[r*n:(r+1)*n], dx.data[r*n:(r+1)*n]
		softmaxBackVec(dr, yr, gr, dotVec(gr, yr), 1)
	})
	return dx
}

// LogSoftmaxBackward returns dx = g - softmax(x) * sum(g) for y = LogSoftmax(x).
func LogSoftmaxBackward(g, y *Tensor) *Tensor {
	if be := current; be != nil {
		return devSoftmax(be, LogSoftmaxBackwardOp, y, g)
	}
	hostRead(g, y)
	dx := newHostFull(y.shape...)
	_, n := lastDim(y)
	rowsOp(y, func(r int, yr []float32) {
		gr, dr := g.data[r*n:(r+1)*n], dx.data[r*n:(r+1)*n]
		expVec(dr, yr)
		scaleVec(dr, dr, -float32(sumVec(gr)))
		addVec(dr, dr, gr)
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
	if be := current; be != nil {
		st := CrossEntropyStats(logits, targets).host()
		return float64(st[0]), int(st[1])
	}
	hostRead(logits)
	e := make([]float32, n)
	for r := 0; r < rows; r++ {
		t := targets[r]
		if t < 0 {
			continue
		}
		x := logits.data[r*n : (r+1)*n]
		loss += float64(rowLSE(x, e) - x[t])
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
	if be := current; be != nil {
		return devCEBackward(be, logits, targets, From([]float32{0, float32(count)}, 2), g)
	}
	hostRead(logits)
	dx := newHost(logits.shape...)
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
		d := dx.data[r*n : (r+1)*n]
		softmaxRow(d, x)
		scaleVec(d, d, scale)
		d[t] -= scale
	})
	return dx
}

// CrossEntropyStats returns [mean loss, count] as a 2-element tensor: the
// two results of CrossEntropy, left on the device when a backend is set (so
// a training step need not wait for its loss). On the CPU the loss is the
// float64 mean rounded to float32.
func CrossEntropyStats(logits *Tensor, targets []int32) *Tensor {
	rows, n := lastDim(logits)
	if len(targets) != rows {
		panic(fmt.Sprintf("tensor: cross entropy of %v with %d targets", logits.shape, len(targets)))
	}
	if be := current; be != nil {
		c := dcall{be: be}
		lb, tb := c.in(logits), c.ids(targets)
		out, ob := c.newOut(2)
		be.CrossEntropy(ob, lb, tb, n)
		c.done()
		return out
	}
	loss, count := CrossEntropy(logits, targets)
	return From([]float32{float32(loss), float32(count)}, 2)
}

// CrossEntropyGrad returns d loss/d logits scaled by the one-element
// upstream gradient g, given stats from CrossEntropyStats on the same
// logits and targets, without reading stats or g on the host when they are
// on the device. On the CPU it is CrossEntropyBackward.
func CrossEntropyGrad(logits *Tensor, targets []int32, stats, g *Tensor) *Tensor {
	if be := current; be != nil {
		dx := devCEBackward(be, logits, targets, stats, 1)
		return devBinary(be, BinaryMul, "cross entropy backward", dx, g.Reshape())
	}
	return CrossEntropyBackward(logits, targets, int(stats.host()[1]), g.Item())
}

func devCEBackward(be Backend, logits *Tensor, targets []int32, stats *Tensor, g float32) *Tensor {
	rows, n := lastDim(logits)
	if len(targets) != rows {
		panic(fmt.Sprintf("tensor: cross entropy backward of %v with %d targets", logits.shape, len(targets)))
	}
	c := dcall{be: be}
	lb, tb, sb := c.in(logits), c.ids(targets), c.in(stats)
	dx, db := c.newOut(logits.shape...)
	if n > 0 {
		be.CrossEntropyBackward(db, lb, tb, sb, n, g)
	}
	c.done()
	return dx
}
