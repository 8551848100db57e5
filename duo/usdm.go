package duo

import "math"

// RNG is the randomness the samplers need; *math/rand/v2.Rand satisfies it.
type RNG interface {
	Float64() float64
	IntN(n int) int
}

// SampleMarginal draws z_t ~ q_t(. | x) for clean token x (Eq. 1): with
// probability 1 - alpha the token is replaced by a uniform draw over all K
// ids (which may return x itself).
func SampleMarginal(r RNG, x, K int, alpha float64) int {
	if r.Float64() >= alpha {
		return r.IntN(K)
	}
	return x
}

// Posterior writes q(z_s = . | z_t = zt, x) into dst for s < t (Eq. 4),
// where x is a probability vector over the K = len(x) ids (one-hot data or
// the model's x_theta). dst sums to 1 when x does. dst may alias x.
func Posterior(dst, x []float64, zt int, alphaT, alphaS float64) {
	K := float64(len(x))
	ats := alphaT / alphaS
	xi := x[zt]
	inv := 1 / (K*alphaT*xi + 1 - alphaT)
	c := (1 - ats) * (1 - alphaS) / K
	for v, xv := range x {
		dst[v] = ((alphaS-alphaT)*xv + c) * inv
	}
	dst[zt] += (K*alphaT*xi + ats - alphaT) * inv
}

// LossPerToken is the Rao-Blackwellised per-token negative ELBO of Duo (Eq.
// 17, spec section 2) for true token m, latent zt, alpha = alpha_t and
// alphaPrime = alpha'_t < 0. logX = log x_theta over the K = len(logX) ids
// (entries may be -Inf; log_softmax output, so x_theta sums to 1).
//
// Evaluation: write log xbar_theta_v = log(1-a) + D_v with
// D_v = log1p(R x_v), R = K a/(1-a). The log(1-a) parts cancel exactly in
// Eq. 17, and regrouping the terms that cancel to first order leaves one
// reduction s = sum_{v != m} D_v and the gathers x_i, x_m (see lossEq17).
// This avoids the O(R log R) cancellation of the literal form when alpha is
// near 1, and gives exactly 0 when x_theta is one-hot on m.
func LossPerToken(logX []float64, zt, m int, alpha, alphaPrime float64) float64 {
	R := float64(len(logX)) * alpha / (1 - alpha)
	var s float64
	for v, lx := range logX {
		if v != m {
			s += math.Log1p(R * math.Exp(lx))
		}
	}
	return lossEq17(len(logX), s, logX[zt], logX[m], zt == m, alpha, alphaPrime)
}

// lossEq17 is Eq. 17 rearranged (a = alpha, kappa = (1-a)/(Ka+1-a),
// psi(d) = expm1(-d) + d >= 0), with s = sum_{v != m} D_v:
//
//	e = 1: bracket = delta - K psi(delta)/(Ka+1-a) + kappa s,
//	       delta = D_i - log(1+R) = log1p(R expm1(logx_i)/(1+R))
//	e = 0: bracket = (1+R) log1p(R expm1(logx_m)/(1+R)) + s - K/(1-a) psi(D_i)
//
// and loss = (a'/(K a)) bracket, bracket = term1 - term2 of the spec.
func lossEq17(K int, s, lxi, lxm float64, e bool, a, ap float64) float64 {
	k := float64(K)
	R := k * a / (1 - a)
	var br float64
	if e {
		d := math.Log1p(R * math.Expm1(lxi) / (1 + R))
		br = d - k*psi(d)/(k*a+1-a) + (1-a)/(k*a+1-a)*s
	} else {
		br = (1+R)*math.Log1p(R*math.Expm1(lxm)/(1+R)) + s - k/(1-a)*psi(math.Log1p(R*math.Exp(lxi)))
	}
	return ap / (k * a) * br
}

// psi(d) = exp(-d) - 1 + d, by its Taylor series near 0.
func psi(d float64) float64 {
	if math.Abs(d) > 0.1 {
		return math.Expm1(-d) + d
	}
	// sum_{n=2..10} (-d)^n / n!
	r, t := 0.0, 1.0/3628800
	for n := 10; n >= 2; n-- {
		r = r*(-d) + t
		t *= float64(n)
	}
	return r * d * d
}

// LossPerTokenGrad returns LossPerToken and writes its gradient with respect
// to logX (each entry a free variable) into dst. The loss depends on logX_v
// only through L_v = log xbar_theta_v, with dL_v/dlogX_v = r_v/(1+r_v),
// r_v = R x_v. Differentiating the spec's term1 - term2 in L_v gives
// dloss/dL_v = c (A + [v=i] G + [v=m] B), c = a'/(K a), where
// A = kappa e + 1 - e, B = R (1-e), G = K/xbar_theta_i - A K - B. For
// logX = log_softmax(logits), the logits' gradient is
// dst - x_theta * sum(dst).
func LossPerTokenGrad(dst, logX []float64, zt, m int, alpha, alphaPrime float64) float64 {
	K, a := float64(len(logX)), alpha
	R := K * a / (1 - a)
	c := alphaPrime / (K * a)
	A, B := 1.0, R
	if zt == m {
		A, B = (1-a)/(K*a+1-a), 0
	}
	var s float64
	for v, lx := range logX {
		r := R * math.Exp(lx)
		if v != m {
			s += math.Log1p(r)
		}
		dst[v] = c * A * r / (1 + r)
	}
	ri := R * math.Exp(logX[zt])
	G := K / ((1 - a) * (1 + ri)) // K / xbar_theta_i
	if zt == m {
		G -= A * K
	} else {
		G *= -ri // G - K - R, without cancellation
	}
	dst[zt] += c * G * ri / (1 + ri)
	if B != 0 {
		rm := R * math.Exp(logX[m])
		dst[m] += c * B * rm / (1 + rm)
	}
	return lossEq17(len(logX), s, logX[zt], logX[m], zt == m, alpha, alphaPrime)
}

// LossUDLM is the older UDLM form of the same per-token loss (Eq. 49),
// summing explicitly over the vocabulary with the one-hot data xbar. It is
// equal per sample to LossPerToken; it exists to check it.
func LossUDLM(logX []float64, zt, m int, alpha, alphaPrime float64) float64 {
	K := float64(len(logX))
	ka, b := K*alpha, 1-alpha
	xbar := func(j int) float64 {
		if j == m {
			return ka + b
		}
		return b
	}
	xbt := func(j int) float64 { return ka*math.Exp(logX[j]) + b }
	xi, xti := xbar(zt), xbt(zt)
	var s float64
	for j := range logX {
		xj := xbar(j)
		s += xj / xi * math.Log(xti*xj/(xbt(j)*xi))
	}
	return alphaPrime / ka * (K/xi - K/xti - s)
}

// PriorKL is KL(q_1(. | x) || Uniform(K)) with alpha1 = alpha at t = 1 (spec
// section 2); the reference numbers do not include it.
func PriorKL(K int, alpha1 float64) float64 {
	k := float64(K)
	kl := (alpha1 + (1-alpha1)/k) * math.Log((k-1)*alpha1+1)
	if alpha1 < 1 {
		kl += (1 - 1/k) * (1 - alpha1) * math.Log(1-alpha1)
	}
	return kl
}
