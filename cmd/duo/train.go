package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/internal/data"
	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/internal/tokenizer"
	"github.com/duo-go/duo/nn"
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
	length, hidden, blocks, heads, cond     int
	dropout                                 float64
	steps, curriculum, batch, accum, warmup int
	lr, wd, clip, ema, gammaMin, gammaMax   float64
	tauStart, tauEnd                        float64
	tauStartStep, tauEndStep                int
	evalEvery, evalBatches, ckptEvery       int
	seed                                    uint64
	threads                                 int
	resume                                  bool
}

func (f *trainFlags) register(fs *flag.FlagSet, steps int, model string) {
	fs.StringVar(&f.data, "data", "", "training corpus: a text file, a directory of text files, or a uint16 .bin token file")
	f.corpusFlags.register(fs)
	fs.StringVar(&f.out, "out", "runs/duo", "run directory: checkpoints, log and plots")
	fs.StringVar(&f.tok, "tokenizer", "bytes", `"bytes" or a directory with GPT-2 BPE files (encoder.json + vocab.bpe, vocab.json + merges.txt, or tokenizer.json)`)
	fs.StringVar(&f.model, "model", model, "model size: micro, mini, tiny or small (the per-field flags below override it)")
	fs.StringVar(&f.objective, "objective", duo.ObjectiveDuo, "duo (curriculum then discrete), udlm (no curriculum) or ar (causal baseline)")
	fs.IntVar(&f.length, "length", 128, "sequence length L")
	fs.IntVar(&f.hidden, "hidden", 0, "hidden size D (0: from --model)")
	fs.IntVar(&f.blocks, "blocks", 0, "transformer blocks (0: from --model)")
	fs.IntVar(&f.heads, "heads", 0, "attention heads (0: from --model)")
	fs.IntVar(&f.cond, "cond", 0, "time-conditioning width C (0: from --model)")
	fs.Float64Var(&f.dropout, "dropout", 0.1, "dropout probability")
	fs.IntVar(&f.steps, "steps", steps, "optimiser steps")
	fs.IntVar(&f.curriculum, "curriculum-steps", -1, "steps trained with the Gaussian curriculum (-1: half of --steps)")
	fs.IntVar(&f.batch, "batch", 16, "sequences per optimiser step")
	fs.IntVar(&f.accum, "grad-accum", 1, "forward/backward passes per step (the batch is split between them)")
	fs.Float64Var(&f.lr, "lr", 3e-4, "peak learning rate (AdamW)")
	fs.IntVar(&f.warmup, "warmup", -1, "linear warm-up steps (-1: 10% of --steps, at most 2500)")
	fs.Float64Var(&f.wd, "weight-decay", 0, "AdamW decoupled weight decay")
	fs.Float64Var(&f.clip, "clip", 1, "gradient clipping by global norm (0: off)")
	fs.Float64Var(&f.ema, "ema", 0.9999, "EMA decay of the weights used for evaluation and sampling")
	fs.Float64Var(&f.gammaMin, "gamma-min", -3.5, "curriculum log-SNR range: lower end")
	fs.Float64Var(&f.gammaMax, "gamma-max", -1.75, "curriculum log-SNR range: upper end")
	fs.Float64Var(&f.tauStart, "log10-tau", -3, "curriculum softmax temperature, log10 (start of its schedule)")
	fs.Float64Var(&f.tauEnd, "log10-tau-end", 0, "log10 tau at --tau-end-step (default: constant --log10-tau)")
	fs.IntVar(&f.tauStartStep, "tau-start-step", 0, "step where the log10 tau schedule starts")
	fs.IntVar(&f.tauEndStep, "tau-end-step", 0, "step where the log10 tau schedule ends (0: constant tau)")
	fs.IntVar(&f.evalEvery, "eval-every", 0, "steps between validations of the EMA weights (0: 10 per run)")
	fs.IntVar(&f.evalBatches, "eval-batches", 8, "validation batches per evaluation")
	fs.IntVar(&f.ckptEvery, "checkpoint-every", 0, "steps between checkpoints (0: 10 per run)")
	fs.Uint64Var(&f.seed, "seed", 1, "random seed")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads (0: all cores, or DUO_THREADS)")
	fs.BoolVar(&f.resume, "resume", false, "continue the run in --out from its last checkpoint")
}

// config builds the training configuration for a corpus of vocabulary K.
func (f *trainFlags) config(vocab int) (duo.TrainConfig, error) {
	m, ok := presets[f.model]
	if !ok {
		return duo.TrainConfig{}, fmt.Errorf("unknown --model %q (want micro, mini, tiny or small)", f.model)
	}
	for _, o := range []struct {
		dst *int
		v   int
	}{{&m.Hidden, f.hidden}, {&m.Blocks, f.blocks}, {&m.Heads, f.heads}, {&m.Cond, f.cond}} {
		if o.v > 0 {
			*o.dst = o.v
		}
	}
	m.Vocab, m.Length, m.MLPRatio, m.Dropout = vocab, f.length, 4, f.dropout
	m.Causal = f.objective == duo.ObjectiveAR
	cfg := duo.DefaultTrainConfig(m, f.steps)
	cfg.Objective = f.objective
	cfg.Batch, cfg.GradAccum = f.batch, f.accum
	if f.curriculum >= 0 {
		cfg.CurriculumSteps = f.curriculum
	}
	if f.objective != duo.ObjectiveDuo {
		cfg.CurriculumSteps = 0
	}
	cfg.LR, cfg.WeightDecay, cfg.ClipNorm, cfg.EMADecay = f.lr, f.wd, f.clip, f.ema
	cfg.Warmup = f.warmup
	if cfg.Warmup < 0 {
		cfg.Warmup = min(2500, f.steps/10)
	}
	cfg.GammaMin, cfg.GammaMax = f.gammaMin, f.gammaMax
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
	release, err := useDevice(*device, stderr)
	if err != nil {
		return err
	}
	defer release()
	_, err = train(&f, stdout, stderr)
	return err
}

// train runs (or resumes) a training run as the flags say and returns the
// trainer at the end.
func train(f *trainFlags, stdout, stderr io.Writer) (*duo.Trainer, error) {
	if f.threads > 0 {
		parallel.SetThreads(f.threads)
	}
	corpus, _, err := f.loadCorpus(stderr)
	if err != nil {
		return nil, err
	}
	var t *duo.Trainer
	if f.resume {
		if t, err = duo.Resume(f.out, corpus.Train, corpus.Val); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "resuming %s at step %d of %d\n", f.out, t.Step, t.Cfg.Steps)
	} else {
		cfg, err := f.config(corpus.Vocab)
		if err != nil {
			return nil, err
		}
		if t, err = duo.NewTrainer(cfg, corpus.Train, corpus.Val); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(f.out, 0o755); err != nil {
			return nil, err
		}
		if cfg.Tokenizer == "bpe" {
			if err := copyTokenizer(f.tok, f.out); err != nil {
				return nil, err
			}
		}
	}
	c := t.Cfg
	fmt.Fprintf(stderr, "model: %s DiT, %d params (D=%d, %d blocks, %d heads, L=%d, K=%d), objective %s, %d threads\n",
		f.model, t.Model.NumParams(), c.Model.Hidden, c.Model.Blocks, c.Model.Heads, c.Model.Length, c.Model.Vocab, c.Objective, parallel.Threads())
	every := f.ckptEvery
	if every == 0 {
		every = max(1, c.Steps/10)
	}
	status := newStatus(stderr)
	err = t.Run(duo.RunOptions{CheckpointDir: f.out, CheckpointEvery: every, Progress: status.update})
	status.done()
	if err != nil {
		return t, err
	}
	if err := writeLossPlot(t, filepath.Join(f.out, "loss.png")); err != nil {
		return t, err
	}
	fmt.Fprintf(stderr, "checkpoint, log and loss.png written to %s\n", f.out)
	return t, nil
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
		if err := os.WriteFile(filepath.Join(out, dst), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// status prints a live progress line: a rewritten line on a terminal, one
// line per few seconds otherwise.
type status struct {
	w     io.Writer
	tty   bool
	last  time.Time
	width int
}

func newStatus(w io.Writer) *status {
	s := &status{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			s.tty = true
		}
	}
	return s
}

func (s *status) update(p duo.Progress) {
	phase := "discrete"
	if p.Curriculum {
		phase = "curriculum"
	}
	line := fmt.Sprintf("step %d/%d | loss %.4f | %s | %.0f tok/s | lr %.2e | elapsed %s | ETA %s",
		p.Step, p.Steps, p.Loss, phase, p.TokensPerS, p.LR, p.Elapsed.Round(time.Second), p.ETA.Round(time.Second))
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
