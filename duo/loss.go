package duo

import (
	"fmt"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// Noised is one batch of B sequences of length L corrupted for the
// diffusion loss: the clean tokens, the latents z_t and the per-sequence
// signal level. Soft is set during the curriculum (the network's input is
// then softmax(Soft) @ E instead of the embedding of Zt).
type Noised struct {
	B, L       int
	X, Zt      []int32        // B*L clean and latent token ids
	Alpha      []float64      // B: alpha_t
	AlphaPrime []float64      // B: d alpha_t / dt
	Sigma      []float32      // B: -log alpha_t, the network's time conditioning
	Soft       *tensor.Tensor // the curriculum's input: w / tau (B, L, K)
	Mix        *nn.Mix        // or the efficient curriculum's kept rows and weights
}

// Targets returns what the loss needs besides the logits (tensor.USDMLoss).
func (nb *Noised) Targets() tensor.USDMTargets {
	return tensor.USDMTargets{Zt: nb.Zt, X0: nb.X, Alpha: nb.Alpha, AlphaPrime: nb.AlphaPrime}
}

// mustFit panics unless logits has one row per position of the batch.
func (nb *Noised) mustFit(logits *tensor.Tensor) {
	if logits.Len() != nb.B*nb.L*logits.Dim(-1) {
		panic(fmt.Sprintf("duo: logits %v for a batch of %dx%d", logits.Shape(), nb.B, nb.L))
	}
}

// TokenLosses returns the per-position negative ELBO (Eq. 17) of logits
// (B, L, K) for a noised batch, and, when grad is non-nil, writes into it
// d loss_r / d logits_r for every row r (tensor.USDMLoss). On the CPU the
// arithmetic is float64 per row; with a backend it runs on the device and
// only the B*L losses come back to the host.
func TokenLosses(logits *tensor.Tensor, nb *Noised, grad *tensor.Tensor) []float64 {
	nb.mustFit(logits)
	return tensor.USDMLoss(logits, nb.Targets(), grad)
}

// NELBO is the training objective: the mean over all B*L positions of the
// per-token loss (Eq. 17), as an autograd operation on logits (B, L, K).
// With a backend the loss and its gradient stay on the device
// (tensor.USDMLossMean).
func NELBO(tp *autograd.Tape, logits *autograd.Var, nb *Noised) *autograd.Var {
	nb.mustFit(logits.Value)
	mean, grad := tensor.USDMLossMean(logits.Value, nb.Targets(), tp.Recording() && logits.RequiresGrad())
	n := float32(nb.B * nb.L)
	return tp.Op(mean, []*autograd.Var{logits}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.ScaleBy(grad, g, 1/n)}
	})
}
