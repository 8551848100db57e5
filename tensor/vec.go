package tensor

import "math"

// Vector primitives of the CPU kernels. Each runs whole groups of 8
// elements through its AVX2/FMA kernel (vec_amd64.s) where the CPU has one
// and the rest, or everything elsewhere, through the Go loop below it; the
// two agree to float32 rounding (the kernels fuse some multiply-adds).
// Destinations may alias a source; other slices are read up to len of the
// first source.

// asmLen returns how many leading elements of n the kernels take: n rounded
// down to a multiple of 8, or 0 without AVX2/FMA.
func asmLen(n int) int {
	if haveAVX2 {
		return n &^ 7
	}
	return 0
}

// wideLen is asmLen for the AVX-512 kernels (16 lanes): the leading
// elements they take, 0 where the CPU lacks AVX-512F. Only GELU has them:
// the one elementwise pass a training step spends more than 2% in (the
// others are at most about 1% each, or bound by memory, as AdamW is).
func wideLen(n int) int {
	if haveAVX2 && haveAVX512 {
		return n &^ 15
	}
	return 0
}

// expShiftSum sets dst[i] = e^(src[i]-m) and returns the sum of dst,
// accumulated in float64.
func expShiftSum(dst, src []float32, m float32) float64 {
	dst = dst[:len(src)]
	var s float64
	if k := asmLen(len(src)); k > 0 {
		s = expShiftSumAVX2(&dst[0], &src[0], k, m)
		dst, src = dst[k:], src[k:]
	}
	for i, v := range src {
		e := expf(v - m)
		dst[i] = e
		s += float64(e)
	}
	return s
}

// geluVec sets dst[i] = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3),
// which is 0.5 x (1 + tanh u), the tanh approximation of GELU.
func geluVec(dst, x []float32) {
	dst = dst[:len(x)]
	if k := wideLen(len(x)); k > 0 {
		geluAVX512(&dst[0], &x[0], k)
		dst, x = dst[k:], x[k:]
	}
	if k := asmLen(len(x)); k > 0 {
		geluAVX2(&dst[0], &x[0], k)
		dst, x = dst[k:], x[k:]
	}
	for i, v := range x {
		dst[i] = v / (1 + expf(-2*geluC*(v+geluA*v*v*v)))
	}
}

// geluBackwardVec sets dst[i] = g[i] * GELU'(x[i]): with s = sigmoid(2u),
// GELU' = s + 2 x s (1-s) u'.
func geluBackwardVec(dst, g, x []float32) {
	dst, g = dst[:len(x)], g[:len(x)]
	if k := wideLen(len(x)); k > 0 {
		geluBackwardAVX512(&dst[0], &g[0], &x[0], k)
		dst, g, x = dst[k:], g[k:], x[k:]
	}
	if k := asmLen(len(x)); k > 0 {
		geluBackwardAVX2(&dst[0], &g[0], &x[0], k)
		dst, g, x = dst[k:], g[k:], x[k:]
	}
	for i, v := range x {
		s := 1 / (1 + expf(-2*geluC*(v+geluA*v*v*v)))
		t := v * (s * (1 - s)) * (1 + 3*geluA*v*v)
		dst[i] = g[i] * (s + t*(2*geluC))
	}
}

// adamConsts are the float32 constants of one AdamW update, in the order
// adamwAVX2 reads them.
type adamConsts struct {
	decay, b1, c1, b2, c2, stepSize, rbc2, eps float32 // c1 = 1-b1, c2 = 1-b2
}

// adamwVec applies the AdamW update of AdamWStep to w, m and v with
// gradient g. The kernel and the Go loop round identically.
func adamwVec(w, g, m, v []float32, k *adamConsts) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	if n := asmLen(len(w)); n > 0 {
		adamwAVX2(&w[0], &g[0], &m[0], &v[0], n, k)
		w, g, m, v = w[n:], g[n:], m[n:], v[n:]
	}
	for j := range w {
		w[j] *= k.decay
		m[j] = k.b1*m[j] + k.c1*g[j]
		v[j] = k.b2*v[j] + k.c2*g[j]*g[j]
		w[j] -= k.stepSize * m[j] / (float32(math.Sqrt(float64(v[j])))*k.rbc2 + k.eps)
	}
}

// maxVec returns the maximum of x (-Inf for an empty x, NaN if any element
// is NaN).
func maxVec(x []float32) float32 {
	m := float32(math.Inf(-1))
	if k := asmLen(len(x)); k > 0 {
		m = maxAVX2(&x[0], k)
		x = x[k:]
	}
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

// sumVec returns the sum of x, accumulated in float64.
func sumVec(x []float32) float64 {
	var s float64
	if k := asmLen(len(x)); k > 0 {
		s = sumAVX2(&x[0], k)
		x = x[k:]
	}
	for _, v := range x {
		s += float64(v)
	}
	return s
}

// sumSqDevVec returns the sum of (x[i] - mu)^2, in float64.
func sumSqDevVec(x []float32, mu float64) float64 {
	var s float64
	if k := asmLen(len(x)); k > 0 {
		s = sumSqDevAVX2(&x[0], k, mu)
		x = x[k:]
	}
	for _, v := range x {
		d := float64(v) - mu
		s += d * d
	}
	return s
}

// dotVec returns the float32 dot product of x and y.
func dotVec(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	if k := asmLen(len(x)); k > 0 {
		s = dotAVX2(&x[0], &y[0], k)
		x, y = x[k:], y[k:]
	}
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// scaleVec sets dst[i] = a x[i].
func scaleVec(dst, x []float32, a float32) {
	dst = dst[:len(x)]
	if k := asmLen(len(x)); k > 0 {
		scaleAVX2(&dst[0], &x[0], k, a)
		dst, x = dst[k:], x[k:]
	}
	for i, v := range x {
		dst[i] = a * v
	}
}

// addScalarVec sets dst[i] = x[i] + a.
func addScalarVec(dst, x []float32, a float32) {
	dst = dst[:len(x)]
	if k := asmLen(len(x)); k > 0 {
		addScalarAVX2(&dst[0], &x[0], k, a)
		dst, x = dst[k:], x[k:]
	}
	for i, v := range x {
		dst[i] = v + a
	}
}

// mulVec sets dst[i] = x[i] y[i].
func mulVec(dst, x, y []float32) {
	dst, y = dst[:len(x)], y[:len(x)]
	if k := asmLen(len(x)); k > 0 {
		mulAVX2(&dst[0], &x[0], &y[0], k)
		dst, x, y = dst[k:], x[k:], y[k:]
	}
	for i, v := range x {
		dst[i] = v * y[i]
	}
}

// addVec sets dst[i] = x[i] + y[i].
func addVec(dst, x, y []float32) {
	dst, y = dst[:len(x)], y[:len(x)]
	if k := asmLen(len(x)); k > 0 {
		addAVX2(&dst[0], &x[0], &y[0], k)
		dst, x, y = dst[k:], x[k:], y[k:]
	}
	for i, v := range x {
		dst[i] = v + y[i]
	}
}

// fmaVec sets dst[i] = x[i] y[i] + z[i] (fused in the kernel); with z = dst
// it accumulates dst += x y.
func fmaVec(dst, x, y, z []float32) {
	dst, y, z = dst[:len(x)], y[:len(x)], z[:len(x)]
	if k := asmLen(len(x)); k > 0 {
		fmaAVX2(&dst[0], &x[0], &y[0], &z[0], k)
		dst, x, y, z = dst[k:], x[k:], y[k:], z[k:]
	}
	for i, v := range x {
		dst[i] = v*y[i] + z[i]
	}
}

// axpyVec sets y[i] += a x[i] (fused in the kernel).
func axpyVec(a float32, x, y []float32) {
	y = y[:len(x)]
	if k := asmLen(len(x)); k > 0 {
		axpyAVX2(&y[0], &x[0], k, a)
		x, y = x[k:], y[k:]
	}
	for i, v := range x {
		y[i] += a * v
	}
}

// softmaxBackVec sets dst[i] = k y[i] (g[i] - s).
func softmaxBackVec(dst, y, g []float32, s, k float32) {
	dst, g = dst[:len(y)], g[:len(y)]
	if n := asmLen(len(y)); n > 0 {
		softmaxBackAVX2(&dst[0], &y[0], &g[0], n, s, k)
		dst, y, g = dst[n:], y[n:], g[n:]
	}
	for i, v := range y {
		dst[i] = k * v * (g[i] - s)
	}
}

// shiftScaleVec sets dst[i] = (x[i] - m) s.
func shiftScaleVec(dst, x []float32, m, s float32) {
	dst = dst[:len(x)]
	if k := asmLen(len(x)); k > 0 {
		shiftScaleAVX2(&dst[0], &x[0], k, m, s)
		dst, x = dst[k:], x[k:]
	}
	for i, v := range x {
		dst[i] = (v - m) * s
	}
}

// lnBackVec sets dst[i] = rs (dh[i] - a - xh[i] b), the LayerNorm input
// gradient from dh = g w and the normalised input xh.
func lnBackVec(dst, dh, xh []float32, rs, a, b float32) {
	dst, xh = dst[:len(dh)], xh[:len(dh)]
	if k := asmLen(len(dh)); k > 0 {
		lnBackAVX2(&dst[0], &dh[0], &xh[0], k, rs, a, b)
		dst, dh, xh = dst[k:], dh[k:], xh[k:]
	}
	for i, v := range dh {
		dst[i] = rs * (v - a - xh[i]*b)
	}
}

// rotaryVec rotates the pairs (x1[i], x2[i]) by the angles with cosines c
// and sines sign*s into (d1[i], d2[i]).
func rotaryVec(d1, d2, x1, x2, c, s []float32, sign float32) {
	d1, d2, x2, c, s = d1[:len(x1)], d2[:len(x1)], x2[:len(x1)], c[:len(x1)], s[:len(x1)]
	if k := asmLen(len(x1)); k > 0 {
		rotaryAVX2(&d1[0], &d2[0], &x1[0], &x2[0], &c[0], &s[0], k, sign)
		d1, d2, x1, x2, c, s = d1[k:], d2[k:], x1[k:], x2[k:], c[k:], s[k:]
	}
	for j, a := range x1 {
		b, cj, sj := x2[j], c[j], sign*s[j]
		d1[j] = a*cj - b*sj
		d2[j] = b*cj + a*sj
	}
}
