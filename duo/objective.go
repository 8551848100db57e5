package duo

import (
	"fmt"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// Objective names, as config.json and state.json record them.
const (
	ObjectiveDuo  = "duo"  // USDM with the Gaussian-guided curriculum, then plain discrete (Sec. 4.1)
	ObjectiveUDLM = "udlm" // USDM with the discrete loss from the start (the "w/o curriculum" ablation)
	ObjectiveAR   = "ar"   // causal next-token prediction (the AR baseline and judge)
)

// Objective is what a model is trained to minimise and evaluated by: how a
// batch of clean sequences becomes a training loss (Trainer), and the
// per-token negative log-likelihood, exact or an upper bound, that it
// reports (Evaluate). Duo, USDM (UDLM) and AR are the paper's; others plug
// in by implementing it.
type Objective interface {
	// Name is the objective's name in config.json and state.json.
	Name() string
	// Causal reports whether the network is causal (an AR model).
	Causal() bool
	// Span is the number of tokens of the stream one sequence of a model
	// of length L consumes (L, or L+1 for the next-token targets of AR).
	Span(L int) int
	// Loss returns the training loss of the batch: the mean over its
	// tokens, recorded on tp for the backward pass.
	Loss(tp *autograd.Tape, m *nn.DiT, b Batch) (*autograd.Var, error)
	// NLL returns the negative log-likelihood of the batch in nats per
	// token, without dropout: exact, or a one-sample Monte Carlo estimate
	// of an upper bound drawn from b.RNG.
	NLL(m *nn.DiT, b Batch) (float64, error)
	// Exact reports whether NLL is exact (one evaluation suffices).
	Exact() bool
}

// Batch is the input of an objective: B sequences of Span(L) clean tokens
// each, the training step it belongs to (for schedules that change over
// training), the randomness of its times and noise, and, in training, of
// dropout.
type Batch struct {
	Tokens  []int32
	B       int
	Step    int         // optimiser steps done before this batch
	RNG     *tensor.RNG // times and noise
	Dropout *tensor.RNG // nil: no dropout
}

// Stateful is an objective with state of its own that a checkpoint holds
// (DCD's teacher network).
type Stateful interface {
	Objective
	// Prepare is called before each training step with the network trained.
	Prepare(step int, m *nn.DiT) error
	// State returns the tensors to save and restore, for a network m.
	State(m *nn.DiT) ([]nn.Param, error)
	// Restored says that State was loaded from the checkpoint of step step.
	Restored(step int)
}

// ObjectiveOf returns the objective a training configuration names, with
// its schedules.
func ObjectiveOf(c TrainConfig) (Objective, error) {
	sched, err := ScheduleNamed(c.Schedule)
	if err != nil {
		return nil, err
	}
	switch c.Objective {
	case ObjectiveDuo:
		return Duo{
			USDM:            USDM{Schedule: sched},
			CurriculumSteps: c.CurriculumSteps,
			Gamma:           GammaSchedule{Min: c.GammaMin, Max: c.GammaMax},
			Tau:             TauSchedule{Log10Start: c.Log10TauStart, Log10End: c.Log10TauEnd, StartStep: c.TauStartStep, EndStep: c.TauEndStep},
			TopK:            c.TopK,
		}, nil
	case ObjectiveUDLM:
		return USDM{Schedule: sched}, nil
	case ObjectiveAR:
		return AR{}, nil
	case ObjectiveDCD:
		d := NewDCD(GammaSchedule{Min: c.GammaMin, Max: c.GammaMax}, c.Delta, c.RoundSteps)
		d.Schedule = sched
		return d, nil
	case ObjectiveMDLM:
		return MDLM{Schedule: sched}, nil
	}
	return nil, fmt.Errorf("objective %q: want duo, udlm, mdlm, ar or dcd", c.Objective)
}

// ObjectiveNamed returns the objective called name, under the log-linear
// schedule, as a trained model is evaluated by it: Duo's curriculum is a
// training device, so Duo and UDLM evaluate alike.
func ObjectiveNamed(name string) (Objective, error) {
	return ModelInfo{Objective: name}.EvalObjective()
}

// EvalObjective returns the objective a trained model is evaluated and
// sampled by: the one it was trained with, under its noise schedule,
// without the curriculum.
func (i ModelInfo) EvalObjective() (Objective, error) {
	c := DefaultTrainConfig(nn.Config{}, 1)
	c.Objective, c.Schedule, c.CurriculumSteps = i.Objective, i.Schedule, 0
	return ObjectiveOf(c)
}

// USDM is the uniform-state diffusion objective (UDLM): the
// Rao-Blackwellised negative ELBO of Eq. 17 on latents z_t drawn from the
// forward process (Eq. 1) at antithetic times, under Schedule (nil: the
// log-linear schedule).
type USDM struct{ Schedule Schedule }

// Name returns "udlm".
func (USDM) Name() string { return ObjectiveUDLM }

// Causal returns false.
func (USDM) Causal() bool { return false }

// Span returns L.
func (USDM) Span(L int) int { return L }

// Exact returns false: NLL is a bound.
func (USDM) Exact() bool { return false }

func (o USDM) schedule() Schedule {
	if o.Schedule == nil {
		return LogLinear{}
	}
	return o.Schedule
}

// Loss returns NELBO (Eq. 17) of the network on the noised batch.
func (o USDM) Loss(tp *autograd.Tape, m *nn.DiT, b Batch) (*autograd.Var, error) {
	nb := NoiseDiscrete(b.Tokens, b.B, m.Vocab, o.schedule(), b.RNG)
	logits, err := m.Forward(tp, nn.Input{Batch: b.B, IDs: nb.Zt, Sigma: nb.Sigma, RNG: b.Dropout})
	if err != nil {
		return nil, err
	}
	return NELBO(tp, logits, nb), nil
}

// NLL returns the mean per-token loss of Eq. 17 on one draw of the noise.
func (o USDM) NLL(m *nn.DiT, b Batch) (float64, error) {
	nb := NoiseDiscrete(b.Tokens, b.B, m.Vocab, o.schedule(), b.RNG)
	logits, err := m.Forward(nil, nn.Input{Batch: b.B, IDs: nb.Zt, Sigma: nb.Sigma})
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, l := range TokenLosses(logits.Value, nb, nil) {
		sum += l
	}
	return sum / float64(len(b.Tokens)), nil
}

// Duo is USDM trained with the Gaussian-guided curriculum (Sec. 4.1) for its
// first CurriculumSteps steps: the network sees the tempered softmax of the
// Gaussian latent, and the loss is Eq. 17 with alpha = T(gamma_t) (Eq. 11).
// With TopK the softmax keeps its k largest coordinates and the clean
// token's (the efficient curriculum of Duo++, spec section 4). Afterwards,
// and in evaluation, it is USDM.
type Duo struct {
	USDM
	CurriculumSteps int
	Gamma           GammaSchedule // the curriculum's log-SNR range
	Tau             TauSchedule   // the softmax temperature over training
	TopK            int           // the efficient curriculum's k (0: the full softmax)
}

// Name returns "duo".
func (Duo) Name() string { return ObjectiveDuo }

// InCurriculum reports whether the batch after step steps uses the
// curriculum.
func (o Duo) InCurriculum(step int) bool { return step < o.CurriculumSteps }

// Loss returns NELBO on the curriculum's soft input during the curriculum,
// and USDM's loss after it.
func (o Duo) Loss(tp *autograd.Tape, m *nn.DiT, b Batch) (*autograd.Var, error) {
	if !o.InCurriculum(b.Step) {
		return o.USDM.Loss(tp, m, b)
	}
	c := Curriculum{Gamma: o.Gamma, Log10Tau: o.Tau.Log10(b.Step), TopK: o.TopK}
	nb := c.NoiseCurriculum(b.Tokens, b.B, m.Vocab, b.RNG)
	in := nn.Input{Batch: b.B, Mix: nb.Mix, Sigma: nb.Sigma, RNG: b.Dropout}
	if nb.Soft != nil {
		in.Soft = autograd.Const(nb.Soft)
	}
	logits, err := m.Forward(tp, in)
	if err != nil {
		return nil, err
	}
	return NELBO(tp, logits, nb), nil
}

// TauSchedule is the curriculum's softmax temperature over training: log10
// tau moves linearly from Log10Start to Log10End between StartStep and
// EndStep, and is Log10Start throughout when EndStep <= StartStep.
type TauSchedule struct {
	Log10Start, Log10End float64
	StartStep, EndStep   int
}

// Log10 returns log10 tau at a step.
func (s TauSchedule) Log10(step int) float64 {
	switch {
	case s.EndStep <= s.StartStep || step <= s.StartStep:
		return s.Log10Start
	case step >= s.EndStep:
		return s.Log10End
	}
	f := float64(step-s.StartStep) / float64(s.EndStep-s.StartStep)
	return s.Log10Start + f*(s.Log10End-s.Log10Start)
}

// AR is the autoregressive baseline: next-token cross-entropy of a causal
// network, whose NLL is exact.
type AR struct{}

// Name returns "ar".
func (AR) Name() string { return ObjectiveAR }

// Causal returns true.
func (AR) Causal() bool { return true }

// Span returns L+1: each sequence carries the target of its last position.
func (AR) Span(L int) int { return L + 1 }

// Exact returns true.
func (AR) Exact() bool { return true }

// Loss returns the mean next-token cross-entropy.
func (o AR) Loss(tp *autograd.Tape, m *nn.DiT, b Batch) (*autograd.Var, error) {
	ids, targets := arBatch(b.Tokens, b.B, m.Length)
	logits, err := m.Forward(tp, nn.Input{Batch: b.B, IDs: ids, RNG: b.Dropout})
	if err != nil {
		return nil, err
	}
	return tp.CrossEntropy(logits, targets), nil
}

// NLL returns the exact mean next-token cross-entropy.
func (o AR) NLL(m *nn.DiT, b Batch) (float64, error) {
	ids, targets := arBatch(b.Tokens, b.B, m.Length)
	logits, err := m.Forward(nil, nn.Input{Batch: b.B, IDs: ids})
	if err != nil {
		return 0, err
	}
	loss, _ := tensor.CrossEntropy(logits.Value, targets)
	return loss, nil
}

// arBatch splits blocks of L+1 tokens into inputs and next-token targets.
func arBatch(blocks []int32, B, L int) (ids, targets []int32) {
	ids, targets = make([]int32, 0, B*L), make([]int32, 0, B*L)
	for b := 0; b < B; b++ {
		row := blocks[b*(L+1) : (b+1)*(L+1)]
		ids = append(ids, row[:L]...)
		targets = append(targets, row[1:]...)
	}
	return ids, targets
}
