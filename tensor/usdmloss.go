package tensor

import (
	"fmt"
	"math"

	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/internal/usdm"
)

// The training loss of a uniform-state discrete diffusion model (USDM): the
// Rao-Blackwellised per-token negative ELBO of Duo (Eq. 17), and its
// gradient with respect to the logits through log_softmax, over rows of
// logits. Package duo builds its objective (NELBO) on these kernels. The
// formula itself is internal/usdm's (float64, per row), which the CPU kernel
// runs row by row; the device kernel is its float32 counterpart
// (shaders/src/usdm_loss.comp).

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
// On the CPU the arithmetic is float64 per row (usdm.TokenLoss,
// usdm.TokenLossGrad). With a backend the losses are computed on the device
// in float32 (and the gradient stays there); only the rows' losses are
// downloaded, which waits for the device.
func USDMLoss(logits *Tensor, tg USDMTargets, grad *Tensor) []float64 {
	rows, _ := lastDim(logits)
	if grad != nil {
		mustSameShape("usdm loss gradient", grad, logits)
	}
	c := call()
	var gb Buffer
	if grad != nil {
		gb = c.out(grad)
	}
	lb := c.temp(rows)
	usdmLoss(&c, lb, gb, logits, tg)
	v := make([]float32, rows)
	c.be.Download(v, lb)
	c.done()
	losses := make([]float64, rows)
	for r, l := range v {
		losses[r] = float64(l)
	}
	return losses
}

// USDMLossMean returns the mean over the rows of the loss of Eq. 17 (the
// training objective) as a one-element tensor and, with withGrad, the
// gradient of the summed (not averaged) loss with respect to the logits,
// as USDMLoss writes it. With a backend both stay on the device (the mean
// is taken there in float32), so a training step need not wait for its
// loss.
func USDMLossMean(logits *Tensor, tg USDMTargets, withGrad bool) (mean, grad *Tensor) {
	rows, _ := lastDim(logits)
	c := call()
	var gb Buffer
	if withGrad {
		grad, gb = c.newOut(logits.shape...)
	}
	losses, lb := c.newOut(rows)
	usdmLoss(&c, lb, gb, logits, tg)
	c.done()
	return Mean(losses, 0, false), grad
}

// usdmLoss records the loss kernel (or its composition from core ops) into
// losses (and grad, when not nil) on the call c.
func usdmLoss(c *dcall, losses, grad Buffer, logits *Tensor, tg USDMTargets) {
	rows, n := lastDim(logits)
	tg.seqLen("usdm loss", rows, n)
	lk, ok := c.be.(USDMLossKernel)
	if !ok {
		usdmLossComposed(c, losses, grad, logits, tg)
		return
	}
	lb := c.in(logits)
	lk.USDMLoss(losses, grad, lb, c.ids(tg.Zt), c.ids(tg.X0), tg.Alpha, tg.AlphaPrime, n)
}

// USDMLoss is the CPU kernel: per row, log_softmax in float64, then
// usdm.TokenLoss or usdm.TokenLossGrad, and through log_softmax the logits'
// gradient into grad (when not nil).
func (cpu) USDMLoss(losses, grad, logits, zt, x0 Buffer, alpha, alphaPrime []float64, K int) {
	ld, gd, x, z, x0d := f32(losses), f32(grad), f32(logits), i32(zt), i32(x0)
	rows := len(ld)
	L := rows / len(alpha)
	parallel.For(rows, max(1, 4096/K), func(lo, hi int) {
		logX := make([]float64, K)
		px := make([]float64, K)
		d := make([]float64, K)
		for r := lo; r < hi; r++ {
			b := r / L
			zr, m := int(z[r]), int(x0d[r])
			logSoftmaxProbs64(logX, px, x[r*K:(r+1)*K])
			if gd == nil {
				ld[r] = float32(usdm.TokenLoss(logX, px, zr, m, alpha[b], alphaPrime[b]))
				continue
			}
			ld[r] = float32(usdm.TokenLossGrad(d, logX, px, zr, m, alpha[b], alphaPrime[b]))
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
}

// SoftmaxProbs64 writes softmax(x) into dst as a sampler wants x_theta: the
// exponentials in float32 (vectorized, as the reference's float32 network
// output is), their sum and the normalisation in float64. scratch holds at
// least len(x) floats.
func SoftmaxProbs64(dst []float64, x, scratch []float32) {
	m := maxVec(x)
	if math.IsInf(float64(m), 0) {
		logSoftmaxProbs64(dst, nil, x)
		for i, v := range dst[:len(x)] {
			dst[i] = math.Exp(v)
		}
		return
	}
	e := scratch[:len(x)]
	inv := 1 / expShiftSum(e, x, m)
	for i, v := range e {
		dst[i] = float64(v) * inv
	}
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
