package vk_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

// usdmCase builds rows of logits (B sequences of L = 6 rows, one alpha per
// sequence) with the regimes of Eq. 17: z_t == x_0 and z_t != x_0, each
// with random logits and with x_theta nearly one-hot on x_0 (the trained
// regime, where the loss is second order in 1 - x_theta_m), and one row
// nearly one-hot on another token.
func usdmCase(seed uint64, K int, alpha, alphaPrime []float64) (*tensor.Tensor, tensor.USDMTargets) {
	r := rng(seed)
	const L = 6
	B := len(alpha)
	x := randT(r, 3, B*L, K)
	xd := x.Data()
	tg := tensor.USDMTargets{Zt: make([]int32, B*L), X0: make([]int32, B*L), Alpha: alpha, AlphaPrime: alphaPrime}
	for row := range B * L {
		m := r.IntN(K)
		zt := m
		if row%L >= 3 {
			zt = (m + 1 + r.IntN(K-1)) % K // z_t != x_0
		}
		tg.Zt[row], tg.X0[row] = int32(zt), int32(m)
		switch row % 3 {
		case 1:
			xd[row*K+m] += 14 // nearly one-hot on x_0: 1 - x_m ~ K e^-14
		case 2:
			if row%L == 2 {
				xd[row*K+(m+1)%K] += 12 // confidently wrong
			}
		}
	}
	return x, tg
}

// The device kernel of the Duo loss (Eq. 17) against the float64 CPU
// kernel, for K = 50, 256 (one workgroup of 256) and 1000, alpha from 1e-4
// to 1 - 5e-5.
//
// Tolerances (the worst seen on lavapipe is logged): the kernel's sums are
// all of one sign (see usdm_loss.comp), so each loss carries only the
// float32 rounding of its few reductions and of exp and log: relative
// errors of 1.5e-6 or less, checked at 2e-5. A gradient row is a
// difference d_v - x_v sum(d), regrouped on the device without its
// first-order cancellation, but some entries still reach zero by
// cancelling terms of the size of its bulk factor cAR (a'/(1-a) or
// a'/(Ka+1-a)), so near one-hot rows lose relative precision: observed up
// to 1.6e-6 of the row's largest entry plus 7e-8 cAR, checked at 1e-5 of
// the largest entry plus 1e-6 cAR.
func TestUSDMLoss(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		alpha := []float64{1e-4, 0.02, 0.5, 0.97, 1 - 5e-5}
		alphaPrime := []float64{-0.7, -1.3, -2, -0.4, -1e-3}
		var worstLoss, worst float64
		for i, K := range []int{50, 256, 1000} {
			x, tg := usdmCase(uint64(70+i), K, alpha, alphaPrime)
			rows := len(tg.Zt)
			want := tensor.New(rows, K)
			wantL := tensor.USDMLoss(x, tg, want)

			gx, gz, g0 := up(d, x), d.NewBufferInt32(tg.Zt), d.NewBufferInt32(tg.X0)
			losses, grad := d.NewBuffer(rows), d.NewBuffer(rows*K)
			d.USDMLoss(losses, grad, gx, gz, g0, alpha, alphaPrime, K)
			gotL, gotG := losses.Download(), grad.Download()
			d.USDMLoss(losses, nil, gx, gz, g0, alpha, alphaPrime, K)
			noGrad := losses.Download()

			wg := want.Data()
			for r := range rows {
				what := fmt.Sprintf("K=%d row %d (alpha %g, e=%v)", K, r, alpha[r/6], tg.Zt[r] == tg.X0[r])
				w, g := wantL[r], float64(gotL[r])
				rel := math.Abs(g-w) / math.Abs(w)
				worstLoss = max(worstLoss, rel)
				if !(rel <= 2e-5) {
					t.Errorf("%s: loss %.8g, CPU %.8g", what, g, w)
				}
				if noGrad[r] != gotL[r] {
					t.Errorf("%s: loss %.8g without the gradient, %.8g with it", what, noGrad[r], gotL[r])
				}
				var scale, diff float64
				for v := range K {
					scale = max(scale, math.Abs(float64(wg[r*K+v])))
					diff = max(diff, math.Abs(float64(gotG[r*K+v]-wg[r*K+v])))
				}
				// cAR = |a'|/(1-a) (e = 0) or |a'|/(Ka+1-a) (e = 1)
				// scales the gradient's bulk term (usdm_loss.comp).
				a, ap := alpha[r/6], alphaPrime[r/6]
				cAR := math.Abs(ap) / (1 - a)
				if tg.Zt[r] == tg.X0[r] {
					cAR = math.Abs(ap) / (float64(K)*a + 1 - a)
				}
				worst = max(worst, diff/(1e-5*scale+1e-6*cAR))
				if !(diff <= 1e-5*scale+1e-6*cAR) {
					t.Errorf("%s: gradient differs by %.3g, largest entry %.3g, cAR %.3g", what, diff, scale, cAR)
				}
			}
			for _, b := range []*vk.Buffer{gx, gz, g0, losses, grad} {
				b.Release()
			}
		}
		t.Logf("largest differences: losses %.2g relative; gradients %.2g of the tolerance", worstLoss, worst)
	})
}

// Through package tensor: USDMLoss and USDMLossMean with the backend set
// give the CPU's values, and the mean and gradient stay on the device.
func TestUSDMLossBackend(t *testing.T) {
	d := device(t)
	alpha, alphaPrime := []float64{0.3, 0.9}, []float64{-1, -0.5}
	x, tg := usdmCase(77, 29, alpha, alphaPrime)
	wantL := tensor.USDMLoss(x, tg, nil)
	wantM, wantG := tensor.USDMLossMean(x, tg, true)
	var gotL []float64
	var gotM, gotG []float32
	onDevice(t, d, func() {
		xd := x.Clone()
		gotL = tensor.USDMLoss(xd, tg, nil)
		before := d.Stats()
		m, g := tensor.USDMLossMean(xd, tg, true)
		if w := d.Stats().Waits - before.Waits; w != 0 {
			t.Errorf("USDMLossMean waited %d times for the device", w)
		}
		gotM, gotG = vals(m), vals(g)
	})
	for r := range wantL {
		if math.Abs(gotL[r]-wantL[r]) > 2e-5*wantL[r] {
			t.Errorf("row %d: loss %.8g on the device, %.8g on the CPU", r, gotL[r], wantL[r])
		}
	}
	near(t, "usdm mean", gotM, vals(wantM), 0, 2e-5)
	near(t, "usdm gradient", gotG, vals(wantG), 1e-5, 1e-4)
}
