package tensor

import (
	"fmt"
	"math"

	"github.com/duo-go/duo/internal/parallel"
)

// The training loss of a uniform-state discrete diffusion model (USDM): the
// Rao-Blackwellised per-token negative ELBO of Duo (Eq. 17), and its
// gradient with respect to the logits through log_softmax. Package duo
// builds its objective (NELBO) on these kernels; the CPU kernel is the one
// implementation of the formula (float64 per row), the device kernel its
// float32 counterpart (shaders/src/usdm_loss.comp).

// USDMTargets are what the loss of rows of logits (rows, K) needs besides
// the logits: the latent and the clean token of every row, and the signal
// level of every sequence. Alpha and AlphaPrime have one entry per sequence
// of rows/len(Alpha) consecutive rows (B sequences of L positions).
type USDMTargets struct {
	Zt, X0     []int32   // rows: latent z_t and clean token x per row
	Alpha      []float64 // B: alpha_t
	AlphaPrime []float64 // B: d alpha_t / dt (negative)
}

// seqLen checks tg against rows of n logits and returns the number of rows
// per sequence.
func (tg USDMTargets) seqLen(op string, rows, n int) int {
	B := len(tg.Alpha)
	if len(tg.Zt) != rows || len(tg.X0) != rows || len(tg.AlphaPrime) != B || B == 0 || rows%B != 0 {
		panic(fmt.Sprintf("tensor: %s of %d rows with %d z_t, %d x_0, %d alpha and %d alpha'",
			op, rows, len(tg.Zt), len(tg.X0), B, len(tg.AlphaPrime)))
	}
	for r := range rows {
		if z, x := tg.Zt[r], tg.X0[r]; z < 0 || int(z) >= n || x < 0 || int(x) >= n {
			panic(fmt.Sprintf("tensor: %s: row %d has z_t %d and x_0 %d outside [0,%d)", op, r, z, x, n))
		}
	}
	return rows / B
}

// USDMLoss returns the per-row loss of Eq. 17 of logits (..., K) with
// log x_theta = log_softmax(logits), and, when grad (shaped like logits) is
// not nil, writes d loss_r / d logits_r into it for every row r.
//
// On the CPU the arithmetic is float64 per row (USDMTokenLoss,
// USDMTokenLossGrad). With a backend the losses are computed on the device
// in float32 (and the gradient stays there); only the rows' losses are
// downloaded, which waits for the device.
func USDMLoss(logits *Tensor, tg USDMTargets, grad *Tensor) []float64 {
	rows, _ := lastDim(logits)
	if grad != nil {
		mustSameShape("usdm loss gradient", grad, logits)
	}
	if be := current; be != nil {
		c := dcall{be: be}
		var gb Buffer
		if grad != nil {
			gb = c.out(grad)
		}
		lb := c.temp(rows)
		devUSDMLoss(&c, lb, gb, logits, tg)
		v := make([]float32, rows)
		be.Download(v, lb)
		c.done()
		losses := make([]float64, rows)
		for r, l := range v {
			losses[r] = float64(l)
		}
		return losses
	}
	var gd []float32
	if grad != nil {
		hostWrite(grad)
		gd = grad.data
	}
	return usdmLossCPU(logits, tg, gd)
}

// USDMLossMean returns the mean over the rows of the loss of Eq. 17 (the
// training objective) as a one-element tensor and, with withGrad, the
// gradient of the summed (not averaged) loss with respect to the logits,
// as USDMLoss writes it. With a backend both stay on the device (the mean
// is taken there in float32), so a training step need not wait for its
// loss; on the CPU the mean is the float64 mean of USDMLoss's values,
// rounded to float32 once.
func USDMLossMean(logits *Tensor, tg USDMTargets, withGrad bool) (mean, grad *Tensor) {
	rows, _ := lastDim(logits)
	if be := current; be != nil {
		c := dcall{be: be}
		var gb Buffer
		if withGrad {
			grad, gb = c.newOut(logits.shape...)
		}
		losses, lb := c.newOut(rows)
		devUSDMLoss(&c, lb, gb, logits, tg)
		c.done()
		return Mean(losses, 0, false), grad
	}
	if withGrad {
		grad = newHostFull(logits.shape...) // every row is written
	}
	var sum float64
	for _, l := range USDMLoss(logits, tg, grad) {
		sum += l
	}
	return Scalar(float32(sum / float64(rows))), grad
}

// devUSDMLoss records the device kernel into losses (and grad, when not
// nil) on the call c.
func devUSDMLoss(c *dcall, losses, grad Buffer, logits *Tensor, tg USDMTargets) {
	rows, n := lastDim(logits)
	tg.seqLen("usdm loss", rows, n)
	lb := c.in(logits)
	c.be.USDMLoss(losses, grad, lb, c.ids(tg.Zt), c.ids(tg.X0), tg.Alpha, tg.AlphaPrime, n)
}

// usdmLossCPU is the CPU kernel of USDMLoss: per row, log_softmax in
// float64, then USDMTokenLoss or USDMTokenLossGrad, and through
// log_softmax the logits' gradient into gd (when not nil).
func usdmLossCPU(logits *Tensor, tg USDMTargets, gd []float32) []float64 {
	rows, K := lastDim(logits)
	L := tg.seqLen("usdm loss", rows, K)
	losses := make([]float64, rows)
	x := logits.host()
	parallel.For(rows, max(1, 4096/K), func(lo, hi int) {
		logX := make([]float64, K)
		px := make([]float64, K)
		d := make([]float64, K)
		for r := lo; r < hi; r++ {
			b := r / L
			zt, m := int(tg.Zt[r]), int(tg.X0[r])
			logSoftmaxProbs64(logX, px, x[r*K:(r+1)*K])
			if gd == nil {
				losses[r] = usdmTokenLoss(logX, px, zt, m, tg.Alpha[b], tg.AlphaPrime[b])
				continue
			}
			losses[r] = usdmTokenLossGrad(d, logX, px, zt, m, tg.Alpha[b], tg.AlphaPrime[b])
			// Through log_softmax: dlogits_v = d_v - x_theta_v sum(d).
			var s float64
			for _, v := range d {
				s += v
			}
			g := gd[r*K : (r+1)*K]
			for v := range g {
				g[v] = float32(d[v] - px[v]*s)
			}
		}
	})
	return losses
}

// LogSoftmax64 writes log_softmax(x) in float64 into dst (a row of the
// USDM loss, or of a sampler's x_theta).
func LogSoftmax64(dst []float64, x []float32) { logSoftmaxProbs64(dst, nil, x) }

// logSoftmaxProbs64 is LogSoftmax64 that also writes softmax(x) into px
// (when not nil) from the same exponentials.
func logSoftmaxProbs64(logX, px []float64, x []float32) {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	var s float64
	for i, v := range x {
		e := math.Exp(float64(v) - m)
		if px != nil {
			px[i] = e
		}
		s += e
	}
	lse := m + math.Log(s)
	for i, v := range x {
		logX[i] = float64(v) - lse
	}
	for i := range px {
		px[i] /= s
	}
}

// USDMTokenLoss is the Rao-Blackwellised per-token negative ELBO of Duo
// (Eq. 17, spec section 2) for true token m, latent zt, alpha = alpha_t and
// alphaPrime = alpha'_t < 0. logX = log x_theta over the K = len(logX) ids
// (entries may be -Inf; log_softmax output, so x_theta sums to 1).
//
// Evaluation: write log xbar_theta_v = log(1-a) + D_v with
// D_v = log1p(R x_v), R = K a/(1-a). The log(1-a) parts cancel exactly in
// Eq. 17, and regrouping the terms that cancel to first order leaves one
// reduction s = sum_{v != m} D_v and the gathers x_i, x_m (see lossEq17).
// This avoids the O(R log R) cancellation of the literal form when alpha is
// near 1, and gives exactly 0 when x_theta is one-hot on m.
func USDMTokenLoss(logX []float64, zt, m int, alpha, alphaPrime float64) float64 {
	px := make([]float64, len(logX))
	for v, lx := range logX {
		px[v] = math.Exp(lx)
	}
	return usdmTokenLoss(logX, px, zt, m, alpha, alphaPrime)
}

// usdmTokenLoss is USDMTokenLoss given also x_theta = exp(logX) in px.
func usdmTokenLoss(logX, px []float64, zt, m int, alpha, alphaPrime float64) float64 {
	R := float64(len(logX)) * alpha / (1 - alpha)
	var s float64
	for v, p := range px {
		if v != m {
			s += math.Log1p(R * p)
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
		br = d - k*USDMPsi(d)/(k*a+1-a) + (1-a)/(k*a+1-a)*s
	} else {
		br = (1+R)*math.Log1p(R*math.Expm1(lxm)/(1+R)) + s - k/(1-a)*USDMPsi(math.Log1p(R*math.Exp(lxi)))
	}
	return ap / (k * a) * br
}

// USDMPsi is psi(d) = exp(-d) - 1 + d >= 0 of the regrouped Eq. 17, by its
// Taylor series near 0.
func USDMPsi(d float64) float64 {
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

// USDMTokenLossGrad returns USDMTokenLoss and writes its gradient with
// respect to logX (each entry a free variable) into dst. The loss depends
// on logX_v only through L_v = log xbar_theta_v, with
// dL_v/dlogX_v = r_v/(1+r_v), r_v = R x_v. Differentiating the spec's
// term1 - term2 (Eq. 17) in L_v gives dloss/dL_v = c (A + [v=i] G + [v=m] B),
// c = a'/(K a), where A = kappa e + 1 - e, B = R (1-e),
// G = K/xbar_theta_i - A K - B. For logX = log_softmax(logits), the logits'
// gradient is dst - x_theta * sum(dst).
func USDMTokenLossGrad(dst, logX []float64, zt, m int, alpha, alphaPrime float64) float64 {
	px := make([]float64, len(logX))
	for v, lx := range logX {
		px[v] = math.Exp(lx)
	}
	return usdmTokenLossGrad(dst, logX, px, zt, m, alpha, alphaPrime)
}

// usdmTokenLossGrad is USDMTokenLossGrad given also x_theta = exp(logX) in px.
func usdmTokenLossGrad(dst, logX, px []float64, zt, m int, alpha, alphaPrime float64) float64 {
	K, a := float64(len(logX)), alpha
	R := K * a / (1 - a)
	c := alphaPrime / (K * a)
	A, B := 1.0, R
	if zt == m {
		A, B = (1-a)/(K*a+1-a), 0
	}
	var s float64
	for v, p := range px {
		r := R * p
		if v != m {
			s += math.Log1p(r)
		}
		dst[v] = c * A * r / (1 + r)
	}
	ri := R * px[zt]
	G := K / ((1 - a) * (1 + ri)) // K / xbar_theta_i
	if zt == m {
		G -= A * K
	} else {
		G *= -ri // G - K - R, without cancellation
	}
	dst[zt] += c * G * ri / (1 + ri)
	if B != 0 {
		rm := R * px[m]
		dst[m] += c * B * rm / (1 + rm)
	}
	return lossEq17(len(logX), s, logX[zt], logX[m], zt == m, alpha, alphaPrime)
}
