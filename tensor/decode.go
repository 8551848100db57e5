package tensor

import (
	"fmt"
	"math"

	"github.com/duo-go/duo/internal/parallel"
)

// Incremental (one position at a time) forms of rotary embeddings and
// causal attention, for decoding with a key/value cache. CPU only.

// ApplyAt rotates the q and k parts of a packed qkv tensor (B, 3*H*d) of B
// sequences at one position pos, as Apply does at that position.
func (r *Rotary) ApplyAt(qkv *Tensor, heads, pos int) *Tensor {
	if qkv.Rank() != 2 || qkv.shape[1] != 3*heads*r.D || pos < 0 || pos >= r.L {
		panic(fmt.Sprintf("tensor: rotary at %d of %v with %d heads of %d (max length %d)", pos, qkv.shape, heads, r.D, r.L))
	}
	hostRead(qkv)
	B, W := qkv.shape[0], qkv.shape[1]
	out := newHostFull(qkv.shape...)
	h, qk := r.D/2, 2*heads*r.D
	cs, sn := r.cos[pos*h:(pos+1)*h], r.sin[pos*h:(pos+1)*h]
	for b := 0; b < B; b++ {
		src, dst := qkv.data[b*W:(b+1)*W], out.data[b*W:(b+1)*W]
		for off := 0; off < qk; off += r.D {
			rotaryVec(dst[off:off+h], dst[off+h:off+r.D], src[off:off+h], src[off+h:off+r.D], cs, sn, 1)
		}
		copy(dst[qk:], src[qk:])
	}
	return out
}

// KVCache holds the keys and values of the positions decoded so far, for
// B sequences of at most L positions, H heads of size d.
type KVCache struct {
	B, L, H, D int
	N          int       // positions held
	k, v       []float32 // (B, H, L, d)
}

// NewKVCache returns an empty cache.
func NewKVCache(B, L, H, d int) *KVCache {
	return &KVCache{B: B, L: L, H: H, D: d, k: make([]float32, B*H*L*d), v: make([]float32, B*H*L*d)}
}

// Attend appends the keys and values of a packed, rotated qkv (B, 3*H*d) at
// the next position and returns the attention of its queries over every
// position held (causal attention of the newest position), (B, H*d).
func (c *KVCache) Attend(qkv *Tensor) *Tensor {
	HD := c.H * c.D
	if qkv.Rank() != 2 || qkv.shape[0] != c.B || qkv.shape[1] != 3*HD || c.N >= c.L {
		panic(fmt.Sprintf("tensor: attend %v with a cache of %d of %d positions, %d x %d heads", qkv.shape, c.N, c.L, c.H, c.D))
	}
	hostRead(qkv)
	p := c.N
	c.N++
	out := newHost(c.B, HD)
	scale := float32(1 / math.Sqrt(float64(c.D)))
	parallel.For(c.B*c.H, 1, func(lo, hi int) {
		s := make([]float32, c.N)
		for bh := lo; bh < hi; bh++ {
			b, h := bh/c.H, bh%c.H
			row := qkv.data[b*3*HD : (b+1)*3*HD]
			q := row[h*c.D : (h+1)*c.D]
			base := (b*c.H + h) * c.L * c.D
			copy(c.k[base+p*c.D:base+(p+1)*c.D], row[HD+h*c.D:HD+(h+1)*c.D])
			copy(c.v[base+p*c.D:base+(p+1)*c.D], row[2*HD+h*c.D:2*HD+(h+1)*c.D])
			m := float32(math.Inf(-1))
			for j := range s {
				s[j] = dotVec(q, c.k[base+j*c.D:base+(j+1)*c.D]) * scale
				m = max(m, s[j])
			}
			var z float64
			for j := range s {
				s[j] = float32(math.Exp(float64(s[j] - m)))
				z += float64(s[j])
			}
			o := out.data[b*HD+h*c.D : b*HD+(h+1)*c.D]
			for j := range s {
				axpyVec(float32(float64(s[j])/z), c.v[base+j*c.D:base+(j+1)*c.D], o)
			}
		}
	})
	return out
}
