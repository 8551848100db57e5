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

// sigmoidf returns 1/(1+e^-x).
func sigmoidf(x float32) float32 { return 1 / (1 + expf(-x)) }
