package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/internal/atomicfile"
	"github.com/duo-go/duo/internal/data"
	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tokenizer"
)

// presets are named model sizes. tiny and small are the reference configs
// (dit.md section 1); micro and mini are for CPU runs.
var presets = map[string]nn.Config{
	"micro": {Hidden: 64, Blocks: 2, Heads: 4, Cond: 64},
	"mini":  {Hidden: 128, Blocks: 4, Heads: 4, Cond: 128},
	"tiny":  {Hidden: 256, Blocks: 8, Heads: 8, Cond: 128},
	"small": {Hidden: 768, Blocks: 12, Heads: 12, Cond: 128},
}

// corpusFlags select the part of a directory corpus that is read (train,
// demo and eval, which must read what training read).
type corpusFlags struct {
	exts     string
	maxBytes int64
}

func (c *corpusFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.exts, "ext", "", "with a directory corpus, only files with these comma-separated extensions (e.g. .go,.txt)")
	fs.Int64Var(&c.maxBytes, "max-bytes", 0, "read at most this many bytes of text (0: all)")
}

// options turns the flags into corpus options.
func (c corpusFlags) options() data.Options {
	o := data.Options{MaxBytes: c.maxBytes}
	if c.exts != "" {
		o.Exts = strings.Split(c.exts, ",")
	}
	return o
}

// trainFlags are the flags shared by train and demo.
type trainFlags struct {
	corpusFlags
	data, out, tok, model, objective        string
	curriculumMode, init                    string
	schedule, lrDecay                       string
	lrMin, bucketMiB                        float64
	topk                                    int
	length, hidden, blocks, heads, cond     int
	dropout                                 float64
	steps, curriculum, batch, accum, warmup int
	lr, wd, clip, ema, gammaMin, gammaMax   float64
	tauStart, tauEnd                        float64
	tauStartStep, tauEndStep                int
	evalEvery, evalBatches, ckptEvery       int
	seed                                    uint64
	threads, keep                           int
	resume, force                           bool
	set                                     map[string]bool // the flags given on the command line
	args                                    []string        // the command line, for the run record

	// build makes the run's configuration from the flags for a corpus of
	// vocabulary K (saved: the run's, on resume); nil: config.
	build func(vocab int, saved *duo.TrainConfig) (duo.TrainConfig, error)
	// fresh makes the trainer of a new run; nil: duo.NewTrainer.
	fresh func(cfg duo.TrainConfig, train, val []int32) (*duo.Trainer, error)
}

// shape returns the network shape the flags ask for: the --model preset,
// then the per-field flags (the length is --length).
func (f *trainFlags) shape() (nn.Config, error) {
	m, ok := presets[f.model]
	if !ok {
		return nn.Config{}, fmt.Errorf("unknown --model %q (want micro, mini, tiny or small)", f.model)
	}
	for _, o := range []struct {
		dst *int
		v   int
	}{{&m.Hidden, f.hidden}, {&m.Blocks, f.blocks}, {&m.Heads, f.heads}, {&m.Cond, f.cond}} {
		if o.v > 0 {
			*o.dst = o.v
		}
	}
	m.Length = f.length
	return m, nil
}

// knownSchedule reports whether duo.ScheduleNamed knows name.
func knownSchedule(name string) bool {
	_, err := duo.ScheduleNamed(name)
	return err == nil
}

// lrDecayConfig returns TrainConfig.LRDecay and LRMin for the flags.
func (f *trainFlags) lrDecayConfig() (string, float64) {
	if f.lrDecay == duo.LRDecayCosine {
		return duo.LRDecayCosine, f.lrMin
	}
	return "", f.lrMin
}

// buildConfig makes the run's configuration (see build).
func (f *trainFlags) buildConfig(vocab int, saved *duo.TrainConfig) (duo.TrainConfig, error) {
	if f.build != nil {
		return f.build(vocab, saved)
	}
	return f.config(vocab)
}

// runDefaults are the defaults of the optimiser flags, which differ
// between training and distillation.
type runDefaults struct {
	lr, ema, dropout float64
	batch            int
}

// register registers every training flag: the run's and the model's.
func (f *trainFlags) register(fs *flag.FlagSet, steps int, model string) {
	f.registerRun(fs, "run directory: checkpoints, log and plots", runDefaults{lr: 3e-4, ema: 0.9999, dropout: 0.1, batch: 16})
	fs.StringVar(&f.model, "model", model, "model size: micro, mini, tiny or small (the per-field flags below override it)")
	fs.StringVar(&f.objective, "objective", duo.ObjectiveDuo, "duo (curriculum then discrete), udlm (no curriculum), mdlm (masked diffusion baseline) or ar (causal baseline)")
	fs.IntVar(&f.length, "length", 128, "sequence length L")
	fs.IntVar(&f.hidden, "hidden", 0, "hidden size D (0: from --model)")
	fs.IntVar(&f.blocks, "blocks", 0, "transformer blocks (0: from --model)")
	fs.IntVar(&f.heads, "heads", 0, "attention heads (0: from --model)")
	fs.IntVar(&f.cond, "cond", 0, "time-conditioning width C (0: from --model)")
	fs.IntVar(&f.steps, "steps", steps, "optimiser steps")
	fs.IntVar(&f.curriculum, "curriculum-steps", -1, "steps trained with the Gaussian curriculum (-1: half of --steps)")
	fs.StringVar(&f.curriculumMode, "curriculum", "auto", "the curriculum's input: simple (the full softmax over the vocabulary), topk (its --topk largest entries and the clean token's, drawn without the K-sized latent: Duo++), auto (topk above 1024 ids)")
	fs.IntVar(&f.topk, "topk", duo.DefaultTopK, "entries kept by --curriculum topk besides the clean token's")
	fs.IntVar(&f.warmup, "warmup", -1, "linear warm-up steps (-1: 10% of --steps, at most 2500)")
	fs.StringVar(&f.schedule, "schedule", duo.ScheduleLogLinear, "noise schedule: loglinear (the paper's for text) or cosine; recorded in config.json, sampling and evaluation use it")
	fs.Float64Var(&f.gammaMin, "gamma-min", 0, "curriculum log-SNR range: lower end (with --gamma-max 0 too: the range where alpha = T(gamma) spans [0.95, 0.05] for the vocabulary, as the paper chooses it; -3.57, -1.86 for GPT-2's)")
	fs.Float64Var(&f.gammaMax, "gamma-max", 0, "curriculum log-SNR range: upper end (see --gamma-min)")
	fs.Float64Var(&f.tauStart, "log10-tau", -3, "curriculum softmax temperature, log10 (start of its schedule)")
	fs.Float64Var(&f.tauEnd, "log10-tau-end", 0, "log10 tau at --tau-end-step (default: constant --log10-tau)")
	fs.IntVar(&f.tauStartStep, "tau-start-step", 0, "step where the log10 tau schedule starts")
	fs.IntVar(&f.tauEndStep, "tau-end-step", 0, "step where the log10 tau schedule ends (0: constant tau)")
	fs.StringVar(&f.init, "init", "", "start from the weights of this model directory (this project's, a converted .ckpt, the authors' Hugging Face layout), with a fresh optimiser: its architecture is the run's")
	fs.BoolVar(&f.resume, "resume", false, "continue the run in --out from its newest complete checkpoint (--steps, --lr, --curriculum-steps, --eval-every and --eval-batches may change)")
}

// registerRun registers the flags of any training run: corpus, output,
// optimiser, evaluation, checkpoints, threads.
func (f *trainFlags) registerRun(fs *flag.FlagSet, out string, d runDefaults) {
	fs.StringVar(&f.data, "data", "", "training corpus: a text file, a directory of text files, or a uint16 .bin token file")
	f.corpusFlags.register(fs)
	fs.StringVar(&f.out, "out", "runs/duo", out)
	fs.StringVar(&f.tok, "tokenizer", "bytes", `"bytes" or a directory with GPT-2 BPE files (encoder.json + vocab.bpe, vocab.json + merges.txt, or tokenizer.json)`)
	fs.Float64Var(&f.dropout, "dropout", d.dropout, "dropout probability")
	fs.IntVar(&f.batch, "batch", d.batch, "sequences per optimiser step")
	fs.IntVar(&f.accum, "grad-accum", 1, "forward/backward passes per step (the batch is split between them)")
	fs.Float64Var(&f.lr, "lr", d.lr, "peak learning rate (AdamW)")
	fs.StringVar(&f.lrDecay, "lr-decay", "constant", "learning rate after the warm-up: constant, or cosine (decays to --lr-min at the last step)")
	fs.Float64Var(&f.lrMin, "lr-min", 0, "final learning rate of --lr-decay cosine")
	fs.Float64Var(&f.wd, "weight-decay", 0, "AdamW decoupled weight decay")
	fs.Float64Var(&f.clip, "clip", 1, "gradient clipping by global norm (0: off)")
	fs.Float64Var(&f.ema, "ema", d.ema, "EMA decay of the weights used for evaluation and sampling")
	fs.IntVar(&f.evalEvery, "eval-every", 0, "steps between validations of the EMA weights (0: 10 per run)")
	fs.IntVar(&f.evalBatches, "eval-batches", 8, "validation batches per evaluation")
	fs.IntVar(&f.ckptEvery, "checkpoint-every", 0, "steps between checkpoints (0: 10 per run)")
	fs.Uint64Var(&f.seed, "seed", 1, "random seed")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads (0: all cores, or DUO_THREADS)")
	fs.IntVar(&f.keep, "keep", duo.DefaultKeep, "complete checkpoints kept in --out/train (the newest; at least 1)")
	fs.Float64Var(&f.bucketMiB, "bucket-mib", float64(duo.DefaultBucketBytes)/(1<<20), "run as several MPI ranks: the size of the buffers gradients are summed in, MiB")
	fs.BoolVar(&f.force, "force", false, "start a new run in an --out that holds one (its checkpoints are removed); with --resume, accept a corpus other than the run's")
}

// parsed records which flags were given; call it after fs.Parse.
func (f *trainFlags) parsed(fs *flag.FlagSet) {
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
}

// validate checks every numeric flag, naming the first bad one.
func (f *trainFlags) validate(fs *flag.FlagSet) error {
	_, preset := presets[f.model]
	return checkFlags(fs,
		check{"model", preset, "micro, mini, tiny or small"},
		check{"steps", f.steps >= 1, "at least 1"},
		check{"length", f.length >= 1, "at least 1"},
		check{"hidden", f.hidden >= 0, ">= 0 (0: from --model)"},
		check{"blocks", f.blocks >= 0, ">= 0 (0: from --model)"},
		check{"heads", f.heads >= 0, ">= 0 (0: from --model)"},
		check{"cond", f.cond >= 0, ">= 0 (0: from --model)"},
		check{"dropout", f.dropout >= 0 && f.dropout < 1, "a probability in [0, 1)"},
		check{"curriculum-steps", f.curriculum >= -1, ">= 0 (-1: half of --steps)"},
		check{"curriculum", f.curriculumMode == "auto" || f.curriculumMode == "simple" || f.curriculumMode == "topk", "auto, simple or topk"},
		check{"topk", f.topk >= 1, "at least 1"},
		check{"batch", f.batch >= 1, "at least 1"},
		check{"grad-accum", f.accum >= 1 && f.batch%f.accum == 0, "at least 1 and a divisor of --batch"},
		check{"lr", f.lr > 0 && finite(f.lr), "a positive finite number"},
		check{"warmup", f.warmup >= -1, ">= 0 (-1: 10% of --steps)"},
		check{"schedule", knownSchedule(f.schedule), "loglinear or cosine"},
		check{"lr-decay", f.lrDecay == "constant" || f.lrDecay == duo.LRDecayCosine, "constant or cosine"},
		check{"lr-min", f.lrMin >= 0 && f.lrMin <= f.lr, "in [0, --lr]"},
		check{"weight-decay", f.wd >= 0 && finite(f.wd), "a finite number >= 0"},
		check{"clip", f.clip >= 0 && finite(f.clip), "a finite number >= 0 (0: off)"},
		check{"ema", f.ema >= 0 && f.ema < 1, "a decay in [0, 1)"},
		check{"gamma-min", finite(f.gammaMin), "a finite number"},
		check{"gamma-max", finite(f.gammaMax) && (f.gammaMax > f.gammaMin || f.gammaMax == 0 && f.gammaMin == 0), "a finite number above --gamma-min"},
		check{"log10-tau", finite(f.tauStart), "a finite number"},
		check{"log10-tau-end", finite(f.tauEnd), "a finite number"},
		check{"tau-start-step", f.tauStartStep >= 0, ">= 0"},
		check{"tau-end-step", f.tauEndStep >= 0, ">= 0"},
		check{"eval-every", f.evalEvery >= 0, ">= 0 (0: 10 per run)"},
		check{"eval-batches", f.evalBatches >= 1, "at least 1"},
		check{"checkpoint-every", f.ckptEvery >= 0, ">= 0 (0: 10 per run)"},
		check{"keep", f.keep >= 1, "at least 1"},
		check{"bucket-mib", f.bucketMiB > 0 && finite(f.bucketMiB), "a positive size"},
		check{"max-bytes", f.maxBytes >= 0, ">= 0 (0: all)"},
		threadsCheck(f.threads),
	)
}

// config builds the training configuration for a corpus of vocabulary K.
func (f *trainFlags) config(vocab int) (duo.TrainConfig, error) {
	m, err := f.shape()
	if err != nil {
		return duo.TrainConfig{}, err
	}
	obj, err := duo.ObjectiveNamed(f.objective)
	if err != nil {
		return duo.TrainConfig{}, fmt.Errorf("--objective: %w", err)
	}
	m.Vocab, m.Length, m.MLPRatio, m.Dropout = duo.ModelVocab(obj, vocab), f.length, 4, f.dropout
	m.Causal = obj.Causal()
	cfg := duo.DefaultTrainConfig(m, f.steps)
	cfg.Objective = f.objective
	cfg.Batch, cfg.GradAccum = f.batch, f.accum
	if f.curriculum >= 0 {
		cfg.CurriculumSteps = f.curriculum
	}
	switch f.curriculumMode {
	case "simple":
		cfg.TopK = 0
	case "topk":
		cfg.TopK = f.topk
	default:
		if m.Vocab > duo.TopKVocab {
			cfg.TopK = f.topk
		}
	}
	if _, curriculum := obj.(duo.Duo); !curriculum {
		cfg.CurriculumSteps, cfg.TopK = 0, 0
	}
	cfg.LR, cfg.WeightDecay, cfg.ClipNorm, cfg.EMADecay = f.lr, f.wd, f.clip, f.ema
	cfg.LRDecay, cfg.LRMin = f.lrDecayConfig()
	cfg.Schedule = f.schedule
	cfg.Warmup = f.warmup
	if cfg.Warmup < 0 {
		cfg.Warmup = min(2500, f.steps/10)
	}
	cfg.GammaMin, cfg.GammaMax = f.gammaMin, f.gammaMax
	if f.gammaMin == 0 && f.gammaMax == 0 {
		g := duo.CurriculumGammaRange(m.Vocab)
		cfg.GammaMin, cfg.GammaMax = g.Min, g.Max
	}
	cfg.Log10TauStart, cfg.Log10TauEnd = f.tauStart, f.tauStart
	if f.tauEndStep > 0 {
		cfg.Log10TauEnd, cfg.TauStartStep, cfg.TauEndStep = f.tauEnd, f.tauStartStep, f.tauEndStep
	}
	cfg.EvalEvery, cfg.EvalBatches, cfg.Seed = f.evalEvery, f.evalBatches, f.seed
	if cfg.EvalEvery == 0 {
		cfg.EvalEvery = max(1, f.steps/10)
	}
	cfg.Tokenizer = "bytes"
	if f.tok != tokenizer.BytesSpec {
		cfg.Tokenizer = "bpe"
	}
	return cfg, cfg.Validate()
}

// loadCorpus tokenises the corpus named by the flags.
func (f *trainFlags) loadCorpus(stderr io.Writer) (*data.Corpus, tokenizer.Tokenizer, error) {
	if f.data == "" {
		return nil, nil, errors.New("--data is required")
	}
	tok, err := tokenizer.Load(f.tok)
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	c, err := data.Load(f.data, tok, f.options())
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stderr, "corpus %s: %d documents, %d train + %d validation tokens, vocabulary %d (%.1fs)\n",
		c.Source, c.Docs, len(c.Train), len(c.Val), c.Vocab, time.Since(start).Seconds())
	return c, tok, nil
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", "train --data PATH --out DIR [flags]", stderr)
	var f trainFlags
	f.register(fs, 5000, "mini")
	device := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.parsed(fs)
	f.args = append([]string{"train"}, args...)
	if err := f.validate(fs); err != nil {
		return err
	}
	release, err := useDevice(*device, stderr)
	if err != nil {
		return err
	}
	defer release()
	if f.init != "" {
		if err := f.initFrom(f.init); err != nil {
			return err
		}
	}
	ctx, stop := interruptible(stderr)
	defer stop()
	_, err = train(ctx, &f, stdout, stderr)
	return err
}

// initFrom makes a fresh run start from the weights of the model in dir
// (--init): the run's architecture is the model's, and a shape flag that
// says otherwise is an error naming both.
func (f *trainFlags) initFrom(dir string) error {
	if f.resume {
		return fmt.Errorf("--init starts a new run from a model; --resume continues the run in --out: give one of them")
	}
	from, _, err := duo.LoadModel(dir)
	if err != nil {
		return fmt.Errorf("--init: %w", err)
	}
	c := from.Config
	asked, err := f.shape()
	if err != nil {
		return err
	}
	for _, s := range []struct {
		flags    string
		set      bool
		v, model int
		field    string
	}{
		{"--hidden", f.set["model"] || f.set["hidden"], asked.Hidden, c.Hidden, "hidden_dim"},
		{"--blocks", f.set["model"] || f.set["blocks"], asked.Blocks, c.Blocks, "n_blocks"},
		{"--heads", f.set["model"] || f.set["heads"], asked.Heads, c.Heads, "n_heads"},
		{"--cond", f.set["model"] || f.set["cond"], asked.Cond, c.Cond, "cond_dim"},
		{"--length", f.set["length"], asked.Length, c.Length, "model_length"},
	} {
		if s.set && s.v != s.model {
			return fmt.Errorf("%s %d (with --model %s): the model in %s has %s %d (with --init the architecture is the model's)", s.flags, s.v, f.model, dir, s.field, s.model)
		}
	}
	f.hidden, f.blocks, f.heads, f.cond, f.length = c.Hidden, c.Blocks, c.Heads, c.Cond, c.Length
	f.build = func(vocab int, _ *duo.TrainConfig) (duo.TrainConfig, error) {
		cfg, err := f.config(vocab)
		if err != nil {
			return cfg, err
		}
		switch {
		case cfg.Model.Vocab > c.Vocab:
			return cfg, fmt.Errorf("--init: objective %s on this corpus needs %d ids, the model in %s has vocab_size %d (use the model's tokenizer)", cfg.Objective, cfg.Model.Vocab, dir, c.Vocab)
		case cfg.Model.Causal != c.Causal:
			return cfg, fmt.Errorf("--init: objective %s needs a model with causal %v; the model in %s has causal %v", cfg.Objective, cfg.Model.Causal, dir, c.Causal)
		}
		cfg.Model.Vocab, cfg.Model.MLPRatio = c.Vocab, c.MLPRatio
		if f.gammaMin == 0 && f.gammaMax == 0 {
			g := duo.CurriculumGammaRange(c.Vocab)
			cfg.GammaMin, cfg.GammaMax = g.Min, g.Max
		}
		return cfg, cfg.Validate()
	}
	f.fresh = func(cfg duo.TrainConfig, train, val []int32) (*duo.Trainer, error) {
		return duo.NewTrainerFrom(cfg, from, train, val)
	}
	return nil
}

// interruptible returns a context cancelled by the first SIGINT or SIGTERM
// (training then stops after the step under way and saves); a second one
// exits at once, which leaves the newest complete checkpoint as it is.
func interruptible(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			fmt.Fprintf(stderr, "\n%v: stopping after this step and saving a checkpoint (again to exit at once)\n", sig)
			cancel(fmt.Errorf("%w by %v", errInterrupted, sig))
		case <-done:
			return
		}
		select {
		case sig := <-ch:
			fmt.Fprintf(stderr, "\n%v: exiting now; the newest complete checkpoint is kept\n", sig)
			os.Exit(130)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// train runs (or resumes) a training run as the flags say and returns the
// trainer at the end.
func train(ctx context.Context, f *trainFlags, stdout, stderr io.Writer) (*duo.Trainer, error) {
	if f.threads > 0 {
		parallel.SetThreads(f.threads)
	}
	existed := dirExists(f.out)
	if rank0() { // with several ranks, rank 0 alone writes the run
		lock, err := duo.LockRun(f.out)
		if err != nil {
			return nil, err
		}
		defer lock.Release()
	}
	t, err := start(f, stderr)
	if err == nil {
		t.BucketBytes = int(f.bucketMiB * (1 << 20))
		err = t.SetGroup(group())
	}
	if err != nil {
		if !existed && rank0() {
			os.RemoveAll(f.out) // nothing but the lock file was written
		}
		return nil, err
	}
	c := t.Cfg
	every := f.ckptEvery
	if every == 0 {
		every = max(1, c.Steps/10)
	}
	warm := "no warm-up"
	if c.Warmup > 0 {
		warm = fmt.Sprintf("warm-up %d", c.Warmup)
	}
	if c.LRDecay == duo.LRDecayCosine {
		warm += fmt.Sprintf(", cosine decay to %g", c.LRMin)
	}
	fmt.Fprintf(stderr, "model: %d params (D=%d, %d blocks, %d heads, C=%d, L=%d, K=%d, dropout %g), objective %s\n",
		t.Model.NumParams(), c.Model.Hidden, c.Model.Blocks, c.Model.Heads, c.Model.Cond, c.Model.Length, c.Model.Vocab, c.Model.Dropout, c.Objective)
	curr := fmt.Sprint(c.CurriculumSteps)
	if c.CurriculumSteps > 0 && c.TopK > 0 {
		curr += fmt.Sprintf(", top-%d", c.TopK)
	}
	fmt.Fprintf(stderr, "run: steps %d (curriculum %s), batch %d (grad-accum %d), lr %g (%s), weight decay %g, clip %g, ema %g, seed %d, %d threads\n",
		c.Steps, curr, c.Batch, c.GradAccum, c.LR, warm, c.WeightDecay, c.ClipNorm, c.EMADecay, c.Seed, parallel.Threads())
	fmt.Fprintf(stderr, "checkpoints: every %d steps into %s, the newest %d kept\n", every, filepath.Join(f.out, "train"), f.keep)
	if g := group(); g != nil {
		fmt.Fprintf(stderr, "ranks: %d (%s), each runs %d of the %d micro-batches of %d sequences per step\n",
			g.Size(), world.Library(), c.GradAccum/g.Size(), c.GradAccum, c.Batch/c.GradAccum)
	}
	status := newStatus(stderr)
	if _, ok := t.Obj.(duo.Duo); !ok {
		status.phase = t.Obj.Name()
	}
	begin := time.Now()
	opt := duo.RunOptions{CheckpointDir: f.out, CheckpointEvery: every, Keep: f.keep, Progress: status.update}
	if !rank0() {
		opt = duo.RunOptions{CheckpointEvery: every}
	}
	err = t.Run(ctx, opt)
	status.done()
	if !rank0() {
		return t, err
	}
	if t.Checkpoint != "" {
		if rerr := recordTraining(f.out, f.args, t, time.Since(begin), begin); rerr != nil && err == nil {
			err = rerr
		}
	}
	if errors.Is(err, errInterrupted) {
		fmt.Fprintf(stderr, "stopped at step %d of %d; checkpoint %s\nresume with: duo train --resume --out %s --data %s\n",
			t.Step, c.Steps, t.Checkpoint, f.out, f.data)
	}
	if err != nil {
		return t, err
	}
	if err := writeLossPlot(t, filepath.Join(f.out, "loss.png")); err != nil {
		return t, err
	}
	fmt.Fprintf(stderr, "checkpoint %s, log, run.json and loss.png written to %s\n", t.Checkpoint, f.out)
	return t, nil
}

// start builds the trainer: a fresh one, or the run in --out resumed.
func start(f *trainFlags, stderr io.Writer) (*duo.Trainer, error) {
	if !f.resume {
		if duo.HasRun(f.out) && rank0() {
			if !f.force {
				return nil, fmt.Errorf("%s holds a training run; --resume continues it, --force starts over (removing its checkpoints)", f.out)
			}
			fmt.Fprintf(stderr, "--force: removing the checkpoints of the run in %s\n", f.out)
			for _, name := range []string{"train", nn.ModelFile, nn.ConfigFile, "loss.png"} {
				if err := os.RemoveAll(filepath.Join(f.out, name)); err != nil {
					return nil, err
				}
			}
		}
		corpus, _, err := f.loadCorpus(stderr)
		if err != nil {
			return nil, err
		}
		cfg, err := f.buildConfig(corpus.Vocab, nil)
		if err != nil {
			return nil, err
		}
		fresh := f.fresh
		if fresh == nil {
			fresh = duo.NewTrainer
		}
		t, err := fresh(cfg, corpus.Train, corpus.Val)
		if err != nil {
			return nil, err
		}
		t.Data.Source = corpus.Source
		if cfg.Tokenizer == "bpe" && rank0() {
			if err := copyTokenizer(f.tok, f.out); err != nil {
				return nil, err
			}
		}
		return t, nil
	}
	ck, err := duo.OpenCheckpoint(f.out)
	if err != nil {
		return nil, err
	}
	for _, e := range ck.Skipped {
		fmt.Fprintf(stderr, "passing over an incomplete checkpoint: %v\n", e)
	}
	if !f.set["tokenizer"] && ck.Config.Tokenizer == "bpe" {
		f.tok = f.out // the run's own copy of its tokenizer
	}
	corpus, _, err := f.loadCorpus(stderr)
	if err != nil {
		return nil, err
	}
	cfg, err := f.resumeConfig(ck.Config, corpus.Vocab)
	if err != nil {
		return nil, err
	}
	t, err := ck.Resume(corpus.Train, corpus.Val, duo.ResumeOptions{Config: &cfg, Force: f.force})
	if err != nil {
		return nil, err
	}
	if f.force {
		t.Data.Source = corpus.Source
	}
	fmt.Fprintf(stderr, "resuming from %s at step %d of %d\n", ck.Dir, t.Step, t.Cfg.Steps)
	return t, nil
}

// resumeFlags are the training flags that name fields of the saved
// configuration, and whether --resume applies them (else they must agree
// with the run).
var resumeFlags = map[string]struct {
	apply  bool
	fields func(c *duo.TrainConfig) []any
}{
	"steps":            {true, func(c *duo.TrainConfig) []any { return []any{&c.Steps} }},
	"lr":               {true, func(c *duo.TrainConfig) []any { return []any{&c.LR} }},
	"lr-decay":         {true, func(c *duo.TrainConfig) []any { return []any{&c.LRDecay} }},
	"lr-min":           {true, func(c *duo.TrainConfig) []any { return []any{&c.LRMin} }},
	"schedule":         {false, func(c *duo.TrainConfig) []any { return []any{&c.Schedule} }},
	"curriculum-steps": {true, func(c *duo.TrainConfig) []any { return []any{&c.CurriculumSteps} }},
	"curriculum":       {false, func(c *duo.TrainConfig) []any { return []any{&c.TopK} }},
	"topk":             {false, func(c *duo.TrainConfig) []any { return []any{&c.TopK} }},
	"eval-every":       {true, func(c *duo.TrainConfig) []any { return []any{&c.EvalEvery} }},
	"eval-batches":     {true, func(c *duo.TrainConfig) []any { return []any{&c.EvalBatches} }},
	"rounds":           {true, func(c *duo.TrainConfig) []any { return []any{&c.Steps} }},
	"steps-per-round":  {false, func(c *duo.TrainConfig) []any { return []any{&c.RoundSteps} }},
	"delta":            {false, func(c *duo.TrainConfig) []any { return []any{&c.Delta} }},
	"model": {false, func(c *duo.TrainConfig) []any {
		return []any{&c.Model.Hidden, &c.Model.Blocks, &c.Model.Heads, &c.Model.Cond}
	}},
	"length":         {false, func(c *duo.TrainConfig) []any { return []any{&c.Model.Length} }},
	"hidden":         {false, func(c *duo.TrainConfig) []any { return []any{&c.Model.Hidden} }},
	"blocks":         {false, func(c *duo.TrainConfig) []any { return []any{&c.Model.Blocks} }},
	"heads":          {false, func(c *duo.TrainConfig) []any { return []any{&c.Model.Heads} }},
	"cond":           {false, func(c *duo.TrainConfig) []any { return []any{&c.Model.Cond} }},
	"dropout":        {false, func(c *duo.TrainConfig) []any { return []any{&c.Model.Dropout} }},
	"objective":      {false, func(c *duo.TrainConfig) []any { return []any{&c.Objective} }},
	"tokenizer":      {false, func(c *duo.TrainConfig) []any { return []any{&c.Tokenizer} }},
	"batch":          {false, func(c *duo.TrainConfig) []any { return []any{&c.Batch} }},
	"grad-accum":     {false, func(c *duo.TrainConfig) []any { return []any{&c.GradAccum} }},
	"warmup":         {false, func(c *duo.TrainConfig) []any { return []any{&c.Warmup} }},
	"weight-decay":   {false, func(c *duo.TrainConfig) []any { return []any{&c.WeightDecay} }},
	"clip":           {false, func(c *duo.TrainConfig) []any { return []any{&c.ClipNorm} }},
	"ema":            {false, func(c *duo.TrainConfig) []any { return []any{&c.EMADecay} }},
	"gamma-min":      {false, func(c *duo.TrainConfig) []any { return []any{&c.GammaMin} }},
	"gamma-max":      {false, func(c *duo.TrainConfig) []any { return []any{&c.GammaMax} }},
	"log10-tau":      {false, func(c *duo.TrainConfig) []any { return []any{&c.Log10TauStart} }},
	"log10-tau-end":  {false, func(c *duo.TrainConfig) []any { return []any{&c.Log10TauEnd} }},
	"tau-start-step": {false, func(c *duo.TrainConfig) []any { return []any{&c.TauStartStep} }},
	"tau-end-step":   {false, func(c *duo.TrainConfig) []any { return []any{&c.TauEndStep} }},
	"seed":           {false, func(c *duo.TrainConfig) []any { return []any{&c.Seed} }},
}

// resumeConfig applies the flags given with --resume to the run's saved
// configuration: those resumeFlags applies take effect, the others must
// agree with the run, and the error names the first that does not.
func (f *trainFlags) resumeConfig(saved duo.TrainConfig, vocab int) (duo.TrainConfig, error) {
	// Only the flags given matter: the configuration built from all of
	// them need not validate (the error would be about defaults).
	asked, _ := f.buildConfig(vocab, &saved)
	cfg := saved
	names := make([]string, 0, len(f.set))
	for name := range f.set {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		rf, ok := resumeFlags[name]
		if !ok {
			continue
		}
		dst, src := rf.fields(&cfg), rf.fields(&asked)
		for i := range dst {
			d, s := reflect.ValueOf(dst[i]).Elem(), reflect.ValueOf(src[i]).Elem()
			switch {
			case rf.apply:
				d.Set(s)
			case !d.Equal(s):
				return saved, fmt.Errorf("--%s cannot change on --resume: the run in %s has %v, the flag asks for %v (start a new run to change it)", name, f.out, d.Interface(), s.Interface())
			}
		}
	}
	if cfg.Steps < 1 {
		return saved, fmt.Errorf("--steps %d: want at least 1", cfg.Steps)
	}
	return cfg, cfg.Validate()
}

func dirExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// copyTokenizer copies the BPE files of dir (or a tokenizer.json file) next
// to the checkpoint, so the run directory is self-contained.
func copyTokenizer(spec, out string) error {
	files := []string{"encoder.json", "vocab.bpe", "vocab.json", "merges.txt", "tokenizer.json"}
	src := spec
	if fi, err := os.Stat(spec); err == nil && !fi.IsDir() {
		src, files = filepath.Dir(spec), []string{filepath.Base(spec)}
	}
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			continue
		}
		dst := name
		if filepath.Ext(spec) == ".json" && name == filepath.Base(spec) {
			dst = "tokenizer.json"
		}
		if err := atomicfile.WriteBytes(filepath.Join(out, dst), b); err != nil {
			return err
		}
	}
	return nil
}

// status prints a live progress line: a rewritten line on a terminal, one
// line per few seconds otherwise.
type status struct {
	phase string // what a step that is not in the curriculum is called
	w     io.Writer
	tty   bool
	last  time.Time
	width int
}

func newStatus(w io.Writer) *status {
	s := &status{w: w, phase: "discrete"}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			s.tty = true
		}
	}
	return s
}

func (s *status) update(p duo.Progress) {
	phase := s.phase
	if p.Curriculum {
		phase = "curriculum"
	}
	line := fmt.Sprintf("step %d/%d | loss %.4f | %s | %.0f tok/s | lr %.2e | elapsed %s | ETA %s",
		p.Step, p.Steps, p.Loss, phase, p.TokensPerS, p.LR, p.Elapsed.Round(time.Second), p.ETA.Round(time.Second))
	if p.Ranks > 1 {
		line += fmt.Sprintf(" | %d ranks, comm %.0f%%", p.Ranks, 100*p.CommShare)
	}
	if p.ValNLL != 0 {
		line += fmt.Sprintf(" | val %.4f ± %.4f nats (%.3f bits)", p.ValNLL, p.ValStdErr, p.ValNLL/0.6931471805599453)
	}
	switch {
	case s.tty:
		fmt.Fprintf(s.w, "\r%-*s", s.width, line)
		s.width = len(line)
		if p.ValNLL != 0 {
			fmt.Fprintln(s.w)
			s.width = 0
		}
	case p.ValNLL != 0 || time.Since(s.last) > 5*time.Second || p.Step == p.Steps:
		fmt.Fprintln(s.w, line)
		s.last = time.Now()
	}
}

func (s *status) done() {
	if s.tty && s.width > 0 {
		fmt.Fprintln(s.w)
	}
}
