package duo

import (
	"fmt"
	"math"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/tensor"
)

// Noised is one batch of B sequences of length L corrupted for the
// diffusion loss: the clean tokens, the latents z_t and the per-sequence
// signal level. Soft is set during the curriculum (the network's input is
// then softmax(Soft) @ E instead of the embedding of Zt).
type Noised struct {
	B, L       int
	X, Zt      []int32   // B*L clean and latent token ids
	Alpha      []float64 // B: alpha_t
	AlphaPrime []float64 // B: d alpha_t / dt
	Sigma      []float32 // B: -log alpha_t, the network's time conditioning
	Soft       *tensor.Tensor
}

// TokenLosses returns the per-position negative ELBO (Eq. 17) of logits
// (B, L, K) for a noised batch, and, when grad is non-nil, writes into it
// d loss_r / d logits_r for every row r. The arithmetic is float64 per row.
func TokenLosses(logits *tensor.Tensor, nb *Noised, grad *tensor.Tensor) []float64 {
	K := logits.Dim(-1)
	rows := nb.B * nb.L
	if logits.Len() != rows*K {
		panic(fmt.Sprintf("duo: logits %v for a batch of %dx%d", logits.Shape(), nb.B, nb.L))
	}
	losses := make([]float64, rows)
	x := logits.Host()
	var gd []float32
	if grad != nil {
		gd = grad.Data()
	}
	parallel.For(rows, max(1, 4096/K), func(lo, hi int) {
		logX := make([]float64, K)
		d := make([]float64, K)
		for r := lo; r < hi; r++ {
			logSoftmax64(logX, x[r*K:(r+1)*K])
			b := r / nb.L
			zt, m := int(nb.Zt[r]), int(nb.X[r])
			if grad == nil {
				losses[r] = LossPerToken(logX, zt, m, nb.Alpha[b], nb.AlphaPrime[b])
				continue
			}
			losses[r] = LossPerTokenGrad(d, logX, zt, m, nb.Alpha[b], nb.AlphaPrime[b])
			// Through log_softmax: dlogits_v = d_v - x_theta_v sum(d).
			var s float64
			for _, v := range d {
				s += v
			}
			g := gd[r*K : (r+1)*K]
			for v := range g {
				g[v] = float32(d[v] - math.Exp(logX[v])*s)
			}
		}
	})
	return losses
}

// logSoftmax64 writes log_softmax(x) in float64 into dst.
func logSoftmax64(dst []float64, x []float32) {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	lse := m + math.Log(s)
	for i, v := range x {
		dst[i] = float64(v) - lse
	}
}

// NELBO is the training objective: the mean over all B*L positions of the
// per-token loss (Eq. 17), as an autograd operation on logits (B, L, K).
func NELBO(tp *autograd.Tape, logits *autograd.Var, nb *Noised) *autograd.Var {
	var grad *tensor.Tensor
	if tp.Recording() && logits.RequiresGrad() {
		grad = tensor.New(logits.Shape()...)
	}
	losses := TokenLosses(logits.Value, nb, grad)
	var sum float64
	for _, l := range losses {
		sum += l
	}
	n := float64(len(losses))
	return tp.Op(tensor.Scalar(float32(sum/n)), []*autograd.Var{logits}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.ScaleBy(grad, g, 1/float32(n))}
	})
}
