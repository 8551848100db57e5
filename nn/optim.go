package nn

import (
	"math"

	"github.com/duo-go/duo/tensor"
)

// AdamW is Adam with decoupled weight decay, with PyTorch's torch.optim.AdamW
// semantics: p <- p (1 - lr wd); m, v moments; bias-corrected step.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64

	Params []Param
	M, V   []*tensor.Tensor // first and second moments, one per parameter
	Steps  int              // optimiser steps taken
}

// NewAdamW returns an optimiser over params with PyTorch's defaults
// (betas 0.9, 0.999, eps 1e-8) and the given weight decay.
func NewAdamW(params []Param, weightDecay float64) *AdamW {
	o := &AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay, Params: params}
	for _, p := range params {
		o.M = append(o.M, tensor.New(p.Value.Shape()...))
		o.V = append(o.V, tensor.New(p.Value.Shape()...))
	}
	return o
}

// Step applies one update with learning rate lr to every parameter that has
// a gradient (tensor.AdamWStep: on the device when a backend is set).
func (o *AdamW) Step(lr float64) {
	o.Steps++
	hp := tensor.AdamWParams{LR: lr, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, WeightDecay: o.WeightDecay, Step: o.Steps}
	for i, p := range o.Params {
		if p.Grad == nil {
			continue
		}
		tensor.AdamWStep(p.Value, p.Grad, o.M[i], o.V[i], hp)
	}
}

// ZeroGrad drops every parameter's gradient.
func ZeroGrad(params []Param) {
	for _, p := range params {
		p.Grad = nil
	}
}

// grads lists the parameters' gradients (nil where there is none).
func grads(params []Param) []*tensor.Tensor {
	gs := make([]*tensor.Tensor, len(params))
	for i, p := range params {
		gs[i] = p.Grad
	}
	return gs
}

// GradNorm returns the global L2 norm of the gradients.
func GradNorm(params []Param) float64 {
	return math.Sqrt(float64(tensor.SumSquares(grads(params)...).Item()))
}

// ClipGradNorm scales the gradients so their global L2 norm is at most
// maxNorm (as torch.nn.utils.clip_grad_norm_) and returns the norm before
// clipping.
func ClipGradNorm(params []Param, maxNorm float64) float64 {
	return ClipGradNormDeferred(params, maxNorm)()
}

// ClipGradNormDeferred clips as ClipGradNorm but returns a function that
// reads the norm, so that a training step can record its optimiser update
// on the device before the host waits for the norm.
func ClipGradNormDeferred(params []Param, maxNorm float64) (norm func() float64) {
	sumsq := tensor.ClipByGlobalNorm(grads(params), maxNorm)
	return func() float64 { return math.Sqrt(float64(sumsq.Item())) }
}

// LRSchedule is a learning-rate schedule: the rate of the optimiser step
// that follows `done` completed steps.
type LRSchedule interface {
	At(done int) float64
}

// WarmupConstant is the reference learning-rate schedule: linear warm-up
// from 0 over Warmup steps, then constant (transformers'
// get_constant_schedule_with_warmup; the first step uses lr 0).
type WarmupConstant struct {
	LR     float64
	Warmup int
}

// At returns the learning rate for the optimiser step that follows `done`
// completed steps.
func (s WarmupConstant) At(done int) float64 {
	if done < s.Warmup {
		return s.LR * float64(done) / float64(s.Warmup)
	}
	return s.LR
}

// WarmupCosine is linear warm-up from 0 over Warmup steps, then cosine decay
// from LR to Min at step Steps, constant at Min after it (transformers'
// get_cosine_schedule_with_warmup with a floor).
type WarmupCosine struct {
	LR, Min       float64
	Warmup, Steps int
}

// At returns the learning rate for the optimiser step that follows `done`
// completed steps.
func (s WarmupCosine) At(done int) float64 {
	if done < s.Warmup {
		return s.LR * float64(done) / float64(s.Warmup)
	}
	p := 1.0
	if s.Steps > s.Warmup {
		p = min(1, float64(done-s.Warmup)/float64(s.Steps-s.Warmup))
	}
	return s.Min + (s.LR-s.Min)*(1+math.Cos(math.Pi*p))/2
}

// EMA keeps an exponential moving average of parameters with the
// reference's warm-up: decay_n = min(mu, (1+n)/(10+n)) at the n-th update.
type EMA struct {
	Decay   float64
	Updates int
	Shadow  []*tensor.Tensor
}

// NewEMA starts an average at the current parameter values.
func NewEMA(params []Param, decay float64) *EMA {
	e := &EMA{Decay: decay}
	for _, p := range params {
		e.Shadow = append(e.Shadow, p.Value.Clone())
	}
	return e
}

// Update moves the average towards the parameters (tensor.EMAStep).
func (e *EMA) Update(params []Param) {
	e.Updates++
	n := float64(e.Updates)
	d := math.Min(e.Decay, (1+n)/(10+n))
	k := float32(1 - d)
	for i, p := range params {
		tensor.EMAStep(e.Shadow[i], p.Value, k)
	}
}

// CopyTo writes the averaged values into params (for evaluation).
func (e *EMA) CopyTo(params []Param) {
	for i, p := range params {
		p.Value.CopyFrom(e.Shadow[i])
	}
}
