package duo

import (
	"math"

	"github.com/duo-go/duo/internal/usdm"
)

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
// alphaPrime = alpha'_t < 0, with logX = log x_theta over the K = len(logX)
// ids; see usdm.TokenLoss, which evaluates it without cancellation (and
// which the CPU and Vulkan loss kernels implement).
func LossPerToken(logX []float64, zt, m int, alpha, alphaPrime float64) float64 {
	return usdm.TokenLoss(logX, exp(logX), zt, m, alpha, alphaPrime)
}

// LossPerTokenGrad returns LossPerToken and writes its gradient with respect
// to logX into dst (usdm.TokenLossGrad).
func LossPerTokenGrad(dst, logX []float64, zt, m int, alpha, alphaPrime float64) float64 {
	return usdm.TokenLossGrad(dst, logX, exp(logX), zt, m, alpha, alphaPrime)
}

// exp returns exp of every entry of x.
func exp(x []float64) []float64 {
	e := make([]float64, len(x))
	for i, v := range x {
		e[i] = math.Exp(v)
	}
	return e
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
