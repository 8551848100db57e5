package duo

import (
	"context"
	"fmt"
	"math"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// Discrete Consistency Distillation (Sec. 4.2, Algorithm 1, spec section 5).

// ObjectiveDCD names Discrete Consistency Distillation in configurations.
const ObjectiveDCD = "dcd"

// DefaultDelta is DCD's first step gap delta (doubled every round).
const DefaultDelta = 1.0 / 512

// Trajectory is the deterministic discrete trajectory of one position
// under one Gaussian draw: with w_t = at x + st eps (Eq. 7), z_t =
// argmax w_t is x when mu_t + eps_x > max_{v != x} eps_v (mu = at/st =
// exp(-gamma/2)), else the argmax of eps over the other ids. As t falls
// (gamma falls, mu grows) each position flips once, from that argmax to x.
// Only eps_x and the maximum of the K-1 other coordinates and its position
// matter, so a trajectory is drawn from three numbers, not K.
type Trajectory struct {
	X        int32   // the clean token
	EpsX     float64 // eps at x
	MaxOther float64 // the largest eps over the other K-1 ids
	ArgOther int32   // where it is
}

// DrawTrajectory draws the trajectory of clean token x among K ids: eps_x ~
// N(0, 1), the maximum of K-1 standard normals by inversion of its CDF
// Phi^(K-1) (in log space), and its position uniform over the ids other
// than x.
func DrawTrajectory(x int32, K int, rng *tensor.RNG) Trajectory {
	epsX := rng.NormFloat64()
	u := 1 - rng.Float64()                                // (0, 1]
	q := -math.Expm1(math.Log(u) / float64(K-1))          // 1 - U, U = u^(1/(K-1))
	m := math.Sqrt2 * math.Erfcinv(2*math.Max(q, 1e-300)) // Phi^-1(U) = -Phi^-1(1-U)
	j := int32(rng.IntN(K - 1))
	if j >= x {
		j++
	}
	return Trajectory{X: x, EpsX: epsX, MaxOther: m, ArgOther: j}
}

// At returns z at log-SNR gamma.
func (tr Trajectory) At(gamma float64) int32 {
	if math.Exp(-gamma/2)+tr.EpsX > tr.MaxOther {
		return tr.X
	}
	return tr.ArgOther
}

// DCD is the distillation objective: the student at (z_t, sigma_t) is
// trained towards the teacher at (z_s, sigma_s) on one shared Gaussian
// trajectory, s = t - delta, by KL(student || teacher) per position. The
// teacher is the raw student copied at the start of each round of
// RoundSteps steps (in inference mode: no dropout), and delta doubles every
// round. Evaluated, a distilled model is a USDM model.
type DCD struct {
	USDM
	Gamma      GammaSchedule // [-4, -1]
	Delta      float64       // delta of the first round
	RoundSteps int

	teacher *nn.DiT
	round   int // the round the teacher's weights are from (-1: none)
}

// NewDCD returns the distillation objective.
func NewDCD(gamma GammaSchedule, delta float64, roundSteps int) *DCD {
	return &DCD{Gamma: gamma, Delta: delta, RoundSteps: roundSteps, round: -1}
}

// Name returns "dcd".
func (*DCD) Name() string { return ObjectiveDCD }

// validate checks the distillation's part of a training configuration:
// rounds, and delta, which doubles every round and must stay at most 1.
func (*DCD) validate(c TrainConfig) error {
	switch {
	case c.RoundSteps < 1 || !(c.Delta > 0 && c.Delta <= 1):
		return fmt.Errorf("distillation needs round_steps >= 1 (have %d) and delta in (0, 1] (have %g)", c.RoundSteps, c.Delta)
	case c.Delta*math.Pow(2, float64((c.Steps-1)/c.RoundSteps)) > 1:
		return fmt.Errorf("distillation: delta %g doubles past 1 by round %d of %d steps: use fewer rounds (at most %d) or a smaller delta",
			c.Delta, (c.Steps-1)/c.RoundSteps+1, c.RoundSteps, 1+int(math.Floor(math.Log2(1/c.Delta))))
	}
	return nil
}

// DeltaAt returns delta for the step after step steps.
func (d *DCD) DeltaAt(step int) float64 {
	return d.Delta * math.Pow(2, float64(step/max(d.RoundSteps, 1)))
}

// Prepare makes the teacher the raw student at the start of each round.
func (d *DCD) Prepare(step int, student *nn.DiT) error {
	r := step / max(d.RoundSteps, 1)
	if r == d.round {
		return nil
	}
	ps, err := d.State(student)
	if err != nil {
		return err
	}
	for i, p := range student.Params() {
		ps[i].Value.CopyFrom(p.Value)
	}
	d.round = r
	return nil
}

// State returns the teacher's weights, allocating a network of the
// student's shape on first use.
func (d *DCD) State(student *nn.DiT) ([]nn.Param, error) {
	if d.teacher == nil {
		t, err := nn.NewDiT(student.Config, tensor.NewRNG(0))
		if err != nil {
			return nil, err
		}
		d.teacher = t
	}
	return d.teacher.Params(), nil
}

// Restored records that State was loaded from a checkpoint taken after
// step steps: the teacher is then that of the round of step step-1.
func (d *DCD) Restored(step int) {
	d.round = -1
	if step > 0 {
		d.round = (step - 1) / max(d.RoundSteps, 1)
	}
}

// Loss returns the mean over positions of KL(student || teacher) (Algorithm
// 1), the teacher without gradient.
func (d *DCD) Loss(tp *autograd.Tape, m *nn.DiT, b Batch) (*autograd.Var, error) {
	if d.teacher == nil || d.round != b.Step/max(d.RoundSteps, 1) {
		return nil, fmt.Errorf("dcd: no teacher for step %d (Prepare was not called)", b.Step)
	}
	zt, zs, sigT, sigS := d.pair(b, m.Vocab)
	student, err := m.Forward(tp, nn.Input{Batch: b.B, IDs: zt, Sigma: sigT, RNG: b.Dropout})
	if err != nil {
		return nil, err
	}
	teacher, err := d.teacher.Forward(nil, nn.Input{Batch: b.B, IDs: zs, Sigma: sigS})
	if err != nil {
		return nil, err
	}
	return KL(tp, student, tensor.LogSoftmax(teacher.Value)), nil
}

// pair draws the batch's times and trajectories and returns z_t, z_s and
// their time conditionings sigma = -log T(gamma).
func (d *DCD) pair(b Batch, K int) (zt, zs []int32, sigT, sigS []float32) {
	L := len(b.Tokens) / b.B
	delta := d.DeltaAt(b.Step)
	t := make([]float64, b.B)
	AntitheticTimes(t, b.RNG.Float64())
	tr := TransformFor(K)
	zt, zs = make([]int32, len(b.Tokens)), make([]int32, len(b.Tokens))
	sigT, sigS = make([]float32, b.B), make([]float32, b.B)
	for i := range t {
		ti := math.Min(t[i]+delta, 1)
		gt, gs := d.Gamma.Gamma(ti), d.Gamma.Gamma(ti-delta)
		sigT[i], sigS[i] = float32(Sigma(tr.Alpha(gt))), float32(Sigma(tr.Alpha(gs)))
		for p := i * L; p < (i+1)*L; p++ {
			traj := DrawTrajectory(b.Tokens[p], K, b.RNG)
			zt[p], zs[p] = traj.At(gt), traj.At(gs)
		}
	}
	return zt, zs, sigT, sigS
}

// KL returns the mean over rows of KL(softmax(logits) || exp(logQ)), with
// logQ (rows, K) log-probabilities held constant, as an autograd value.
func KL(tp *autograd.Tape, logits *autograd.Var, logQ *tensor.Tensor) *autograd.Var {
	logP := tp.LogSoftmax(logits)
	rows := tp.Sum(tp.Mul(tp.Exp(logP), tp.Sub(logP, autograd.Const(logQ))), -1, false)
	return tp.MeanAll(rows)
}

// DefaultDistillConfig returns the configuration of DCD (Algorithm 1) for a
// model of config m: rounds rounds of roundSteps steps, delta from 1/512
// doubling each round, gamma in [-4, -1], and the OpenWebText recipe's
// optimiser scaled down: lr 6e-5 constant after warm-up (500 steps, at
// most a tenth of the run), EMA 0.999, batch 16.
func DefaultDistillConfig(m nn.Config, rounds, roundSteps int) TrainConfig {
	c := DefaultTrainConfig(m, rounds*roundSteps)
	c.Objective, c.CurriculumSteps = ObjectiveDCD, 0
	c.GammaMin, c.GammaMax = -4, -1
	c.LR, c.Warmup, c.EMADecay = 6e-5, min(500, rounds*roundSteps/10), 0.999
	c.RoundSteps, c.Delta = roundSteps, DefaultDelta
	return c
}

// NewDistillation starts DCD of the trained model from (its weights are
// copied: from is not changed): the student and its EMA start as from, with
// fresh AdamW moments. cfg.Model must be from's shape (dropout may differ).
func NewDistillation(cfg TrainConfig, from *nn.DiT, train, val []int32) (*Trainer, error) {
	if cfg.Objective != ObjectiveDCD {
		return nil, fmt.Errorf("distill: objective %q, want %q", cfg.Objective, ObjectiveDCD)
	}
	if from.Causal {
		return nil, fmt.Errorf("distill: the model is causal (AR); DCD distils a uniform-state diffusion model")
	}
	t, err := NewTrainerFrom(cfg, from, train, val)
	if err != nil {
		return nil, fmt.Errorf("distill: %w", err)
	}
	return t, nil
}

// Distill runs DCD of the trained model from for cfg.Steps steps (see
// NewDistillation and Trainer.Run) and returns the trainer: its EMA
// weights are the distilled model.
func Distill(ctx context.Context, cfg TrainConfig, from *nn.DiT, train, val []int32, opt RunOptions) (*Trainer, error) {
	t, err := NewDistillation(cfg, from, train, val)
	if err != nil {
		return nil, err
	}
	return t, t.Run(ctx, opt)
}
