package vk

import (
	"fmt"
	"math"
)

// rotary holds the device cos/sin tables of rotary position embeddings for
// sequences of up to L positions and head dimension D (tensor.Rotary).
type rotary struct {
	L, D     int
	cos, sin *Buffer // (L, D/2)
}

// newRotary builds the tables on the host exactly as tensor.NewRotary does
// and uploads them.
func (d *Device) newRotary(L, dim int, base float64) *rotary {
	h := dim / 2
	cs, sn := make([]float32, L*h), make([]float32, L*h)
	for p := 0; p < L; p++ {
		for j := 0; j < h; j++ {
			invFreq := float32(math.Pow(base, -float64(2*j)/float64(dim)))
			a := float64(float32(p) * invFreq)
			cs[p*h+j] = float32(math.Cos(a))
			sn[p*h+j] = float32(math.Sin(a))
		}
	}
	return &rotary{L: L, D: dim, cos: d.NewBufferFrom(cs), sin: d.NewBufferFrom(sn)}
}

// Release frees the tables.
func (r *rotary) Release() {
	r.cos.Release()
	r.sin.Release()
}

// rotaryApply rotates the q and k heads of a packed qkv tensor
// (B, L, 3*heads*D) laid out [q | k | v] and writes the result, v copied
// unchanged, into out (tensor.Rotary.Apply); inverse applies the opposite
// rotation, the backward. out may be qkv itself.
func (d *Device) rotaryApply(out, qkv *Buffer, r *rotary, B, L, heads int, inverse bool) {
	if L > r.L || r.D%2 != 0 {
		panic(fmt.Sprintf("vk: rotary of length %d with tables for %d, head %d", L, r.L, r.D))
	}
	n := B * L * 3 * heads * r.D
	mustLen("rotary", qkv, n)
	mustLen("rotary", out, n)
	copyV := out != qkv
	sign := float32(1)
	if inverse {
		sign = -1
	}
	per := 2 * heads * (r.D / 2)
	if copyV {
		per += heads * r.D
	}
	d.run(kRotary, []uint32{b2u(copyV)}, [3]int{gridGroups(B*L*per, 256), 1, 1},
		push{}.u(B*L, L, heads, r.D).f(sign), wr(out), rd(qkv), rd(r.cos), rd(r.sin))
}

// attnConfig picks the workgroup (query or key rows per group) and the key
// tile that fits the device's shared memory.
func (d *Device) attnConfig(op string, qkv *Buffer, B, L, heads int) (hd int, spec func(causal bool) []uint32, groups [3]int) {
	if B <= 0 || L <= 0 || heads <= 0 || qkv.Len()%(B*L*3*heads) != 0 {
		panic(fmt.Sprintf("vk: %s of %d values with B=%d L=%d heads=%d", op, qkv.Len(), B, L, heads))
	}
	hd = qkv.Len() / (B * L * 3 * heads)
	br := 16
	for br < 64 && br < L {
		br *= 2
	}
	budget := min(d.info.MaxSharedMemory, 32768) - 1024
	bc := 1
	for bc < 64 && (2*bc)*(2*hd+2)*4 <= budget {
		bc *= 2
	}
	spec = func(causal bool) []uint32 {
		return []uint32{uint32(br), uint32(hd), uint32(bc), b2u(causal)}
	}
	return hd, spec, [3]int{(L + br - 1) / br, min(B*heads, 65535), 1}
}

// attention computes multi-head scaled dot-product attention from a packed
// qkv (B, L, 3*heads*d) laid out [q | k | v], writing out (B, L, heads*d)
// and the per-row log-sum-exp of the scores, lse (B, heads, L), that
// attentionBackward needs (tensor.Attention). One fused kernel: scores are
// never stored, only tiles of one head live in shared memory.
func (d *Device) attention(out, lse, qkv *Buffer, B, L, heads int, causal bool) {
	hd, spec, groups := d.attnConfig("attention", qkv, B, L, heads)
	mustLen("attention out", out, B*L*heads*hd)
	mustLen("attention lse", lse, B*heads*L)
	scale := float32(1 / math.Sqrt(float64(hd)))
	d.run(kAttnFwd, spec(causal), groups, push{}.u(B, L, heads).f(scale), rd(qkv), wr(out), wr(lse))
}

// attentionBackward writes dqkv given the upstream gradient g
// (B, L, heads*d), the forward's qkv, out and lse (tensor.AttentionBackward).
// Scores are recomputed tile by tile: one kernel for dQ (which also stores
// the rowsum(dO*O) terms) and one for dK and dV, each output row written by
// exactly one invocation.
func (d *Device) attentionBackward(dqkv, g, qkv, out, lse *Buffer, B, L, heads int, causal bool) {
	hd, spec, groups := d.attnConfig("attention backward", qkv, B, L, heads)
	mustLen("attention backward g", g, B*L*heads*hd)
	mustLen("attention backward out", out, B*L*heads*hd)
	mustLen("attention backward lse", lse, B*heads*L)
	mustLen("attention backward dqkv", dqkv, qkv.Len())
	scale := float32(1 / math.Sqrt(float64(hd)))
	delta := d.newBuffer(B * heads * L)
	defer delta.Release()
	pc := push{}.u(B, L, heads).f(scale)
	d.run(kAttnBwdDQ, spec(causal), groups, pc, rd(qkv), rd(out), rd(g), rd(lse), wr(delta), wr(dqkv))
	d.run(kAttnBwdDKV, spec(causal), groups, pc, rd(qkv), rd(g), rd(lse), rd(delta), wr(dqkv))
}
