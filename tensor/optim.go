package tensor

import (
	"math"

	"github.com/duo-go/duo/internal/parallel"
)

// Kernels of the optimiser, the weight average and gradient clipping (the
// loops of package nn's AdamW, EMA and ClipGradNorm), so that they run on
// the device with the rest of a training step.

// AdamWParams are the hyper-parameters and the step number of one AdamW
// update (PyTorch's torch.optim.AdamW).
type AdamWParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Step                               int // 1 for the first update
}

// AdamWStep applies one AdamW update in place to the parameter w with
// gradient g and moments m and v (all of one shape): w <- w (1 - lr wd),
// m, v moments, w <- w - lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), with the
// constants folded in float64 and rounded to float32 once.
func AdamWStep(w, g, m, v *Tensor, p AdamWParams) {
	mustSameShape("adamw", w, g)
	mustSameShape("adamw", w, m)
	mustSameShape("adamw", w, v)
	ok, isOpt := current.(OptimizerKernels)
	if !isOpt {
		adamWComposed(w, g, m, v, p)
		return
	}
	c := call()
	gb := c.in(g)
	ok.AdamW(c.inout(w), gb, c.inout(m), c.inout(v), p)
	c.done()
}

func (cpu) AdamW(w, g, m, v Buffer, p AdamWParams) {
	bc1 := 1 - math.Pow(p.Beta1, float64(p.Step))
	bc2 := 1 - math.Pow(p.Beta2, float64(p.Step))
	b1, b2 := float32(p.Beta1), float32(p.Beta2)
	k := &adamConsts{
		decay:    float32(1 - p.LR*p.WeightDecay),
		b1:       b1,
		c1:       1 - b1,
		b2:       b2,
		c2:       1 - b2,
		stepSize: float32(p.LR / bc1),
		rbc2:     float32(1 / math.Sqrt(bc2)),
		eps:      float32(p.Eps),
	}
	wd, gd, md, vd := f32(w), f32(g), f32(m), f32(v)
	parallel.For(len(wd), 1<<14, func(lo, hi int) {
		adamwVec(wd[lo:hi], gd[lo:hi], md[lo:hi], vd[lo:hi], k)
	})
}

// EMAStep moves shadow towards w in place: shadow -= k * (shadow - w).
func EMAStep(shadow, w *Tensor, k float32) {
	mustSameShape("ema", shadow, w)
	ok, isOpt := current.(OptimizerKernels)
	if !isOpt {
		AddScaled(shadow, Sub(shadow, w), -k)
		return
	}
	c := call()
	wb := c.in(w)
	ok.EMA(c.inout(shadow), wb, k)
	c.done()
}

func (cpu) EMA(shadow, w Buffer, k float32) {
	s, x := f32(shadow), f32(w)
	for j := range s {
		s[j] -= k * (s[j] - x[j])
	}
}

// SumSquares returns the sum of the squares of every element of ts (nil
// entries are skipped) as a one-element tensor: the square of the global
// gradient norm. The CPU accumulates each tensor in float64; the device in
// float32.
func SumSquares(ts ...*Tensor) *Tensor {
	c := call()
	out, ob := c.newOut()
	first := true
	for _, t := range ts {
		if t == nil || t.n == 0 {
			continue
		}
		c.be.SumSquares(ob, c.in(t), !first)
		first = false
	}
	if first {
		c.be.Fill(ob, 0)
	}
	c.done()
	return out
}

func (cpu) SumSquares(out, t Buffer, accumulate bool) {
	o := f32(out)
	s := sumSqDevVec(f32(t), 0)
	if accumulate {
		s += float64(o[0])
	}
	o[0] = float32(s)
}

// ClipByGlobalNorm scales ts in place so that their global L2 norm is at
// most maxNorm (as torch.nn.utils.clip_grad_norm_; maxNorm <= 0 only
// measures), by maxNorm/(norm+1e-6) when the norm exceeds maxNorm, and
// returns the sum of squares before clipping as a one-element tensor, which
// stays on the device with a backend: the clipping itself reads it there.
// nil entries are skipped.
func ClipByGlobalNorm(ts []*Tensor, maxNorm float64) (sumsq *Tensor) {
	ss := SumSquares(ts...)
	if maxNorm <= 0 {
		return ss
	}
	ok, isOpt := current.(OptimizerKernels)
	if !isOpt {
		clipComposed(ts, ss, maxNorm)
		return ss
	}
	c := call()
	sb := c.in(ss)
	for _, t := range ts {
		if t != nil && t.n > 0 {
			ok.ClipByNorm(c.inout(t), sb, float32(maxNorm))
		}
	}
	c.done()
	return ss
}

func (cpu) ClipByNorm(g, sumsq Buffer, maxNorm float32) {
	norm := math.Sqrt(float64(f32(sumsq)[0]))
	if norm <= float64(maxNorm) {
		return
	}
	k := float32(float64(maxNorm) / (norm + 1e-6))
	d := f32(g)
	parallel.For(len(d), 1<<14, func(lo, hi int) { scaleVec(d[lo:hi], d[lo:hi], k) })
}
