// Package usdm is the scalar mathematics of the Duo training loss: the
// Rao-Blackwellised per-token negative ELBO of a uniform-state discrete
// diffusion model (Eq. 17 of "The Diffusion Duality", spec section 2) and
// its gradient, in float64 for one row of log-probabilities. The tensor
// engine's CPU kernel runs it row by row (tensor.USDMLoss); package duo
// exposes it (duo.LossPerToken); the Vulkan kernel
// (shaders/src/usdm_loss.comp) is its float32 transcription.
package usdm

import "math"

// TokenLoss is the Rao-Blackwellised per-token negative ELBO of Duo
// (Eq. 17, spec section 2) for true token m, latent zt, alpha = alpha_t and
// alphaPrime = alpha'_t < 0. logX = log x_theta over the K = len(logX) ids
// (entries may be -Inf; log_softmax output, so x_theta sums to 1) and px =
// x_theta = exp(logX).
//
// Evaluation: write log xbar_theta_v = log(1-a) + D_v with
// D_v = log1p(R x_v), R = K a/(1-a). The log(1-a) parts cancel exactly in
// Eq. 17, and regrouping the terms that cancel to first order leaves one
// reduction s = sum_{v != m} D_v and the gathers x_i, x_m (see RowLoss).
// This avoids the O(R log R) cancellation of the literal form when alpha is
// near 1, and gives exactly 0 when x_theta is one-hot on m.
func TokenLoss(logX, px []float64, zt, m int, alpha, alphaPrime float64) float64 {
	R := float64(len(logX)) * alpha / (1 - alpha)
	var s float64
	for v, p := range px {
		if v != m {
			s += math.Log1p(R * p)
		}
	}
	return RowLoss(len(logX), s, logX[zt], logX[m], zt == m, alpha, alphaPrime)
}

// RowLoss is Eq. 17 rearranged (a = alpha, kappa = (1-a)/(Ka+1-a),
// psi(d) = expm1(-d) + d >= 0), with s = sum_{v != m} D_v:
//
//	e = 1: bracket = delta - K psi(delta)/(Ka+1-a) + kappa s,
//	       delta = D_i - log(1+R) = log1p(R expm1(logx_i)/(1+R))
//	e = 0: bracket = (1+R) log1p(R expm1(logx_m)/(1+R)) + s - K/(1-a) psi(D_i)
//
// and loss = (a'/(K a)) bracket, bracket = term1 - term2 of the spec.
func RowLoss(K int, s, lxi, lxm float64, e bool, a, ap float64) float64 {
	k := float64(K)
	R := k * a / (1 - a)
	var br float64
	if e {
		d := math.Log1p(R * math.Expm1(lxi) / (1 + R))
		br = d - k*Psi(d)/(k*a+1-a) + (1-a)/(k*a+1-a)*s
	} else {
		br = (1+R)*math.Log1p(R*math.Expm1(lxm)/(1+R)) + s - k/(1-a)*Psi(math.Log1p(R*math.Exp(lxi)))
	}
	return ap / (k * a) * br
}

// Psi is psi(d) = exp(-d) - 1 + d >= 0 of the regrouped Eq. 17, by its
// Taylor series near 0.
func Psi(d float64) float64 {
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

// TokenLossGrad returns TokenLoss and writes its gradient with
// respect to logX (each entry a free variable) into dst. The loss depends
// on logX_v only through L_v = log xbar_theta_v, with
// dL_v/dlogX_v = r_v/(1+r_v), r_v = R x_v. Differentiating the spec's
// term1 - term2 (Eq. 17) in L_v gives dloss/dL_v = c (A + [v=i] G + [v=m] B),
// c = a'/(K a), where A = kappa e + 1 - e, B = R (1-e),
// G = K/xbar_theta_i - A K - B. For logX = log_softmax(logits), the logits'
// gradient is dst - x_theta * sum(dst).
func TokenLossGrad(dst, logX, px []float64, zt, m int, alpha, alphaPrime float64) float64 {
	K := len(logX)
	R := float64(K) * alpha / (1 - alpha)
	cA, cZ, cM := GradCoefs(K, px[zt], px[m], zt == m, alpha, alphaPrime)
	var s float64
	for v, p := range px {
		r := R * p
		if v != m {
			s += math.Log1p(r)
		}
		dst[v] = cA * r / (1 + r)
	}
	dst[zt] += cZ
	dst[m] += cM
	return RowLoss(K, s, logX[zt], logX[m], zt == m, alpha, alphaPrime)
}

// GradCoefs returns the row constants of TokenLossGrad's gradient in logX:
// dst_v = cA r_v/(1+r_v) for every v, plus cZ at z_t and cM at m, given
// x_theta at z_t (pzt) and at m (pm) and e = [z_t = m].
func GradCoefs(K int, pzt, pm float64, e bool, alpha, alphaPrime float64) (cA, cZ, cM float64) {
	k, a := float64(K), alpha
	R := k * a / (1 - a)
	c := alphaPrime / (k * a)
	A, B := 1.0, R
	if e {
		A, B = (1-a)/(k*a+1-a), 0
	}
	ri := R * pzt
	G := k / ((1 - a) * (1 + ri)) // K / xbar_theta_i
	if e {
		G -= A * k
	} else {
		G *= -ri // G - K - R, without cancellation
	}
	cA, cZ = c*A, c*G*ri/(1+ri)
	if B != 0 {
		rm := R * pm
		cM = c * B * rm / (1 + rm)
	}
	return cA, cZ, cM
}
