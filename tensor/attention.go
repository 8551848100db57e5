package tensor

import (
	"fmt"
	"math"

	"github.com/duo-go/duo/internal/gemm"
	"github.com/duo-go/duo/internal/parallel"
)

// Rotary holds the cos/sin tables of rotary position embeddings for
// sequences of up to L positions and head dimension d (base 10000,
// inv_freq_j = base^(-2j/d), "rotate-half" convention).
type Rotary struct {
	L, D     int
	cos, sin []float32 // (L, d/2)

	// The same tables as tensors, whose device copies a backend uploads on
	// first use and keeps.
	cosT, sinT *Tensor
}

// NewRotary builds the tables.
func NewRotary(L, d int, base float64) *Rotary {
	h := d / 2
	r := &Rotary{L: L, D: d, cos: make([]float32, L*h), sin: make([]float32, L*h)}
	for p := 0; p < L; p++ {
		for j := 0; j < h; j++ {
			invFreq := float32(math.Pow(base, -float64(2*j)/float64(d)))
			a := float64(float32(p) * invFreq)
			r.cos[p*h+j] = float32(math.Cos(a))
			r.sin[p*h+j] = float32(math.Sin(a))
		}
	}
	r.cosT, r.sinT = From(r.cos, L, h), From(r.sin, L, h)
	return r
}

// Apply rotates the q and k parts of a packed qkv tensor (B, L, 3*H*d),
// laid out [q | k | v] with heads of size d, and returns a new tensor (v is
// copied unchanged). inverse applies the opposite rotation, which is the
// backward of Apply.
func (r *Rotary) Apply(qkv *Tensor, heads int, inverse bool) *Tensor {
	if qkv.Rank() != 3 || qkv.shape[2] != 3*heads*r.D || qkv.shape[1] > r.L {
		panic(fmt.Sprintf("tensor: rotary of %v with %d heads of %d (max length %d)", qkv.shape, heads, r.D, r.L))
	}
	B, L := qkv.shape[0], qkv.shape[1]
	ak, ok := current.(AttentionKernels)
	if !ok {
		return rotaryComposed(r, qkv, heads, inverse)
	}
	c := call()
	qb, cb, sb := c.in(qkv), c.in(r.cosT), c.in(r.sinT)
	out, ob := c.newOut(qkv.shape...)
	ak.Rotary(ob, qb, cb, sb, B, L, heads, r.D, r.L, inverse)
	c.done()
	return out
}

func (cpu) Rotary(out, qkv, cos, sin Buffer, B, L, heads, dim, maxLen int, inverse bool) {
	o, x, cosd, sind := f32(out), f32(qkv), f32(cos), f32(sin)
	W := 3 * heads * dim
	h, qk := dim/2, 2*heads*dim
	sign := float32(1)
	if inverse {
		sign = -1
	}
	parallel.For(B*L, 16, func(lo, hi int) {
		for bl := lo; bl < hi; bl++ {
			p := bl % L
			cs, sn := cosd[p*h:(p+1)*h], sind[p*h:(p+1)*h]
			src, dst := x[bl*W:(bl+1)*W], o[bl*W:(bl+1)*W]
			for off := 0; off < qk; off += dim { // q and k heads
				rotaryVec(dst[off:off+h], dst[off+h:off+dim], src[off:off+h], src[off+h:off+dim], cs, sn, sign)
			}
			copy(dst[qk:], src[qk:]) // v
		}
	})
}

// Attention computes multi-head scaled dot-product attention from a packed
// qkv tensor (B, L, 3*H*d) laid out [q | k | v], returning the heads
// concatenated, (B, L, H*d), and the per-row log-sum-exp of the scores
// (B, H, L) that AttentionBackward needs. Only one head's L x L score matrix
// per worker exists at a time.
func Attention(qkv *Tensor, heads int, causal bool) (out, lse *Tensor) {
	out, lse, _ = attention(qkv, heads, causal, false)
	return out, lse
}

// AttentionForTraining is Attention that also returns the attention
// probabilities (B, H, L, L) for AttentionBackward, which then need not
// recompute them, when it runs on the CPU and they take no more memory than
// qkv (L <= 3d); probs is nil otherwise. The caller hands probs back with
// Recycle once the backward pass has used it.
func AttentionForTraining(qkv *Tensor, heads int, causal bool) (out, lse, probs *Tensor) {
	B, L, d := attnDims(qkv, heads)
	_, ok := current.(probsAttention)
	return attention(qkv, heads, causal, ok && L <= 3*d && B*heads*L*L > 0)
}

// probsAttention is the CPU's attention that keeps the probabilities for
// the backward pass (AttentionForTraining).
type probsAttention interface {
	AttentionProbs(out, lse, probs, qkv Buffer, B, L, heads int, causal bool)
	AttentionBackwardProbs(dqkv, g, qkv, out, lse, probs Buffer, B, L, heads int, causal bool)
}

func attention(qkv *Tensor, heads int, causal, keep bool) (out, lse, probs *Tensor) {
	B, L, d := attnDims(qkv, heads)
	D := heads * d
	ak, ok := current.(AttentionKernels)
	if !ok {
		out, lse = attentionComposed(qkv, heads, causal)
		return out, lse, nil
	}
	c := call()
	qb := c.in(qkv)
	var ob, lb, pb Buffer
	out, ob = c.newOut(B, L, D)
	lse, lb = c.newOut(B, heads, L)
	if keep {
		probs, pb = c.newOut(B, heads, L, L)
		current.(probsAttention).AttentionProbs(ob, lb, pb, qb, B, L, heads, causal)
	} else {
		ak.Attention(ob, lb, qb, B, L, heads, causal)
	}
	c.done()
	return out, lse, probs
}

func (c cpu) Attention(out, lse, qkv Buffer, B, L, heads int, causal bool) {
	c.AttentionProbs(out, lse, nil, qkv, B, L, heads, causal)
}

// AttentionProbs is Attention that writes the probabilities (B, H, L, L)
// into probs when it is not nil (masked entries cleared).
func (cpu) AttentionProbs(out, lse, probs, qkv Buffer, B, L, heads int, causal bool) {
	od, ld, pd, x := f32(out), f32(lse), f32(probs), f32(qkv)
	d := len(x) / max(B*L*3*heads, 1)
	D := heads * d
	scale := float32(1 / math.Sqrt(float64(d)))
	parallel.For(B*heads, 1, func(lo, hi int) {
		var scratch []float32
		if pd == nil {
			scratch = make([]float32, L*L)
		}
		for bh := lo; bh < hi; bh++ {
			b, h := bh/heads, bh%heads
			q, k, v := qkvHead(x, b, h, L, D, d)
			s := scratch
			if pd != nil {
				s = pd[bh*L*L : (bh+1)*L*L]
			}
			// S = scale * Q K^T, masked, then softmax rows in place.
			gemm.Sgemm(false, true, L, L, d, scale, q, 3*D, k, 3*D, 0, s, L)
			ls := ld[bh*L : (bh+1)*L]
			for i := 0; i < L; i++ {
				row := s[i*L : (i+1)*L]
				if causal { // masked: probability 0
					clear(row[i+1:])
					row = row[:i+1]
				}
				ls[i] = softmaxRow(row, row)
			}
			o := od[b*L*D+h*d:]
			gemm.Sgemm(false, false, L, d, L, 1, s, L, v, 3*D, 0, o, D)
		}
	})
}

// AttentionBackward returns d qkv given the upstream gradient g (B, L, H*d),
// the forward output and its log-sum-exp, and the probabilities when
// AttentionForTraining kept them (probs may be nil: the scores are then
// recomputed per head).
func AttentionBackward(g, qkv, out, lse, probs *Tensor, heads int, causal bool) *Tensor {
	B, L, d := attnDims(qkv, heads)
	if g.Len() != B*L*heads*d || out.Len() != g.Len() || lse.Len() != B*heads*L {
		panic(fmt.Sprintf("tensor: attention backward of %v with gradient %v", qkv.shape, g.shape))
	}
	ak, ok := current.(AttentionKernels)
	if !ok {
		return attentionBackwardComposed(g, qkv, out, lse, heads, causal)
	}
	c := call()
	gb, qb, ob, lb := c.in(g), c.in(qkv), c.in(out), c.in(lse)
	dqkv, db := c.newOut(qkv.shape...)
	if pa, ok := current.(probsAttention); ok && probs != nil {
		pa.AttentionBackwardProbs(db, gb, qb, ob, lb, c.in(probs), B, L, heads, causal)
	} else {
		ak.AttentionBackward(db, gb, qb, ob, lb, B, L, heads, causal)
	}
	c.done()
	return dqkv
}

func (c cpu) AttentionBackward(dqkv, g, qkv, out, lse Buffer, B, L, heads int, causal bool) {
	c.AttentionBackwardProbs(dqkv, g, qkv, out, lse, nil, B, L, heads, causal)
}

// AttentionBackwardProbs is AttentionBackward with the forward's
// probabilities when probs is not nil.
func (cpu) AttentionBackwardProbs(dqkv, g, qkv, out, lse, probs Buffer, B, L, heads int, causal bool) {
	dx, gd, x, od, ld, pd := f32(dqkv), f32(g), f32(qkv), f32(out), f32(lse), f32(probs)
	d := len(x) / max(B*L*3*heads, 1)
	D := heads * d
	scale := float32(1 / math.Sqrt(float64(d)))
	parallel.For(B*heads, 1, func(lo, hi int) {
		var scratch []float32
		if pd == nil {
			scratch = make([]float32, L*L)
		}
		dp := make([]float32, L*L)
		for bh := lo; bh < hi; bh++ {
			b, h := bh/heads, bh%heads
			q, k, v := qkvHead(x, b, h, L, D, d)
			dq, dk, dv := qkvHead(dx, b, h, L, D, d)
			gh := gd[b*L*D+h*d:]
			oh := od[b*L*D+h*d:]
			p := scratch
			if pd != nil {
				p = pd[bh*L*L : (bh+1)*L*L]
			} else {
				// P = exp(scale Q K^T - lse), masked.
				gemm.Sgemm(false, true, L, L, d, scale, q, 3*D, k, 3*D, 0, p, L)
				ls := ld[bh*L : (bh+1)*L]
				for i := 0; i < L; i++ {
					row := p[i*L : (i+1)*L]
					if causal {
						clear(row[i+1:])
						row = row[:i+1]
					}
					expShiftSum(row, row, ls[i])
				}
			}
			// dV = P^T dO; dP = dO V^T.
			gemm.Sgemm(true, false, L, d, L, 1, p, L, gh, D, 0, dv, 3*D)
			gemm.Sgemm(false, true, L, L, d, 1, gh, D, v, 3*D, 0, dp, L)
			// dS = P * (dP - rowsum(dO * O)), times the score scale.
			for i := 0; i < L; i++ {
				di := dotVec(gh[i*D:i*D+d], oh[i*D:i*D+d])
				pr, dr := p[i*L:(i+1)*L], dp[i*L:(i+1)*L]
				if causal { // P is 0 there
					clear(dr[i+1:])
					pr, dr = pr[:i+1], dr[:i+1]
				}
				softmaxBackVec(dr, pr, dr, di, scale)
			}
			// dQ = dS K; dK = dS^T Q.
			gemm.Sgemm(false, false, L, d, L, 1, dp, L, k, 3*D, 0, dq, 3*D)
			gemm.Sgemm(true, false, L, d, L, 1, dp, L, q, 3*D, 0, dk, 3*D)
		}
	})
}

func attnDims(qkv *Tensor, heads int) (B, L, d int) {
	if qkv.Rank() != 3 || heads <= 0 || qkv.shape[2]%(3*heads) != 0 {
		panic(fmt.Sprintf("tensor: attention of %v with %d heads", qkv.shape, heads))
	}
	return qkv.shape[0], qkv.shape[1], qkv.shape[2] / (3 * heads)
}

// qkvHead returns the strided views (leading dimension 3D) of head h of
// sequence b: q, k and v each start at their column offset.
func qkvHead(t []float32, b, h, L, D, d int) (q, k, v []float32) {
	base := b*L*3*D + h*d
	return t[base:], t[base+D:], t[base+2*D:]
}
