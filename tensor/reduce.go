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
	outer, n, inner = lanes(t.shape, axis)
	return outer, n, inner, axis
}

// reduced returns shape with the axis removed (keep=false) or set to 1.
func reduced(shape []int, axis int, keep bool) []int {
	out := append([]int(nil), shape[:axis]...)
	if keep {
		out = append(out, 1)
	}
	return append(out, shape[axis+1:]...)
}

// reduceOp validates and dispatches an axis reduction.
func reduceOp(op ReduceOp, t *Tensor, axis int, keep bool) *Tensor {
	_, _, _, ax := axisDims(t, axis)
	c := call()
	tb := c.in(t)
	out, ob := c.newOut(reduced(t.shape, ax, keep)...)
	c.be.Reduce(op, ob, tb, t.shape, ax)
	c.done()
	return out
}

// lanes splits shape around axis: outer x n x inner.
func lanes(shape []int, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return outer, shape[axis], inner
}

func (cpu) Reduce(op ReduceOp, out, t Buffer, shape []int, axis int) {
	o, x := f32(out), f32(t)
	outer, n, inner := lanes(shape, axis)
	for p := 0; p < outer; p++ {
		for i := 0; i < inner; i++ {
			lane := x[p*n*inner+i:]
			get := func(j int) float32 { return lane[j*inner] }
			var r float32
			switch op {
			case ReduceSum, ReduceMean:
				var s float64
				for j := 0; j < n; j++ {
					s += float64(get(j))
				}
				if op == ReduceMean {
					s /= float64(n)
				}
				r = float32(s)
			case ReduceMax:
				r = float32(math.Inf(-1))
				for j := 0; j < n; j++ {
					r = max(r, get(j))
				}
			case ReduceLogSumExp:
				m := math.Inf(-1)
				for j := 0; j < n; j++ {
					m = math.Max(m, float64(get(j)))
				}
				if math.IsInf(m, 0) {
					r = float32(m)
					break
				}
				var s float64
				for j := 0; j < n; j++ {
					s += math.Exp(float64(get(j)) - m)
				}
				r = float32(m + math.Log(s))
			}
			o[p*inner+i] = r
		}
	}
}

// Sum sums over axis.
func Sum(t *Tensor, axis int, keep bool) *Tensor { return reduceOp(ReduceSum, t, axis, keep) }

// Mean averages over axis.
func Mean(t *Tensor, axis int, keep bool) *Tensor { return reduceOp(ReduceMean, t, axis, keep) }

// Max takes the maximum over axis.
func Max(t *Tensor, axis int, keep bool) *Tensor { return reduceOp(ReduceMax, t, axis, keep) }

// LogSumExp computes log(sum(exp(t))) over axis, stably.
func LogSumExp(t *Tensor, axis int, keep bool) *Tensor {
	return reduceOp(ReduceLogSumExp, t, axis, keep)
}

// MaxBackward routes g (shaped like x reduced over axis) to the first
// maximal element of each lane of x.
func MaxBackward(g, x *Tensor, axis int) *Tensor {
	_, _, _, ax := axisDims(x, axis)
	c := call()
	gb, xb := c.in(g), c.in(x)
	dx, db := c.newOut(x.shape...)
	c.be.MaxBackward(db, gb, xb, x.shape, ax)
	c.done()
	return dx
}

func (cpu) MaxBackward(dx, g, x Buffer, shape []int, axis int) {
	d, gd, xd := f32(dx), f32(g), f32(x)
	clear(d)
	outer, n, inner := lanes(shape, axis)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base, best := o*n*inner+i, 0
			for j := 1; j < n; j++ {
				if xd[base+j*inner] > xd[base+best*inner] {
					best = j
				}
			}
			d[base+best*inner] = gd[o*inner+i]
		}
	}
}

// SumAll returns the sum of all elements (accumulated in float64). When the
// values are only on the device, the sum is taken there (in float32, with
// compensated partial sums) and read back, which waits for the device.
func SumAll(t *Tensor) float64 {
	if be := current; !t.st.hostOK && t.onDevice(be) {
		c := call()
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

func (cpu) SumAll(out, t Buffer) {
	var s float64
	for _, v := range f32(t) {
		s += float64(v)
	}
	f32(out)[0] = float32(s)
}

// ExpandAxis broadcasts g, shaped like t reduced over axis, back to t's
// shape, multiplying by scale (the backward of Sum and Mean).
func ExpandAxis(g *Tensor, like *Tensor, axis int, scale float32) *Tensor {
	_, _, _, ax := axisDims(like, axis)
	c := call()
	gb := c.in(g)
	out, ob := c.newOut(like.shape...)
	c.be.ExpandAxis(ob, gb, like.shape, ax, scale)
	c.done()
	return out
}

func (cpu) ExpandAxis(out, g Buffer, likeShape []int, axis int, scale float32) {
	o, gd := f32(out), f32(g)
	outer, n, inner := lanes(likeShape, axis)
	for p := 0; p < outer; p++ {
		for j := 0; j < n; j++ {
			for i := 0; i < inner; i++ {
				o[(p*n+j)*inner+i] = scale * gd[p*inner+i]
			}
		}
	}
}

// rowsOp runs fn over the rows of n elements of x in parallel.
func rowsOp(x []float32, n int, fn func(r int, row []float32)) {
	if n == 0 {
		return
	}
	grain := max(1, (1<<14)/n)
	parallel.For(len(x)/n, grain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			fn(r, x[r*n:(r+1)*n])
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

// softmaxOp dispatches a row kernel of the softmax family over the last
// axis (g: the upstream gradient of the backward ops).
func softmaxOp(op SoftmaxOp, x, g *Tensor) *Tensor {
	_, n := lastDim(x)
	if g != nil {
		mustSameShape("softmax backward", g, x)
	}
	rk, ok := current.(RowKernels)
	if !ok {
		return softmaxComposed(op, x, g)
	}
	c := call()
	xb := c.in(x)
	gb := xb
	if g != nil {
		gb = c.in(g)
	}
	out, ob := c.newOut(x.shape...)
	if n > 0 {
		rk.Softmax(op, ob, xb, gb, n)
	}
	c.done()
	return out
}

// Softmax returns softmax over the last axis.
func Softmax(t *Tensor) *Tensor { return softmaxOp(SoftmaxForward, t, nil) }

// LogSoftmax returns log_softmax over the last axis.
func LogSoftmax(t *Tensor) *Tensor { return softmaxOp(LogSoftmaxForward, t, nil) }

// SoftmaxBackward returns dx = y * (g - sum(g*y)) for y = Softmax(x).
func SoftmaxBackward(g, y *Tensor) *Tensor { return softmaxOp(SoftmaxBackwardOp, y, g) }

// LogSoftmaxBackward returns dx = g - softmax(x) * sum(g) for y = LogSoftmax(x).
func LogSoftmaxBackward(g, y *Tensor) *Tensor { return softmaxOp(LogSoftmaxBackwardOp, y, g) }

func (cpu) Softmax(op SoftmaxOp, out, x, g Buffer, n int) {
	o, xd, gd := f32(out), f32(x), f32(g)
	rowsOp(xd, n, func(r int, xr []float32) {
		y, gr := o[r*n:(r+1)*n], gd[r*n:(r+1)*n]
		switch op {
		case SoftmaxForward:
			softmaxRow(y, xr)
		case LogSoftmaxForward:
			addScalarVec(y, xr, -rowLSE(xr, y))
		case SoftmaxBackwardOp: // xr is y
			softmaxBackVec(y, xr, gr, dotVec(gr, xr), 1)
		case LogSoftmaxBackwardOp:
			expVec(y, xr)
			scaleVec(y, y, -float32(sumVec(gr)))
			addVec(y, y, gr)
		}
	})
}

// checkTargets panics unless there is one target per row of logits.
func checkTargets(op string, logits *Tensor, targets []int32) (rows, n int) {
	rows, n = lastDim(logits)
	if len(targets) != rows {
		panic(fmt.Sprintf("tensor: %s of %v with %d targets", op, logits.shape, len(targets)))
	}
	for _, t := range targets {
		if int(t) >= n {
			panic(fmt.Sprintf("tensor: %s: target %d outside [0,%d)", op, t, n))
		}
	}
	return rows, n
}

// CrossEntropy returns the mean over rows of -log softmax(logits)[target]
// for logits (..., K) and one target per row; rows whose target is negative
// are ignored. It also returns the number of counted rows. It reads the
// result on the host (a wait, on a device).
func CrossEntropy(logits *Tensor, targets []int32) (loss float64, count int) {
	st := CrossEntropyStats(logits, targets).host()
	return float64(st[0]), int(st[1])
}

// CrossEntropyStats returns [mean loss, count] as a 2-element tensor: the
// two results of CrossEntropy, left on the device when a backend is set (so
// a training step need not wait for its loss). On the CPU the loss is the
// float64 mean rounded to float32.
func CrossEntropyStats(logits *Tensor, targets []int32) *Tensor {
	_, n := checkTargets("cross entropy", logits, targets)
	rk, ok := current.(RowKernels)
	if !ok {
		return crossEntropyComposed(logits, targets)
	}
	c := call()
	lb, tb := c.in(logits), c.ids(targets)
	out, ob := c.newOut(2)
	rk.CrossEntropy(ob, lb, tb, n)
	c.done()
	return out
}

func (cpu) CrossEntropy(stats, logits, targets Buffer, n int) {
	x, tg := f32(logits), i32(targets)
	var loss float64
	count := 0
	e := make([]float32, n)
	for r, t := range tg {
		if t < 0 {
			continue
		}
		xr := x[r*n : (r+1)*n]
		loss += float64(rowLSE(xr, e) - xr[t])
		count++
	}
	if count > 0 {
		loss /= float64(count)
	}
	st := f32(stats)
	st[0], st[1] = float32(loss), float32(count)
}

// CrossEntropyBackward returns d loss/d logits scaled by g (the upstream
// gradient of the mean loss), count being CrossEntropy's.
func CrossEntropyBackward(logits *Tensor, targets []int32, count int, g float32) *Tensor {
	return crossEntropyBackward(logits, targets, From([]float32{0, float32(count)}, 2), g)
}

// CrossEntropyGrad returns d loss/d logits scaled by the one-element
// upstream gradient g, given stats from CrossEntropyStats on the same
// logits and targets, without reading stats or g on the host when they are
// on the device.
func CrossEntropyGrad(logits *Tensor, targets []int32, stats, g *Tensor) *Tensor {
	return Mul(crossEntropyBackward(logits, targets, stats, 1), g.Reshape())
}

func crossEntropyBackward(logits *Tensor, targets []int32, stats *Tensor, g float32) *Tensor {
	_, n := checkTargets("cross entropy backward", logits, targets)
	rk, ok := current.(RowKernels)
	if !ok {
		return crossEntropyBackwardComposed(logits, targets, stats, g)
	}
	c := call()
	lb, tb, sb := c.in(logits), c.ids(targets), c.in(stats)
	dx, db := c.newOut(logits.shape...)
	if n > 0 {
		rk.CrossEntropyBackward(db, lb, tb, sb, n, g)
	}
	c.done()
	return dx
}

func (cpu) CrossEntropyBackward(dx, logits, targets, stats Buffer, n int, g float32) {
	d, x, tg := f32(dx), f32(logits), i32(targets)
	count := f32(stats)[1]
	if count == 0 {
		clear(d)
		return
	}
	scale := g / count
	rowsOp(x, n, func(r int, xr []float32) {
		dr := d[r*n : (r+1)*n]
		t := tg[r]
		if t < 0 {
			clear(dr)
			return
		}
		softmaxRow(dr, xr)
		scaleVec(dr, dr, scale)
		dr[t] -= scale
	})
}
