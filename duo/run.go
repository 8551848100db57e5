package duo

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RunOptions controls Trainer.Run.
type RunOptions struct {
	CheckpointDir   string                // run directory to save into ("": never)
	CheckpointEvery int                   // steps between checkpoints (0: only at the end)
	Keep            int                   // checkpoints kept (0: DefaultKeep)
	Progress        func(p Progress)      // called after every step
	Eval            func(r *Record) error // optional custom evaluation hook, after the built-in one
}

// Progress is what a status line shows after a step.
type Progress struct {
	Record
	Steps   int           // total steps of the run
	Elapsed time.Duration // since Run started
	ETA     time.Duration
}

// ErrStop is returned by a Run callback to end training early.
var ErrStop = errors.New("stop")

// errStoppedByPeer is why a rank stops when another rank's context was
// cancelled.
var errStoppedByPeer = fmt.Errorf("%w on another rank", context.Canceled)

// Run trains until Cfg.Steps, evaluating the EMA weights every EvalEvery
// steps and checkpointing as asked; it always checkpoints at the end. When
// ctx is cancelled it finishes the step under way, checkpoints and returns
// an error wrapping ctx's cause (context.Canceled); a callback returning
// ErrStop ends training the same way but returns nil.
//
// With a Group, every rank calls Run with the same CheckpointEvery: they
// validate together, check at every checkpoint that they hold the same
// weights, rank 0 alone writes (the other ranks pass no CheckpointDir), and
// a cancellation on any rank stops all of them after the same step.
func (t *Trainer) Run(ctx context.Context, opt RunOptions) error {
	start, first := time.Now(), t.Step
	saved := -1 // the step of the checkpoint on disk
	if t.Checkpoint != "" {
		saved = t.Step
	}
	save := func() error {
		if opt.CheckpointDir == "" || saved == t.Step {
			return nil
		}
		if _, err := t.Save(opt.CheckpointDir, opt.Keep); err != nil {
			return err
		}
		saved = t.Step
		return nil
	}
	for t.Step < t.Cfg.Steps {
		stop, err := agreeStop(t.Group, ctx.Err() != nil)
		if err != nil {
			return err
		}
		if stop {
			if err := save(); err != nil {
				return err
			}
			cause := context.Cause(ctx)
			if cause == nil {
				cause = errStoppedByPeer
			}
			return fmt.Errorf("training stopped at step %d of %d: %w", t.Step, t.Cfg.Steps, cause)
		}
		rec, err := t.TrainStep()
		if err != nil {
			return err
		}
		if t.Cfg.EvalEvery > 0 && (t.Step%t.Cfg.EvalEvery == 0 || t.Step == t.Cfg.Steps) {
			if err := t.validate(&rec); err != nil {
				return err
			}
		}
		if opt.Eval != nil {
			if err := opt.Eval(&rec); err != nil {
				if errors.Is(err, ErrStop) {
					return save()
				}
				return err
			}
		}
		t.Log[len(t.Log)-1] = rec
		if opt.Progress != nil {
			el := time.Since(start)
			done := t.Step - first
			eta := time.Duration(float64(el) / float64(done) * float64(t.Cfg.Steps-t.Step))
			opt.Progress(Progress{Record: rec, Steps: t.Cfg.Steps, Elapsed: el, ETA: eta})
		}
		if opt.CheckpointEvery > 0 && t.Step%opt.CheckpointEvery == 0 {
			if err := t.checkReplicas(); err != nil {
				return err
			}
			if err := save(); err != nil {
				return err
			}
		}
	}
	return save()
}

// validate evaluates the EMA weights on the validation stream into rec.
func (t *Trainer) validate(rec *Record) error {
	return t.WithEMA(func() error {
		B := t.Cfg.Batch / t.Cfg.GradAccum
		res, err := Evaluate(t.Model, t.Val, EvalOptions{Objective: t.Obj, Batch: B, Batches: t.Cfg.EvalBatches, Seed: t.Cfg.Seed + uint64(t.Step), Group: t.Group})
		if err != nil {
			return err
		}
		rec.ValNLL, rec.ValStdErr = res.NLL, res.StdErr
		return nil
	})
}
