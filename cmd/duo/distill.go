package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tokenizer"
)

func init() {
	commands["distill"] = command{"Discrete Consistency Distillation of a trained Duo model (few-step sampling)", runDistill}
}

// runDistill runs DCD (Algorithm 1): the student starts as the model in
// --teacher, and rounds of --steps-per-round steps train it towards a
// frozen copy of itself one step of the Gaussian trajectory later.
func runDistill(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("distill", "distill --teacher DIR --data PATH --out DIR [flags]", stderr)
	var f trainFlags
	f.registerRun(fs, "run directory of the distilled model: checkpoints, log and plots", runDefaults{lr: 6e-5, ema: 0.999, dropout: 0.1, batch: 16})
	teacherDir := fs.String("teacher", "", "the trained Duo model to distil: a run directory, one of its checkpoints, or the authors' Hugging Face layout")
	rounds := fs.Int("rounds", 5, "rounds: the teacher becomes the current student and delta doubles at the start of each")
	roundSteps := fs.Int("steps-per-round", 1000, "optimiser steps per round")
	delta := fs.Float64("delta", duo.DefaultDelta, "delta (the gap s = t - delta) of the first round")
	fs.IntVar(&f.warmup, "warmup", -1, "linear warm-up steps (-1: 10% of the run, at most 500)")
	fs.Float64Var(&f.gammaMin, "gamma-min", -4, "log-SNR range of the trajectories: lower end")
	fs.Float64Var(&f.gammaMax, "gamma-max", -1, "log-SNR range of the trajectories: upper end")
	fs.BoolVar(&f.resume, "resume", false, "continue the distillation in --out from its newest complete checkpoint (--rounds, --lr, --eval-every and --eval-batches may change; --teacher is not needed)")
	device := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.parsed(fs)
	f.args = append([]string{"distill"}, args...)
	f.steps = *rounds * *roundSteps
	err := checkFlags(fs,
		check{"rounds", *rounds >= 1, "at least 1"},
		check{"steps-per-round", *roundSteps >= 1, "at least 1"},
		check{"delta", *delta > 0 && *delta <= 1, "a gap in (0, 1]"},
	)
	if err == nil {
		err = f.validate(fs)
	}
	if err != nil {
		return err
	}
	if !f.set["out"] {
		f.out = "runs/distill"
	}
	var from *nn.DiT
	var teacherSchedule string
	if *teacherDir == "" && !f.resume {
		return errors.New("--teacher is required (the trained model to distil)")
	}
	release, err := useDevice(*device, stderr)
	if err != nil {
		return err
	}
	defer release()
	if *teacherDir != "" && !f.resume {
		m, info, err := duo.LoadModel(*teacherDir)
		if err != nil {
			return err
		}
		if m.Causal {
			return fmt.Errorf("--teacher %s is an AR model; DCD distils a uniform-state diffusion model", *teacherDir)
		}
		from, teacherSchedule = m, info.Schedule
		if !f.set["tokenizer"] {
			f.tok = tokenizer.BytesSpec
			if info.Tokenizer != "bytes" {
				f.tok = *teacherDir
			}
		}
	}
	f.build = func(vocab int, saved *duo.TrainConfig) (duo.TrainConfig, error) {
		if saved != nil && !f.set["steps-per-round"] {
			*roundSteps = saved.RoundSteps // --rounds on resume counts the run's rounds
		}
		m := nn.Config{}
		switch {
		case from != nil:
			m = from.Config
		case saved != nil:
			m = saved.Model
		}
		if vocab > m.Vocab && from != nil {
			return duo.TrainConfig{}, fmt.Errorf("the corpus has %d token ids but the model only %d (another tokenizer?)", vocab, m.Vocab)
		}
		if f.set["dropout"] {
			m.Dropout = f.dropout
		}
		cfg := duo.DefaultDistillConfig(m, *rounds, *roundSteps)
		cfg.Schedule = teacherSchedule // evaluated and sampled as its teacher
		if saved != nil {
			cfg.Schedule = saved.Schedule
		}
		cfg.Batch, cfg.GradAccum, cfg.LR = f.batch, f.accum, f.lr
		cfg.LRDecay, cfg.LRMin = f.lrDecayConfig()
		cfg.WeightDecay, cfg.ClipNorm, cfg.EMADecay, cfg.Seed = f.wd, f.clip, f.ema, f.seed
		cfg.GammaMin, cfg.GammaMax, cfg.Delta = f.gammaMin, f.gammaMax, *delta
		if f.warmup >= 0 {
			cfg.Warmup = f.warmup
		}
		cfg.EvalEvery, cfg.EvalBatches = f.evalEvery, f.evalBatches
		if cfg.EvalEvery == 0 {
			cfg.EvalEvery = max(1, cfg.Steps/10)
		}
		cfg.Tokenizer = "bytes"
		if f.tok != tokenizer.BytesSpec {
			cfg.Tokenizer = "bpe"
		}
		return cfg, cfg.Validate()
	}
	f.fresh = func(cfg duo.TrainConfig, train, val []int32) (*duo.Trainer, error) {
		return duo.NewDistillation(cfg, from, train, val)
	}
	ctx, stop := interruptible(stderr)
	defer stop()
	if _, err := train(ctx, &f, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "distilled model (EMA weights) in %s; try: duo sample --checkpoint %s --steps 8 --sampler greedy\n", f.out, f.out)
	return nil
}
