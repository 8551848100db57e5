package tensor

import "math"

// Float32 elementary functions for the hot loops. They are accurate to a few
// float32 ulps (tested against math) and several times faster than the
// float64 functions of package math.

const (
	log2e = 1.44269504088896341
	ln2hi = 0.693145751953125       // high bits of ln 2, exact in float32
	ln2lo = 1.42860682030941723e-06 // ln 2 - ln2hi
)

// expf returns e^x: x = n ln2 + r with |r| <= ln2/2, e^r by its degree-6
// Taylor polynomial (truncation error < 1.3e-7), times 2^n.
func expf(x float32) float32 {
	switch {
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -87.33654:
		if x != x { // NaN
			return x
		}
		return 0
	}
	k := x * log2e
	if k < 0 {
		k -= 0.5
	} else {
		k += 0.5
	}
	n := int32(k)
	fn := float32(n)
	r := x - fn*ln2hi - fn*ln2lo
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	if n > 127 { // 2^128 overflows the exponent: scale in two steps
		return p * 2 * math.Float32frombits(uint32(n+126)<<23)
	}
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// expVec sets dst[i] = expf(src[i]) for every element of src (dst may be
// src, and must be at least as long). Whole groups of 8 go through the
// AVX2/FMA kernel where the CPU has it; the tail, and everything elsewhere,
// through expf. Results agree with expf to about an ulp (the kernel rounds
// ties of x log2 e to even and fuses the reduction).
func expVec(dst, src []float32) {
	dst = dst[:len(src)]
	if k := asmLen(len(src)); k > 0 {
		expAVX2(&dst[0], &src[0], k)
		dst, src = dst[k:], src[k:]
	}
	for i, x := range src {
		dst[i] = expf(x)
	}
}
