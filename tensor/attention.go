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
	B, L, W := qkv.shape[0], qkv.shape[1], qkv.shape[2]
	if be := current; be != nil {
		c := dcall{be: be}
		qb, cb, sb := c.in(qkv), c.in(r.cosT), c.in(r.sinT)
		out, ob := c.newOut(qkv.shape...)
		be.Rotary(ob, qb, cb, sb, B, L, heads, r.D, r.L, inverse)
		c.done()
		return out
	}
	hostRead(qkv)
	out := newHostFull(qkv.shape...)
	h, qk := r.D/2, 2*heads*r.D
	sign := float32(1)
	if inverse {
		sign = -1
	}
	parallel.For(B*L, 16, func(lo, hi int) {
		for bl := lo; bl < hi; bl++ {
			p := bl % L
			cs, sn := r.cos[p*h:(p+1)*h], r.sin[p*h:(p+1)*h]
			src, dst := qkv.data[bl*W:(bl+1)*W], out.data[bl*W:(bl+1)*W]
			for off := 0; off < qk; off += r.D { // q and k heads
				rotaryVec(dst[off:off+h], dst[off+h:off+r.D], src[off:off+h], src[off+h:off+r.D], cs, sn, sign)
			}
			copy(dst[qk:], src[qk:]) // v
		}
	})
	return out
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
	return attention(qkv, heads, causal, current == nil && L <= 3*d && B*heads*L*L > 0)
}

func attention(qkv *Tensor, heads int, causal, keep bool) (out, lse, probs *Tensor) {
	B, L, d := attnDims(qkv, heads)
	D := heads * d
	if be := current; be != nil {
		c := dcall{be: be}
		qb := c.in(qkv)
		var ob, lb Buffer
		out, ob = c.newOut(B, L, D)
		lse, lb = c.newOut(B, heads, L)
		be.Attention(ob, lb, qb, B, L, heads, causal)
		c.done()
		return out, lse, nil
	}
	hostRead(qkv)
	out = newHostFull(B, L, D)
	lse = newHostFull(B, heads, L)
	if keep {
		probs = newHostFull(B, heads, L, L) // every row written below, masked entries cleared
	}
	scale := float32(1 / math.Sqrt(float64(d)))
	parallel.For(B*heads, 1, func(lo, hi int) {
		var scratch []float32
		if !keep {
			scratch = make([]float32, L*L)
		}
		for bh := lo; bh < hi; bh++ {
			b, h := bh/heads, bh%heads
			q, k, v := qkvHead(qkv, b, h, L, D, d)
			s := scratch
			if keep {
				s = probs.data[bh*L*L : (bh+1)*L*L]
			}
			// S = scale * Q K^T, masked, then softmax rows in place.
			gemm.Sgemm(false, true, L, L, d, scale, q, 3*D, k, 3*D, 0, s, L)
			ls := lse.data[bh*L : (bh+1)*L]
			for i := 0; i < L; i++ {
				row := s[i*L : (i+1)*L]
				if causal { // masked: probability 0
					clear(row[i+1:])
					row = row[:i+1]
				}
				ls[i] = softmaxRow(row, row)
			}
			o := out.data[b*L*D+h*d:]
			gemm.Sgemm(false, false, L, d, L, 1, s, L, v, 3*D, 0, o, D)
		}
	})
	return out, lse, probs
}

// AttentionBackward returns d qkv given the upstream gradient g (B, L, H*d),
// the forward output and its log-sum-exp, and the probabilities when
// AttentionForTraining kept them (probs may be nil: the scores are then
// recomputed per head).
func AttentionBackward(g, qkv, out, lse, probs *Tensor, heads int, causal bool) *Tensor {
	B, L, d := attnDims(qkv, heads)
	D := heads * d
	if be := current; be != nil {
		c := dcall{be: be}
		gb, qb, ob, lb := c.in(g), c.in(qkv), c.in(out), c.in(lse)
		dqkv, db := c.newOut(qkv.shape...)
		be.AttentionBackward(db, gb, qb, ob, lb, B, L, heads, causal)
		c.done()
		return dqkv
	}
	hostRead(g, qkv, out, lse)
	dqkv := newHostFull(qkv.shape...)
	scale := float32(1 / math.Sqrt(float64(d)))
	if probs != nil {
		hostRead(probs)
	}
	parallel.For(B*heads, 1, func(lo, hi int) {
		var scratch []float32
		if probs == nil {
			scratch = make([]float32, L*L)
		}
		dp := make([]float32, L*L)
		for bh := lo; bh < hi; bh++ {
			b, h := bh/heads, bh%heads
			q, k, v := qkvHead(qkv, b, h, L, D, d)
			dq, dk, dv := qkvHead(dqkv, b, h, L, D, d)
			gh := g.data[b*L*D+h*d:]
			oh := out.data[b*L*D+h*d:]
			p := scratch
			if probs != nil {
				p = probs.data[bh*L*L : (bh+1)*L*L]
			} else {
				// P = exp(scale Q K^T - lse), masked.
				gemm.Sgemm(false, true, L, L, d, scale, q, 3*D, k, 3*D, 0, p, L)
				ls := lse.data[bh*L : (bh+1)*L]
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
	return dqkv
}

func attnDims(qkv *Tensor, heads int) (B, L, d int) {
	if qkv.Rank() != 3 || heads <= 0 || qkv.shape[2]%(3*heads) != 0 {
		panic(fmt.Sprintf("tensor: attention of %v with %d heads", qkv.shape, heads))
	}
	return qkv.shape[0], qkv.shape[1], qkv.shape[2] / (3 * heads)
}

// qkvHead returns the strided views (leading dimension 3D) of head h of
// sequence b: q, k and v each start at their column offset.
func qkvHead(t *Tensor, b, h, L, D, d int) (q, k, v []float32) {
	base := b*L*3*D + h*d
	return t.data[base:], t.data[base+D:], t.data[base+2*D:]
}
