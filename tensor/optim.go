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
	if be := current; be != nil {
		c := dcall{be: be}
		gb := c.in(g)
		be.AdamW(c.inout(w), gb, c.inout(m), c.inout(v), p)
		c.done()
		return
	}
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
	hostRead(g)
	hostWrite(w)
	hostWrite(m)
	hostWrite(v)
	wd, gd, md, vd := w.data, g.data, m.data, v.data
	parallel.For(len(wd), 1<<14, func(lo, hi int) {
		adamwVec(wd[lo:hi], gd[lo:hi], md[lo:hi], vd[lo:hi], k)
	})
}

// EMAStep moves shadow towards w in place: shadow -= k * (shadow - w).
func EMAStep(shadow, w *Tensor, k float32) {
	mustSameShape("ema", shadow, w)
	if be := current; be != nil {
		c := dcall{be: be}
		wb := c.in(w)
		be.EMA(c.inout(shadow), wb, k)
		c.done()
		return
	}
	hostRead(w)
	hostWrite(shadow)
	s, x := shadow.data, w.data
	for j := range s {
		s[j] -= k * (s[j] - x[j])
	}
}

// SumSquares returns the sum of the squares of every element of ts (nil
// entries are skipped) as a one-element tensor: the square of the global
// gradient norm. The CPU accumulates in float64; the device in float32.
func SumSquares(ts ...*Tensor) *Tensor {
	if be := current; be != nil {
		c := dcall{be: be}
		out, ob := c.newOut()
		first := true
		for _, t := range ts {
			if t == nil || t.n == 0 {
				continue
			}
			be.SumSquares(ob, c.in(t), !first)
			first = false
		}
		if first {
			be.Fill(ob, 0)
		}
		c.done()
		return out
	}
	return Scalar(float32(sumSquares(ts)))
}

// sumSquares is the CPU sum of squares in float64.
func sumSquares(ts []*Tensor) float64 {
	var s float64
	for _, t := range ts {
		if t == nil {
			continue
		}
		s += sumSqDevVec(t.host(), 0)
	}
	return s
}

// ClipByGlobalNorm scales ts in place so that their global L2 norm is at
// most maxNorm (as torch.nn.utils.clip_grad_norm_; maxNorm <= 0 only
// measures), by maxNorm/(norm+1e-6) when the norm exceeds maxNorm, and
// returns the sum of squares before clipping as a one-element tensor, which
// stays on the device with a backend: the clipping itself reads it there.
// nil entries are skipped.
func ClipByGlobalNorm(ts []*Tensor, maxNorm float64) (sumsq *Tensor) {
	if be := current; be != nil {
		ss := SumSquares(ts...)
		if maxNorm > 0 {
			c := dcall{be: be}
			sb := c.in(ss)
			for _, t := range ts {
				if t != nil && t.n > 0 {
					be.ClipByNorm(c.inout(t), sb, float32(maxNorm))
				}
			}
			c.done()
		}
		return ss
	}
	s := sumSquares(ts)
	if norm := math.Sqrt(s); maxNorm > 0 && norm > maxNorm {
		k := float32(maxNorm / (norm + 1e-6))
		for _, t := range ts {
			if t == nil {
				continue
			}
			d := t.Data()
			parallel.For(len(d), 1<<14, func(lo, hi int) { scaleVec(d[lo:hi], d[lo:hi], k) })
		}
	}
	return Scalar(float32(s))
}
