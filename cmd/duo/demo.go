package main

import (
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/internal/plot"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tokenizer"
)

// runDemo trains a small Duo with the curriculum on a real corpus for a few
// minutes, then evaluates it and shows samples at several step counts.
func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo [--data PATH] [--time 4m] [flags]", stderr)
	var f trainFlags
	f.register(fs, 0, "mini")
	budget := fs.Duration("time", 4*time.Minute, "training time budget; --steps overrides it")
	device := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.parsed(fs)
	f.args = append([]string{"demo"}, args...)
	if err := checkFlags(fs, check{"time", *budget > 0, "a positive duration"}, check{"steps", f.steps >= 0, ">= 0 (0: from --time)"}); err != nil {
		return err
	}
	steps := f.steps
	f.steps = max(f.steps, 1) // 0 is valid here: steps from --time
	err := f.validate(fs)
	f.steps = steps
	if err != nil {
		return err
	}
	release, err := useDevice(*device, stderr)
	if err != nil {
		return err
	}
	defer release()
	if !f.set["out"] {
		f.out = "runs/demo"
		f.force = !f.resume // the demo replaces its own earlier run
	}
	if f.data == "" {
		root := goroot()
		f.data, f.exts = filepath.Join(root, "src"), ".go"
		if f.maxBytes == 0 {
			f.maxBytes = 16 << 20
		}
		fmt.Fprintf(stderr, "demo: training on the Go standard library source in %s (use --data for another corpus)\n", f.data)
	}
	// A run of minutes, not days (each choice measured by 800-step runs on
	// the Go source, see the README): a larger step than the paper's 3e-4,
	// more and smaller batches, no dropout (not even one epoch is seen), and
	// the curriculum for three quarters of the steps.
	if !f.set["lr"] {
		f.lr = 1e-3
	}
	if !f.set["batch"] {
		f.batch = 8
	}
	if !f.set["dropout"] {
		f.dropout = 0
	}
	if f.steps == 0 {
		steps, err := stepsForBudget(&f, *budget, stderr)
		if err != nil {
			return err
		}
		f.steps = steps
	}
	if f.curriculum < 0 {
		f.curriculum = f.steps * 3 / 4
	}
	if f.warmup < 0 {
		f.warmup = min(100, f.steps/10)
	}
	if f.evalEvery == 0 {
		f.evalEvery = max(1, f.steps/10)
	}
	ctx, stop := interruptible(stderr)
	defer stop()
	t, err := train(ctx, &f, stdout, stderr)
	if err != nil {
		return err
	}
	// Evaluate the EMA weights, then sample from them.
	m, _, tok, err := loadCheckpoint(f.out, "")
	if err != nil {
		return err
	}
	res, err := duo.Evaluate(m, t.Val, duo.EvalOptions{Objective: t.Obj, Batch: 16, Batches: 16, MC: 2, Seed: 7})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nvalidation (EMA weights): NLL bound %.4f ± %.4f nats/token = %.3f bits/byte, PPL %.2f over %d tokens\n",
		res.NLL, res.StdErr, res.BPD, res.PPL, res.Tokens)
	if t.Obj.Causal() {
		return nil
	}
	if err := showEmergence(m, tok, stdout); err != nil {
		return err
	}
	var xs, ents []float64
	for _, steps := range []int{8, 32, 128} {
		start := time.Now()
		out, err := duo.Sample(m, duo.SampleConfig{Steps: steps, Sampler: duo.SamplerAncestral, TopP: 0.9, Batch: 2, Length: m.Length, Seed: 1})
		if err != nil {
			return err
		}
		var ent float64
		for _, ids := range out {
			ent += duo.Entropy(ids) / float64(len(out))
		}
		xs, ents = append(xs, float64(steps)), append(ents, ent)
		fmt.Fprintf(stdout, "\n=== %d steps, ancestral, top-p 0.9 (%.1fs, mean entropy %.2f nats) ===\n", steps, time.Since(start).Seconds(), ent)
		for _, ids := range out {
			fmt.Fprintf(stdout, "%s\n---\n", printable(tok, ids))
		}
	}
	c := plot.Chart{Title: "Sample entropy vs sampling steps", XLabel: "steps", YLabel: "unigram entropy (nats)", LogX: true,
		Series: []plot.Series{{Name: "Duo (ancestral, top-p 0.9)", X: xs, Y: ents}}}
	if err := c.WritePNG(filepath.Join(f.out, "entropy.png")); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nplots: %s, %s\n", filepath.Join(f.out, "loss.png"), filepath.Join(f.out, "entropy.png"))
	return nil
}

// showEmergence prints one sample at a few times of its sampling run: the
// text as it comes out of the uniform noise.
func showEmergence(m *nn.DiT, tok tokenizer.Tokenizer, stdout io.Writer) error {
	const steps, width = 64, 96
	fmt.Fprintf(stdout, "\n=== one sample emerging from the noise (%d steps, ancestral, top-p 0.9; ⏎ newline, → tab) ===\n", steps)
	marks := []float64{1, 0.9, 0.75, 0.5, 0.25, 0.1, 0}
	_, err := duo.Sample(m, duo.SampleConfig{Steps: steps, Sampler: duo.SamplerAncestral, TopP: 0.9, Batch: 1, Length: m.Length, Seed: 2,
		Trace: func(t float64, z []int32) {
			if len(marks) == 0 || t > marks[0]+0.01 {
				return
			}
			for len(marks) > 0 && t <= marks[0]+0.01 {
				marks = marks[1:]
			}
			line := []rune(strings.NewReplacer("\n", "⏎", "\t", "→").Replace(printable(tok, z)))
			fmt.Fprintf(stdout, "t=%.2f  %s\n", t, string(line[:min(width, len(line))]))
		}})
	return err
}

// printable decodes ids for a terminal, keeping newlines and tabs and
// showing control characters and invalid UTF-8 (stray bytes) as '·'.
func printable(tok tokenizer.Tokenizer, ids []int32) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || (r >= ' ' && r != utf8.RuneError && r != 0x7f) {
			return r
		}
		return '·'
	}, tok.Decode(ids))
}

// goroot finds the Go installation whose source serves as the default corpus.
func goroot() string {
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		if s := strings.TrimSpace(string(out)); s != "" {
			return s
		}
	}
	return runtime.GOROOT()
}

// stepsForBudget times a few training steps of the configured model on a
// small sample and returns how many fit in the budget.
func stepsForBudget(f *trainFlags, budget time.Duration, stderr io.Writer) (int, error) {
	if f.threads > 0 {
		parallel.SetThreads(f.threads)
	}
	probe := *f
	probe.steps = 1000
	cfg, err := probe.config(256)
	if err != nil {
		return 0, err
	}
	cfg.CurriculumSteps = 1000
	stream := make([]int32, 64*cfg.Model.Length)
	for i := range stream {
		stream[i] = int32(i * 7 % 256)
	}
	t, err := duo.NewTrainer(cfg, stream, stream)
	if err != nil {
		return 0, err
	}
	for i := 0; i < 3; i++ { // warm-up: the first steps allocate what later ones reuse
		if _, err := t.TrainStep(); err != nil {
			return 0, err
		}
	}
	// The median step: a shared machine's hiccups do not shorten the run.
	times := make([]time.Duration, 9)
	for i := range times {
		start := time.Now()
		if _, err := t.TrainStep(); err != nil {
			return 0, err
		}
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	per := times[len(times)/2]
	steps := max(20, int(budget*23/25/per)) // leave room for evaluation, checkpoints and sampling
	fmt.Fprintf(stderr, "demo: %v per step, so %d steps fit in %v\n", per.Round(time.Millisecond), steps, budget)
	return steps, nil
}

// writeLossPlot draws the training loss (smoothed) and the validation NLL.
func writeLossPlot(t *duo.Trainer, path string) error {
	var train, val plot.Series
	train.Name, val.Name = "training loss (EMA-smoothed)", "validation NLL bound (EMA weights)"
	if t.Obj.Causal() {
		val.Name = "validation NLL (EMA weights)"
	}
	var smooth float64
	for i, r := range t.Log {
		if i == 0 {
			smooth = r.Loss
		}
		smooth = 0.95*smooth + 0.05*r.Loss
		train.X, train.Y = append(train.X, float64(r.Step)), append(train.Y, smooth)
		if r.ValNLL != 0 {
			val.X, val.Y = append(val.X, float64(r.Step)), append(val.Y, r.ValNLL)
		}
	}
	c := plot.Chart{Title: fmt.Sprintf("%s training (curriculum for %d steps)", t.Cfg.Objective, t.Cfg.CurriculumSteps),
		XLabel: "step", YLabel: "nats per token", Series: []plot.Series{train}}
	if len(val.X) > 0 {
		c.Series = append(c.Series, val)
	}
	return c.WritePNG(path)
}
