package vk

import "fmt"

// usdmLoss writes into losses (rows) the per-token negative ELBO of Duo
// (Eq. 17) of logits (rows, n), with log x_theta = log_softmax(logits),
// latent ids zt and clean ids x0 (int32, one per row) and alpha_t,
// alpha'_t per sequence of rows/len(alpha) consecutive rows; and, when
// grad is not nil, d loss_r / d logits_r into grad (rows, n)
// (tensor.USDMLoss, whose CPU kernel computes the same in float64). The
// per-sequence alpha, 1 - alpha and alpha' are rounded from float64 on the
// host and uploaded in order with the recorded work (no host wait).
func (d *Device) usdmLoss(losses, grad, logits, zt, x0 *Buffer, alpha, alphaPrime []float64, n int) {
	rows := rowsOf("usdm loss", logits, n)
	mustLen("usdm loss", losses, rows)
	mustLen("usdm loss z_t", zt, rows)
	mustLen("usdm loss x_0", x0, rows)
	B := len(alpha)
	if B == 0 || len(alphaPrime) != B || rows%B != 0 {
		panic(fmt.Sprintf("vk: usdm loss of %d rows with %d alpha and %d alpha'", rows, B, len(alphaPrime)))
	}
	if rows == 0 {
		return
	}
	sched := make([]float32, 4*B)
	for b, a := range alpha {
		sched[4*b], sched[4*b+1], sched[4*b+2] = float32(a), float32(1-a), float32(alphaPrime[b])
	}
	sb := d.newBuffer(len(sched))
	defer sb.Release()
	sb.Upload(sched)
	g := losses // unused binding when there is no gradient
	if grad != nil {
		mustLen("usdm loss gradient", grad, rows*n)
		g = grad
	}
	d.run(kUSDMLoss, []uint32{uint32(rowGroup(n)), b2u(grad != nil)}, rowGrid(rows), push{}.u(rows, n, rows/B),
		rd(logits), rd(zt), rd(x0), rd(sb), wr(losses), wr(g))
}
