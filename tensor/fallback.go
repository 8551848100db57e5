package tensor

import (
	"math"

	"github.com/duo-go/duo/internal/usdm"
)

// The compositions of the fused groups (fused.go) from core operations: what
// an operation runs on a backend that lacks the group. They run on the
// current backend like any other operation (no host round trips for the
// bulk of the work), trading speed and some float32 accuracy (sqrt as
// exp(log/2), log(1+x) for log1p) for a backend that only implements the
// core. The conformance suite runs them on CoreOnly(CPU()) and on a core-
// only Vulkan backend. Two read a few values on the host: gradient clipping
// (the norm, to choose the scale) and the USDM loss (three values per row
// for the row constants of Eq. 17, computed in float64 by internal/usdm).

// col returns v as a (len(v), 1) column tensor for per-row broadcasting.
func col(v []float32) *Tensor { return From(v, len(v), 1) }

// sqrtComposed returns sqrt(t) = exp(log(t)/2) (0 at 0).
func sqrtComposed(t *Tensor) *Tensor { return Exp(Scale(Log(t), 0.5)) }

// RowKernels.

func softmaxComposed(op SoftmaxOp, x, g *Tensor) *Tensor {
	rows, n := lastDim(x)
	x2 := x.Reshape(rows, n)
	var out *Tensor
	switch op {
	case SoftmaxForward:
		e := Exp(Sub(x2, Max(x2, -1, true)))
		out = Div(e, Sum(e, -1, true))
	case LogSoftmaxForward:
		out = Sub(x2, LogSumExp(x2, -1, true))
	case SoftmaxBackwardOp: // x is y
		g2 := g.Reshape(rows, n)
		out = Mul(x2, Sub(g2, Sum(Mul(g2, x2), -1, true)))
	case LogSoftmaxBackwardOp:
		g2 := g.Reshape(rows, n)
		out = Sub(g2, Mul(Exp(x2), Sum(g2, -1, true)))
	}
	return out.Reshape(x.shape...)
}

// ceMask returns the targets with ignored (negative) ones set to 0, the
// 0/1 weight of every row and the number of counted rows.
func ceMask(targets []int32) (idx []int32, w []float32, count int) {
	idx, w = make([]int32, len(targets)), make([]float32, len(targets))
	for r, t := range targets {
		if t >= 0 {
			idx[r], w[r] = t, 1
			count++
		}
	}
	return idx, w, count
}

func crossEntropyComposed(logits *Tensor, targets []int32) *Tensor {
	rows, n := lastDim(logits)
	idx, w, count := ceMask(targets)
	loss := Scalar(0)
	if count > 0 {
		pick := GatherLast(LogSoftmax(logits.Reshape(rows, n)), idx)
		loss = Scale(Sum(Mul(pick, From(w, rows)), 0, false), -1/float32(count))
	}
	return Concat(0, loss.Reshape(1), From([]float32{float32(count)}, 1))
}

func crossEntropyBackwardComposed(logits *Tensor, targets []int32, stats *Tensor, g float32) *Tensor {
	rows, n := lastDim(logits)
	idx, w, _ := ceMask(targets)
	count := stats.host()[1] // the backend contract reads the count from stats
	if count == 0 {
		return Scale(logits, 0)
	}
	onehot := GatherLastBackward(From(w, rows), idx, []int{rows, n})
	p := Mul(Softmax(logits.Reshape(rows, n)), col(w))
	return Scale(Sub(p, onehot), g/count).Reshape(logits.shape...)
}

func layerNormComposed(x, w *Tensor, eps float32) (y, mean, rstd *Tensor) {
	rows, n := lastDim(x)
	x2 := x.Reshape(rows, n)
	mean = Mean(x2, -1, true)
	xc := Sub(x2, mean)
	rstd = Exp(Scale(Log(AddScalar(Mean(Mul(xc, xc), -1, true), eps)), -0.5))
	y = Mul(Mul(xc, rstd), w.Reshape(n))
	return y.Reshape(x.shape...), mean.Reshape(rows), rstd.Reshape(rows)
}

func layerNormBackwardComposed(g, x, w, mean, rstd, dw *Tensor) *Tensor {
	rows, n := lastDim(x)
	g2, rs := g.Reshape(rows, n), rstd.Reshape(rows, 1)
	xhat := Mul(Sub(x.Reshape(rows, n), mean.Reshape(rows, 1)), rs)
	dxh := Mul(g2, w.Reshape(n))
	a, b := Mean(dxh, -1, true), Mean(Mul(dxh, xhat), -1, true)
	dx := Mul(rs, Sub(Sub(dxh, a), Mul(xhat, b)))
	if dw != nil {
		AddScaled(dw, Sum(Mul(g2, xhat), 0, false).Reshape(dw.shape...), 1)
	}
	return dx.Reshape(x.shape...)
}

// LinearKernels.

func linearComposed(x, w, bias *Tensor) *Tensor {
	rows, in := lastDim(x)
	nout := w.shape[0]
	y := MatMul(x.Reshape(rows, in), w, false, true)
	if bias != nil {
		y = Add(y, bias.Reshape(nout))
	}
	return y.Reshape(append(append([]int(nil), x.shape[:len(x.shape)-1]...), nout)...)
}

func linearBackwardComposed(g, x, w, dw, db *Tensor, wantDX bool) (dx *Tensor) {
	rows, in := lastDim(x)
	nout := w.shape[0]
	g2, x2 := g.Reshape(rows, nout), x.Reshape(rows, in)
	if wantDX {
		dx = MatMul(g2, w, false, false).Reshape(x.shape...)
	}
	if dw != nil {
		MatMulInto(dw.Reshape(nout, in), g2, x2, true, false, 1)
	}
	if db != nil {
		AddScaled(db, Sum(g2, 0, false).Reshape(db.shape...), 1)
	}
	return dx
}

// AttentionKernels.

func rotaryComposed(r *Rotary, qkv *Tensor, heads int, inverse bool) *Tensor {
	B, L := qkv.shape[0], qkv.shape[1]
	h := r.D / 2
	parts := Split(qkv.Reshape(B, L, 3*heads, r.D), 2, 2*heads, heads) // q and k heads, v
	halves := Split(parts[0].Reshape(B, L, 2*heads, 2, h), 3, 1, 1)
	x1, x2 := halves[0], halves[1]
	cos := r.cosT.Rows(0, L).Reshape(1, L, 1, 1, h)
	sin := r.sinT.Rows(0, L).Reshape(1, L, 1, 1, h)
	if inverse {
		sin = Scale(sin, -1)
	}
	d1 := Sub(Mul(x1, cos), Mul(x2, sin))
	d2 := Add(Mul(x2, cos), Mul(x1, sin))
	qk := Concat(3, d1, d2).Reshape(B, L, 2*heads, r.D)
	return Concat(2, qk, parts[1]).Reshape(qkv.shape...)
}

// splitHeads returns q, k and v of a packed qkv (B, L, 3*H*d) as
// (B*H, L, d) each.
func splitHeads(qkv *Tensor, heads int) (q, k, v *Tensor) {
	B, L, d := attnDims(qkv, heads)
	p := Split(qkv.Reshape(B, L, 3, heads*d), 2, 1, 1, 1)
	return headsFirst(p[0], B, L, heads, d), headsFirst(p[1], B, L, heads, d), headsFirst(p[2], B, L, heads, d)
}

// headsFirst lays out t (B, L, H*d) as (B*H, L, d), through (B, H*d, L).
func headsFirst(t *Tensor, B, L, heads, d int) *Tensor {
	return Transpose(Transpose(t.Reshape(B, L, heads*d)).Reshape(B*heads, d, L))
}

// mergeHeads is the inverse of headsFirst: (B*H, L, d) -> (B, L, H*d).
func mergeHeads(t *Tensor, B, L, heads, d int) *Tensor {
	return Transpose(Transpose(t).Reshape(B, heads*d, L))
}

// attentionProbs returns P = softmax(scale Q K^T) (masked) as (B*H, L, L),
// the scores' log-sum-exp (B*H, L) and the heads.
func attentionProbs(qkv *Tensor, heads int, causal bool, lse *Tensor) (p, lseOut, q, k, v *Tensor) {
	_, L, d := attnDims(qkv, heads)
	q, k, v = splitHeads(qkv, heads)
	s := Scale(MatMul(q, k, false, true), float32(1/math.Sqrt(float64(d))))
	if causal {
		mask := make([]float32, L*L)
		for i := range L {
			for j := i + 1; j < L; j++ {
				mask[i*L+j] = float32(math.Inf(-1))
			}
		}
		s = Add(s, From(mask, L, L))
	}
	if lse == nil {
		lse = LogSumExp(s, -1, false)
	}
	lse = lse.Reshape(s.shape[0], L)
	return Exp(Sub(s, lse.Reshape(s.shape[0], L, 1))), lse, q, k, v
}

func attentionComposed(qkv *Tensor, heads int, causal bool) (out, lse *Tensor) {
	B, L, d := attnDims(qkv, heads)
	p, lse, _, _, v := attentionProbs(qkv, heads, causal, nil)
	return mergeHeads(MatMul(p, v, false, false), B, L, heads, d), lse.Reshape(B, heads, L)
}

func attentionBackwardComposed(g, qkv, out, lse *Tensor, heads int, causal bool) *Tensor {
	B, L, d := attnDims(qkv, heads)
	p, _, q, k, v := attentionProbs(qkv, heads, causal, lse)
	dO, o := headsFirst(g, B, L, heads, d), headsFirst(out, B, L, heads, d)
	dv := MatMul(p, dO, true, false)
	dp := MatMul(dO, v, false, true)
	ds := Scale(Mul(p, Sub(dp, Sum(Mul(dO, o), -1, true))), float32(1/math.Sqrt(float64(d))))
	dq, dk := MatMul(ds, k, false, false), MatMul(ds, q, true, false)
	m := func(t *Tensor) *Tensor { return mergeHeads(t, B, L, heads, d).Reshape(B, L, 1, heads*d) }
	return Concat(2, m(dq), m(dk), m(dv)).Reshape(qkv.shape...)
}

// AdaLNKernels.

// perSeq views a (B, D) tensor as (B, 1, D), broadcast over positions.
func perSeq(v *Tensor, B, D int) *Tensor { return v.Reshape(B, 1, D) }

func modulateComposed(x, shift, scale *Tensor) *Tensor {
	B, _, D := adaDims("modulate", x, shift)
	return Add(Mul(x, AddScalar(perSeq(scale, B, D), 1)), perSeq(shift, B, D))
}

func modulateBackwardComposed(g, x, scale *Tensor) (dx, dshift, dscale *Tensor) {
	B, _, D := adaDims("modulate backward", x, scale)
	dx = Mul(g, AddScalar(perSeq(scale, B, D), 1))
	return dx, Sum(g, 1, false).Reshape(scale.shape...), Sum(Mul(g, x), 1, false).Reshape(scale.shape...)
}

func gatedAddComposed(h, y, gate *Tensor) *Tensor {
	B, _, D := adaDims("gated add", h, gate)
	return Add(h, Mul(perSeq(gate, B, D), y))
}

func gatedAddBackwardComposed(g, y, gate *Tensor) (dy, dgate *Tensor) {
	B, _, D := adaDims("gated add backward", y, gate)
	return Mul(g, perSeq(gate, B, D)), Sum(Mul(g, y), 1, false).Reshape(gate.shape...)
}

// OptimizerKernels (EMAStep composes inline: one AddScaled).

func adamWComposed(w, g, m, v *Tensor, p AdamWParams) {
	bc1 := 1 - math.Pow(p.Beta1, float64(p.Step))
	bc2 := 1 - math.Pow(p.Beta2, float64(p.Step))
	b1, b2 := float32(p.Beta1), float32(p.Beta2)
	w.CopyFrom(Scale(w, float32(1-p.LR*p.WeightDecay)))
	m.CopyFrom(Add(Scale(m, b1), Scale(g, 1-b1)))
	v.CopyFrom(Add(Scale(v, b2), Scale(Mul(g, g), 1-b2)))
	denom := AddScalar(Scale(sqrtComposed(v), float32(1/math.Sqrt(bc2))), float32(p.Eps))
	AddScaled(w, Div(m, denom), -float32(p.LR/bc1))
}

func clipComposed(ts []*Tensor, sumsq *Tensor, maxNorm float64) {
	norm := math.Sqrt(float64(sumsq.Item()))
	if norm <= maxNorm {
		return
	}
	k := float32(maxNorm / (norm + 1e-6))
	for _, t := range ts {
		if t != nil && t.n > 0 {
			t.CopyFrom(Scale(t, k))
		}
	}
}

// USDMLossKernel: the O(rows K) work on the backend (log_softmax, the sum
// of log(1 + R x_v), gathers, the gradient's rows); the row constants of
// Eq. 17 (RowLoss, GradCoefs) on the host from s, x_theta at z_t and at x_0.
func usdmLossComposed(c *dcall, losses, grad Buffer, logits *Tensor, tg USDMTargets) {
	rows, K := lastDim(logits)
	L := rows / len(tg.Alpha)
	R := make([]float32, rows)
	for r := range R {
		a := tg.Alpha[r/L]
		R[r] = float32(float64(K) * a / (1 - a))
	}
	logX := LogSoftmax(logits.Reshape(rows, K))
	px := Exp(logX)
	rx := Mul(px, col(R))
	t := Log(AddScalar(rx, 1))
	s := Sub(Sum(t, -1, false), GatherLast(t, tg.X0)).Host()
	lxi, lxm := GatherLast(logX, tg.Zt).Host(), GatherLast(logX, tg.X0).Host()
	loss := make([]float32, rows)
	cA, cZ, cM := make([]float32, rows), make([]float32, rows), make([]float32, rows)
	for r := range rows {
		a, ap, e := tg.Alpha[r/L], tg.AlphaPrime[r/L], tg.Zt[r] == tg.X0[r]
		loss[r] = float32(usdm.RowLoss(K, float64(s[r]), float64(lxi[r]), float64(lxm[r]), e, a, ap))
		x, y, z := usdm.GradCoefs(K, math.Exp(float64(lxi[r])), math.Exp(float64(lxm[r])), e, a, ap)
		cA[r], cZ[r], cM[r] = float32(x), float32(y), float32(z)
	}
	c.be.Upload(losses, loss)
	if grad == nil {
		return
	}
	shape := []int{rows, K}
	d := Mul(Div(rx, AddScalar(rx, 1)), col(cA))
	d = Add(Add(d, GatherLastBackward(From(cZ, rows), tg.Zt, shape)), GatherLastBackward(From(cM, rows), tg.X0, shape))
	dl := Sub(d, Mul(px, Sum(d, -1, true))) // through log_softmax
	c.be.Unary(UnaryCopy, grad, c.in(dl), 0)
}
