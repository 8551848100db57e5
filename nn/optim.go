package nn

import (
	"math"

	"github.com/duo-go/duo/internal/parallel"
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
// a gradient.
func (o *AdamW) Step(lr float64) {
	o.Steps++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.Steps))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.Steps))
	decay := float32(1 - lr*o.WeightDecay)
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	stepSize := float32(lr / bc1)
	rbc2 := float32(1 / math.Sqrt(bc2))
	eps := float32(o.Eps)
	for i, p := range o.Params {
		if p.Grad == nil {
			continue
		}
		w, g, m, v := p.Value.Data(), p.Grad.Data(), o.M[i].Data(), o.V[i].Data()
		parallel.For(len(w), 1<<14, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				w[j] *= decay
				m[j] = b1*m[j] + (1-b1)*g[j]
				v[j] = b2*v[j] + (1-b2)*g[j]*g[j]
				w[j] -= stepSize * m[j] / (float32(math.Sqrt(float64(v[j])))*rbc2 + eps)
			}
		})
	}
}

// ZeroGrad drops every parameter's gradient.
func ZeroGrad(params []Param) {
	for _, p := range params {
		p.Grad = nil
	}
}

// GradNorm returns the global L2 norm of the gradients.
func GradNorm(params []Param) float64 {
	var s float64
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		for _, g := range p.Grad.Data() {
			s += float64(g) * float64(g)
		}
	}
	return math.Sqrt(s)
}

// ClipGradNorm scales the gradients so their global L2 norm is at most
// maxNorm (as torch.nn.utils.clip_grad_norm_) and returns the norm before
// clipping.
func ClipGradNorm(params []Param, maxNorm float64) float64 {
	norm := GradNorm(params)
	if maxNorm > 0 && norm > maxNorm {
		s := float32(maxNorm / (norm + 1e-6))
		for _, p := range params {
			if p.Grad != nil {
				p.Grad.CopyFrom(tensor.Scale(p.Grad, s))
			}
		}
	}
	return norm
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

// Update moves the average towards the parameters.
func (e *EMA) Update(params []Param) {
	e.Updates++
	n := float64(e.Updates)
	d := math.Min(e.Decay, (1+n)/(10+n))
	for i, p := range params {
		s, w := e.Shadow[i].Data(), p.Value.Data()
		k := float32(1 - d)
		for j := range s {
			s[j] -= k * (s[j] - w[j])
		}
	}
}

// CopyTo writes the averaged values into params (for evaluation).
func (e *EMA) CopyTo(params []Param) {
	for i, p := range params {
		p.Value.CopyFrom(e.Shadow[i])
	}
}
