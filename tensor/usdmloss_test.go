package tensor

import (
	"github.com/duo-go/duo/internal/usdm"
	"math"
	"slices"
	"testing"
)

// The CPU kernel of the Duo loss (Eq. 17): USDMLoss is USDMTokenLoss of
// each row's log_softmax, its gradient the token gradient through
// log_softmax, and USDMLossMean their mean and the same gradient.
func TestUSDMLoss(t *testing.T) {
	const B, L, K = 2, 3, 7
	x := randT(NewRNG(3), B, L, K)
	tg := USDMTargets{
		Zt: []int32{1, 2, 3, 4, 5, 6}, X0: []int32{1, 0, 3, 0, 5, 1},
		Alpha: []float64{0.3, 0.9}, AlphaPrime: []float64{-1, -0.2},
	}
	grad := New(B, L, K)
	losses := USDMLoss(x, tg, grad)
	if noGrad := USDMLoss(x, tg, nil); !slices.Equal(noGrad, losses) {
		t.Errorf("losses %v without the gradient, %v with it", noGrad, losses)
	}
	logX, px, d := make([]float64, K), make([]float64, K), make([]float64, K)
	var sum float64
	for r := range B * L {
		LogSoftmax64(logX, x.data[r*K:(r+1)*K])
		for v, l := range logX {
			px[v] = math.Exp(l)
		}
		want := usdm.TokenLossGrad(d, logX, px, int(tg.Zt[r]), int(tg.X0[r]), tg.Alpha[r/L], tg.AlphaPrime[r/L])
		// The kernel computes in float64 and writes float32 losses (a
		// Backend's buffers are float32): half an ulp of float32 apart.
		if math.Abs(losses[r]-want) > 6e-8*want || !(want >= 0) {
			t.Errorf("row %d: loss %v, want %v", r, losses[r], want)
		}
		sum += want
		var s float64
		for _, v := range d {
			s += v
		}
		for v := range K {
			if g := float64(grad.data[r*K+v]); math.Abs(g-(d[v]-math.Exp(logX[v])*s)) > 1e-6*math.Max(1, math.Abs(g)) {
				t.Errorf("row %d: gradient %d is %v, want %v", r, v, g, d[v]-math.Exp(logX[v])*s)
			}
		}
	}
	mean, g := USDMLossMean(x, tg, true)
	if want := float32(sum / (B * L)); mean.Item() != want {
		t.Errorf("mean %v, want %v", mean.Item(), want)
	}
	if !slices.Equal(g.data, grad.data) {
		t.Error("USDMLossMean's gradient differs from USDMLoss's")
	}
	if _, g := USDMLossMean(x, tg, false); g != nil {
		t.Error("gradient without withGrad")
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic for a latent id outside the vocabulary")
		}
	}()
	tg.Zt[0] = K
	USDMLoss(x, tg, nil)
}
