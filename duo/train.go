package duo

import (
	"fmt"
	"math"
	"time"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/internal/data"
	"github.com/duo-go/duo/internal/sysmem"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// TrainConfig is everything that defines a training run; it is saved with
// every checkpoint so a run can be resumed and reproduced.
type TrainConfig struct {
	Model           nn.Config `json:"model"`
	Objective       string    `json:"objective"`  // an Objective's name (ObjectiveOf)
	Tokenizer       string    `json:"tokenizer"`  // "bytes" or "gpt2"
	Batch           int       `json:"batch"`      // sequences per optimiser step (split over GradAccum passes)
	GradAccum       int       `json:"grad_accum"` // forward/backward passes per optimiser step
	Steps           int       `json:"steps"`
	CurriculumSteps int       `json:"curriculum_steps"`   // Duo: steps trained with the curriculum
	TopK            int       `json:"topk,omitempty"`     // Duo: the efficient curriculum's k (0: the full softmax)
	Schedule        string    `json:"schedule,omitempty"` // the noise schedule (ScheduleNamed; "": log-linear)
	GammaMin        float64   `json:"gamma_min"`          // curriculum log-SNR range
	GammaMax        float64   `json:"gamma_max"`
	Log10TauStart   float64   `json:"log10_tau_start"` // log10 tau moves linearly from start to end
	Log10TauEnd     float64   `json:"log10_tau_end"`   // between TauStartStep and TauEndStep
	TauStartStep    int       `json:"tau_start_step"`
	TauEndStep      int       `json:"tau_end_step"`
	LR              float64   `json:"lr"`
	Warmup          int       `json:"warmup"`
	LRDecay         string    `json:"lr_decay,omitempty"` // after the warm-up: "" (constant) or "cosine" (to LRMin at Steps)
	LRMin           float64   `json:"lr_min,omitempty"`   // the cosine decay's final learning rate
	WeightDecay     float64   `json:"weight_decay"`
	ClipNorm        float64   `json:"clip_norm"`
	EMADecay        float64   `json:"ema_decay"`
	RoundSteps      int       `json:"round_steps,omitempty"` // DCD: steps per round (the teacher is refreshed, delta doubles)
	Delta           float64   `json:"delta,omitempty"`       // DCD: delta of the first round
	EvalEvery       int       `json:"eval_every"`            // steps between validations (0: never)
	EvalBatches     int       `json:"eval_batches"`          // validation batches per evaluation
	Seed            uint64    `json:"seed"`
}

// DefaultTrainConfig returns the reference recipe's choices scaled to a
// small model: AdamW (0.9, 0.999), no weight decay, clipping at 1, EMA
// 0.9999, and the curriculum for the first half of training with tau =
// 1e-3 over the gamma range where alpha spans [0.95, 0.05] for the model's
// vocabulary (CurriculumGammaRange; the LM1B recipe's [-3.5, -1.75] for a
// vocabulary that the range cannot be computed for).
func DefaultTrainConfig(model nn.Config, steps int) TrainConfig {
	c := TrainConfig{
		Model: model, Objective: ObjectiveDuo, Tokenizer: "bytes",
		Batch: 16, GradAccum: 1, Steps: steps, CurriculumSteps: steps / 2,
		GammaMin: -3.5, GammaMax: -1.75, Log10TauStart: -3, Log10TauEnd: -3,
		LR: 3e-4, Warmup: 2500, ClipNorm: 1, EMADecay: 0.9999,
		EvalBatches: 8, Seed: 1,
	}
	if model.Vocab >= 2 && model.Vocab <= 1<<24 {
		g := CurriculumGammaRange(model.Vocab)
		c.GammaMin, c.GammaMax = g.Min, g.Max
	}
	if model.Vocab > TopKVocab {
		c.TopK = DefaultTopK
	}
	return c
}

// DefaultTopK is the efficient curriculum's default k, and TopKVocab the
// vocabulary size above which DefaultTrainConfig uses it (below, the full
// softmax costs little).
const (
	DefaultTopK = 16
	TopKVocab   = 1024
)

// Validate reports the first inconsistent setting. Every number must be
// finite and in range (NaN fails every check).
func (c TrainConfig) Validate() error {
	if err := c.Model.Validate(); err != nil {
		return err
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	obj, err := ObjectiveOf(c)
	if err != nil {
		return err
	}
	switch {
	case obj.Causal() != c.Model.Causal:
		return fmt.Errorf("objective %q needs causal=%v", c.Objective, obj.Causal())
	case c.Batch < 1 || c.GradAccum < 1 || c.Batch%c.GradAccum != 0:
		return fmt.Errorf("batch %d must be a positive multiple of grad_accum %d", c.Batch, c.GradAccum)
	case c.Steps < 1:
		return fmt.Errorf("steps %d: need at least 1", c.Steps)
	case c.CurriculumSteps < 0 || c.Warmup < 0 || c.TauStartStep < 0 || c.TauEndStep < 0:
		return fmt.Errorf("negative step count (curriculum_steps %d, warmup %d, tau_start_step %d, tau_end_step %d)",
			c.CurriculumSteps, c.Warmup, c.TauStartStep, c.TauEndStep)
	case c.EvalEvery < 0 || c.EvalBatches < 0 || (c.EvalEvery > 0 && c.EvalBatches < 1):
		return fmt.Errorf("eval_every %d, eval_batches %d: need eval_every >= 0 and, when it is positive, eval_batches >= 1", c.EvalEvery, c.EvalBatches)
	case !finite(c.GammaMin) || !finite(c.GammaMax) || c.GammaMin >= c.GammaMax:
		return fmt.Errorf("gamma range [%g, %g] is not a finite, non-empty interval", c.GammaMin, c.GammaMax)
	case c.TopK < 0 || c.TopK >= c.Model.Vocab:
		return fmt.Errorf("topk %d outside [0, %d) (0: the full softmax)", c.TopK, c.Model.Vocab)
	case !finite(c.Log10TauStart) || !finite(c.Log10TauEnd):
		return fmt.Errorf("log10 tau %g .. %g must be finite", c.Log10TauStart, c.Log10TauEnd)
	case !(c.LR > 0) || !finite(c.LR):
		return fmt.Errorf("learning rate %g must be positive and finite", c.LR)
	case c.LRDecay != "" && c.LRDecay != LRDecayCosine:
		return fmt.Errorf("lr_decay %q: want \"\" (constant after the warm-up) or %q", c.LRDecay, LRDecayCosine)
	case !(c.LRMin >= 0 && c.LRMin <= c.LR):
		return fmt.Errorf("lr_min %g outside [0, lr %g]", c.LRMin, c.LR)
	case !(c.WeightDecay >= 0) || !finite(c.WeightDecay):
		return fmt.Errorf("weight decay %g must be >= 0 and finite", c.WeightDecay)
	case !(c.ClipNorm >= 0) || !finite(c.ClipNorm):
		return fmt.Errorf("clip norm %g must be >= 0 (0: off) and finite", c.ClipNorm)
	case !(c.EMADecay >= 0 && c.EMADecay < 1):
		return fmt.Errorf("ema decay %g outside [0, 1)", c.EMADecay)
	}
	if v, ok := obj.(interface{ validate(TrainConfig) error }); ok {
		return v.validate(c)
	}
	return nil
}

// LRDecayCosine names the cosine decay of the learning rate after the
// warm-up (TrainConfig.LRDecay).
const LRDecayCosine = "cosine"

// LRSchedule returns the run's learning-rate schedule: linear warm-up, then
// constant or cosine decay to LRMin at the last step.
func (c TrainConfig) LRSchedule() nn.LRSchedule {
	if c.LRDecay == LRDecayCosine {
		return nn.WarmupCosine{LR: c.LR, Min: c.LRMin, Warmup: c.Warmup, Steps: c.Steps}
	}
	return nn.WarmupConstant{LR: c.LR, Warmup: c.Warmup}
}

// CheckMemory reports an error when training with c would not fit in the
// machine's memory (see nn.Config.MemoryBytes), naming the sizes involved.
func (c TrainConfig) CheckMemory() error {
	m := c.Model
	what := fmt.Sprintf("training (batch %d / grad_accum %d x length %d, vocab_size %d, hidden_dim %d, %d blocks, %d parameters)",
		c.Batch, c.GradAccum, m.Length, m.Vocab, m.Hidden, m.Blocks, m.ParamCount())
	return sysmem.Check(what, m.MemoryBytes(c.Batch/c.GradAccum, m.Length, true))
}

// Record is one line of the training log.
type Record struct {
	Step       int     `json:"step"`
	Loss       float64 `json:"loss"`
	GradNorm   float64 `json:"grad_norm"`
	LR         float64 `json:"lr"`
	Curriculum bool    `json:"curriculum,omitempty"`
	TokensPerS float64 `json:"tokens_per_s"`
	ValNLL     float64 `json:"val_nll,omitempty"` // validation NLL bound (EMA weights), when evaluated
	ValStdErr  float64 `json:"val_stderr,omitempty"`
	Ranks      int     `json:"ranks,omitempty"`      // processes that shared the step (absent: one)
	CommShare  float64 `json:"comm_share,omitempty"` // the step's share of time spent summing over the ranks
}

// Trainer runs the training loop of one model on a token stream.
type Trainer struct {
	Cfg    TrainConfig
	Obj    Objective // built from Cfg (ObjectiveOf)
	Model  *nn.DiT
	Params []nn.Param
	Opt    *nn.AdamW
	EMA    *nn.EMA
	RNG    *tensor.RNG
	Step   int      // optimiser steps completed
	Log    []Record // one per step
	Train  []int32  // training token stream
	Val    []int32  // validation token stream
	Data   Corpus   // what Train and Val are, recorded in checkpoints

	// Checkpoint is the directory of the last checkpoint Save wrote or
	// Resume read ("" before either).
	Checkpoint string

	// Group is the set of processes training this model together (nil:
	// this one alone); set it with SetGroup. BucketBytes is the size of
	// the buffers its gradients are summed in (0: DefaultBucketBytes).
	Group       Group
	BucketBytes int
}

// NewTrainer initialises a model and optimiser for cfg.
func NewTrainer(cfg TrainConfig, train, val []int32) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.CheckMemory(); err != nil {
		return nil, err
	}
	need := cfg.Model.Length + 1
	if len(train) < need || len(val) < need {
		return nil, fmt.Errorf("corpus too small: %d train and %d validation tokens for sequences of %d", len(train), len(val), cfg.Model.Length)
	}
	for i, id := range train {
		if id < 0 || int(id) >= cfg.Model.Vocab {
			return nil, fmt.Errorf("training token %d at position %d outside the vocabulary [0,%d)", id, i, cfg.Model.Vocab)
		}
	}
	obj, err := ObjectiveOf(cfg)
	if err != nil {
		return nil, err
	}
	rng := tensor.NewRNG(cfg.Seed)
	m, err := nn.NewDiT(cfg.Model, rng)
	if err != nil {
		return nil, err
	}
	params := m.Params()
	return &Trainer{
		Cfg: cfg, Obj: obj, Model: m, Params: params,
		Opt: nn.NewAdamW(params, cfg.WeightDecay), EMA: nn.NewEMA(params, cfg.EMADecay),
		RNG: rng, Train: train, Val: val, Data: Fingerprint(train, val),
	}, nil
}

// NewTrainerFrom starts training from the weights of from (copied: from is
// not changed), with fresh AdamW moments and the EMA at from's weights: fine-
// tuning, or a recipe's next stage. cfg.Model must be from's shape (dropout
// may differ), and the objective must suit it (causal or not).
func NewTrainerFrom(cfg TrainConfig, from *nn.DiT, train, val []int32) (*Trainer, error) {
	shape, want := cfg.Model, from.Config
	shape.Dropout, want.Dropout = 0, 0
	if shape != want {
		return nil, fmt.Errorf("configuration %+v does not match the model's %+v", cfg.Model, from.Config)
	}
	t, err := NewTrainer(cfg, train, val)
	if err != nil {
		return nil, err
	}
	for i, p := range from.Params() {
		t.Params[i].Value.CopyFrom(p.Value)
		t.EMA.Shadow[i].CopyFrom(p.Value)
	}
	return t, nil
}

// InCurriculum reports whether the next step uses Duo's curriculum.
func (t *Trainer) InCurriculum() bool {
	d, ok := t.Obj.(Duo)
	return ok && d.InCurriculum(t.Step)
}

// TrainStep runs one optimiser step and returns its log record. The step
// is GradAccum global micro-batches of Batch/GradAccum sequences, each drawn
// from its own random stream (microSeed); with a Group, this rank runs its
// contiguous share of them and the gradients, then the losses, are summed
// over the ranks before clipping, so every rank takes the same step.
func (t *Trainer) TrainStep() (Record, error) {
	start := time.Now()
	cfg := t.Cfg
	rank, ranks := rankOf(t.Group)
	micro, local := cfg.Batch/cfg.GradAccum, cfg.GradAccum/ranks
	rec := Record{Step: t.Step + 1, Curriculum: t.InCurriculum(), LR: cfg.LRSchedule().At(t.Step)}
	losses := make([]*tensor.Tensor, 0, local)
	if s, ok := t.Obj.(Stateful); ok {
		if err := s.Prepare(t.Step, t.Model); err != nil {
			return rec, err
		}
	}
	for j := 0; j < local; j++ {
		tp := autograd.NewTape()
		tp.SetReleaseValues(true) // only the (scalar) loss is read after Backward
		rng := tensor.NewRNG(microSeed(cfg.Seed, t.Step, rank*local+j))
		loss, err := t.loss(tp, micro, t.Train, rng, true)
		if err != nil {
			return rec, err
		}
		losses = append(losses, loss.Value)
		if err := tp.Backward(tp.Scale(loss, 1/float32(cfg.GradAccum))); err != nil {
			return rec, err
		}
	}
	var comm stopwatch
	if ranks > 1 {
		bucket := t.BucketBytes
		if bucket <= 0 {
			bucket = DefaultBucketBytes
		}
		if err := comm.time(func() error { return AllreduceGrads(t.Group, t.Params, bucket) }); err != nil {
			return rec, err
		}
	}
	gradNorm := nn.ClipGradNormDeferred(t.Params, cfg.ClipNorm)
	t.Opt.Step(rec.LR)
	t.EMA.Update(t.Params)
	nn.ZeroGrad(t.Params)
	// The losses and the norm are read after the whole step is recorded, so
	// that a device runs it without a host wait in between. A non-finite
	// loss has then already reached the weights: the step fails and the run
	// stops, and its checkpoints on disk predate it.
	sum := []float64{0}
	for _, l := range losses {
		sum[0] += float64(l.Item())
	}
	if ranks > 1 {
		if err := comm.time(func() error { return t.Group.AllreduceSum64(sum) }); err != nil {
			return rec, err
		}
		rec.Ranks = ranks
	}
	rec.Loss = sum[0] / float64(cfg.GradAccum)
	if math.IsNaN(rec.Loss) || math.IsInf(rec.Loss, 0) {
		return rec, fmt.Errorf("step %d: loss is %v", rec.Step, rec.Loss)
	}
	rec.GradNorm = gradNorm()
	t.Step++
	elapsed := time.Since(start)
	rec.TokensPerS = float64(cfg.Batch*cfg.Model.Length) / elapsed.Seconds()
	if ranks > 1 {
		rec.CommShare = comm.total.Seconds() / elapsed.Seconds()
	}
	t.Log = append(t.Log, rec)
	return rec, nil
}

// loss draws a batch of B sequences from stream and returns the objective
// on it. train selects dropout.
func (t *Trainer) loss(tp *autograd.Tape, B int, stream []int32, rng *tensor.RNG, train bool) (*autograd.Var, error) {
	L := t.Cfg.Model.Length
	b := Batch{Tokens: data.RandomBlocks(stream, t.Obj.Span(L), B, rng), B: B, Step: t.Step, RNG: rng}
	if train {
		b.Dropout = rng
	}
	return t.Obj.Loss(tp, t.Model, b)
}

// WithEMA runs fn with the EMA weights swapped into the model, then
// restores the raw weights.
func (t *Trainer) WithEMA(fn func() error) error {
	raw := make([]*tensor.Tensor, len(t.Params))
	for i, p := range t.Params {
		raw[i] = p.Value.Clone()
	}
	t.EMA.CopyTo(t.Params)
	err := fn()
	for i, p := range t.Params {
		p.Value.CopyFrom(raw[i])
	}
	return err
}
