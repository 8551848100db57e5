package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/internal/data"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/tokenizer"
)

// errNoTokenizer says that a checkpoint's tokenizer is unknown; commands
// that handle only token ids go on without one (see idsOnly).
var errNoTokenizer = duo.ErrNoTokenizer

// loadCheckpoint opens a checkpoint directory and its tokenizer (see
// openModel). When the tokenizer cannot be known it returns the model with
// an error wrapping errNoTokenizer.
func loadCheckpoint(dir, tokSpec string) (*nn.DiT, duo.ModelInfo, tokenizer.Tokenizer, error) {
	m, err := openModel(dir, tokSpec)
	if m == nil {
		return nil, duo.ModelInfo{}, nil, err
	}
	return m.Net, m.Info, m.Tokenizer, err
}

// openModel is duo.Open for the --checkpoint and --tokenizer flags (the
// flag wins over what the checkpoint names).
func openModel(dir, tokSpec string) (*duo.Model, error) {
	if dir == "" {
		return nil, errors.New("--checkpoint is required")
	}
	m, err := duo.Open(dir, &duo.OpenOptions{Tokenizer: tokSpec})
	if errors.Is(err, errNoTokenizer) {
		err = fmt.Errorf("%w (pass --tokenizer)", err)
	}
	return m, err
}

func runSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sample", "sample --checkpoint DIR [flags]", stderr)
	dir := fs.String("checkpoint", "", "checkpoint directory")
	tok := fs.String("tokenizer", "", "tokenizer (default: the checkpoint's)")
	var cfg duo.SampleConfig
	fs.IntVar(&cfg.Steps, "steps", 64, "denoising steps")
	fs.StringVar(&cfg.Sampler, "sampler", duo.SamplerAncestral, "final noise removal: ancestral, greedy (Greedy-Tail) or none")
	fs.Float64Var(&cfg.TopP, "top-p", 1, "nucleus sampling mass on x_theta (1: off)")
	fs.IntVar(&cfg.Batch, "n", 4, "number of samples")
	fs.IntVar(&cfg.Length, "length", 0, "tokens per sample (0: the model's length)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	asJSON := fs.Bool("json", false, "print one JSON object with the samples, their ids and entropies")
	judgeDir := fs.String("judge", "", "an AR checkpoint: also print the samples' generative perplexity under it")
	record := fs.Bool("record", false, "append this sampling run's metrics (Gen PPL with --judge, entropy, speed) to the checkpoint's run.json")
	prompt := fs.String("prompt", "", "text every sample starts with (kept clean at every step; the rest is drawn)")
	infill := fs.String("infill", "", `"before{}after": every sample starts with before and ends with after; the model fills {}`)
	schedule := fs.String("schedule", "", "noise schedule to sample under: loglinear or cosine (default: the one config.json records, log-linear when none)")
	temperature := fs.Float64("temperature", 1, "AR models: divides the logits (0: greedy); diffusion models ignore it")
	stopEOT := fs.Bool("stop-at-eot", false, "end each sample at its first end-of-text token (models trained on documents joined by it, e.g. GPT-2's <|endoftext|>)")
	var pf psiFlags
	pf.register(fs)
	exec := addExecFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	err := checkFlags(fs,
		check{"temperature", *temperature >= 0 && finite(*temperature), "a finite number >= 0 (0: greedy)"},
		check{"psi-high-frac", pf.highFrac >= 0 && pf.highFrac <= 1, "a fraction in [0, 1]"},
		check{"psi-middle-frac", pf.middleFrac >= 0 && pf.highFrac+pf.middleFrac <= 1, "a fraction in [0, 1 - --psi-high-frac]"},
		check{"schedule", knownSchedule(*schedule), "loglinear or cosine"},
		check{"steps", cfg.Steps >= 1, "at least 1"},
		check{"top-p", cfg.TopP > 0 && cfg.TopP <= 1, "a mass in (0, 1] (1: off)"},
		check{"n", cfg.Batch >= 1, "at least 1"},
		check{"length", cfg.Length >= 0, ">= 0 (0: the model's length)"},
	)
	if err != nil {
		return err
	}
	if cfg.Psi, err = pf.psi(); err != nil {
		return err
	}
	release, err := exec.start(stderr)
	if err != nil {
		return err
	}
	defer release()
	model, err := openModel(*dir, *tok)
	if err != nil {
		return err
	}
	if *schedule != "" {
		model.Info.Schedule = *schedule
	}
	opt := duo.GenerateOptions{Prompt: *prompt, Infill: *infill, N: cfg.Batch, Length: cfg.Length, Steps: cfg.Steps, Sampler: cfg.Sampler,
		TopP: cfg.TopP, Temperature: *temperature, Seed: cfg.Seed, StopAtEOT: *stopEOT, Psi: cfg.Psi, Group: group()}
	m := model.Net
	if m.Causal && *temperature == 0 {
		opt.Sampler = duo.SamplerGreedy
	}
	if cfg, err = model.SampleConfig(opt); err != nil {
		return err
	}
	var judge *nn.DiT
	if *judgeDir != "" {
		if judge, err = loadJudge(*judgeDir); err != nil {
			return err
		}
	}
	begin := time.Now()
	gens, err := model.Generate(context.Background(), opt)
	if err != nil {
		return err
	}
	wall := time.Since(begin)
	if m.Causal {
		cfg.Sampler, cfg.Steps = "ar", 0
		fmt.Fprintf(stderr, "AR sampling (KV cache): %d tokens in %v, %.0f tokens/s\n", cfg.Batch*cfg.Length, wall.Round(time.Millisecond), float64(cfg.Batch*cfg.Length)/wall.Seconds())
	}
	out := make([][]int32, len(gens))
	for i, g := range gens {
		out[i] = g.Tokens
	}
	res := sampleFile{Steps: cfg.Steps, Sampler: cfg.Sampler}
	for _, ids := range out {
		res.Samples = append(res.Samples, sampleRecord{model.Tokenizer.Decode(ids), ids, len(ids), duo.Entropy(ids)})
	}
	if judge != nil {
		g, err := duo.GenPPLShared(judge, out, group())
		if err != nil {
			return err
		}
		res.GenPPL = &g
	}
	if *record && rank0() {
		sm := sampleMetrics{Steps: cfg.Steps, Sampler: cfg.Sampler, TopP: cfg.TopP, N: cfg.Batch, Length: cfg.Length, Seed: cfg.Seed,
			WallSeconds: wall.Seconds(), TokensPerS: float64(cfg.Batch*cfg.Length) / wall.Seconds()}
		if cfg.Psi != nil {
			sm.Psi = cfg.Psi.String()
		}
		for _, s := range res.Samples {
			sm.Entropy += s.Entropy / float64(len(res.Samples))
		}
		if res.GenPPL != nil {
			sm.Judge, sm.GenPPL, sm.NLLStdErr = *judgeDir, res.GenPPL.GenPPL, res.GenPPL.StdErr
		}
		if err := appendRecord(*dir, func(r *runRecord) { r.Samples = addSample(r.Samples, sm) }); err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	how := fmt.Sprintf("%d steps, %s", cfg.Steps, cfg.Sampler)
	switch {
	case m.Causal:
		how = fmt.Sprintf("AR, temperature %g", *temperature)
	case cfg.Psi != nil:
		how = fmt.Sprintf("%d steps, %s, final %s", cfg.Steps, cfg.Psi, cfg.Sampler)
	}
	for i, s := range res.Samples {
		fmt.Fprintf(stdout, "=== sample %d (%d tokens, %s, entropy %.2f) ===\n%s\n", i+1, s.Tokens, how, s.Entropy, s.Text)
	}
	if res.GenPPL != nil {
		printGenPPL(stdout, *res.GenPPL, *judgeDir)
	}
	return nil
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", "eval --checkpoint DIR --data PATH [flags]", stderr)
	dir := fs.String("checkpoint", "", "checkpoint directory")
	path := fs.String("data", "", "evaluation corpus (text file, directory or uint16 .bin); all of it is scored unless --split says otherwise")
	tok := fs.String("tokenizer", "", "tokenizer (default: the checkpoint's)")
	var corpus corpusFlags // as given to train
	corpus.register(fs)
	split := fs.String("split", "all", "the part of --data scored: all, val (the validation split training held out: the last 10%) or train (the rest)")
	batch := fs.Int("batch", 16, "sequences per batch")
	batches := fs.Int("batches", 0, "batches to score (0: all)")
	mc := fs.Int("mc", 1, "Monte Carlo time samples per batch (diffusion models)")
	seed := fs.Uint64("seed", 1, "random seed for times and noise")
	asJSON := fs.Bool("json", false, "print one JSON object")
	record := fs.Bool("record", false, "store the result as the validation of the checkpoint's run.json")
	exec := addExecFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	release, err := exec.start(stderr,
		check{"batch", *batch >= 1, "at least 1"},
		check{"batches", *batches >= 0, ">= 0 (0: all)"},
		check{"mc", *mc >= 1, "at least 1"},
		check{"max-bytes", corpus.maxBytes >= 0, ">= 0 (0: all)"},
		check{"split", *split == "all" || *split == "val" || *split == "train", "all, val or train"},
	)
	if err != nil {
		return err
	}
	defer release()
	m, info, t, err := loadCheckpoint(*dir, *tok)
	if errors.Is(err, errNoTokenizer) && strings.EqualFold(filepath.Ext(*path), ".bin") {
		t, err = idsOnly{m.Vocab}, nil // a token file needs no tokenizer
	}
	if err != nil {
		return err
	}
	if *path == "" {
		return errors.New("--data is required")
	}
	c, err := data.Load(*path, t, corpus.options())
	if err != nil {
		return err
	}
	var stream []int32
	switch *split {
	case "val":
		stream = c.Val
	case "train":
		stream = c.Train
	default:
		stream = append(append([]int32(nil), c.Train...), c.Val...)
	}
	fmt.Fprintf(stderr, "scoring %s of %s: %d tokens\n", map[string]string{"all": "all", "val": "the validation split (last 10%)", "train": "the training split (first 90%)"}[*split], c.Source, len(stream))
	obj, err := info.EvalObjective()
	if err != nil {
		return err
	}
	res, err := duo.Evaluate(m, stream, duo.EvalOptions{Objective: obj, Batch: *batch, Batches: *batches, MC: *mc, Seed: *seed, Group: group()})
	if err != nil {
		return err
	}
	if *record && rank0() {
		if err := appendRecord(*dir, func(r *runRecord) { r.Validation = &res }); err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	kind := "NELBO bound"
	if obj.Exact() {
		kind = "exact"
	}
	fmt.Fprintf(stdout, "NLL %.4f ± %.4f nats/token (%s, %d Monte Carlo batches, %d tokens)\nPPL %.3f  BPD %.4f\n",
		res.NLL, res.StdErr, kind, res.Batches, res.Tokens, res.PPL, res.BPD)
	return nil
}

func runDenoise(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("denoise", "denoise --checkpoint DIR --ids \"3,17,...\" --sigma S [--json]", stderr)
	dir := fs.String("checkpoint", "", "checkpoint directory")
	idsFlag := fs.String("ids", "", "comma-separated token ids of one sequence")
	text := fs.String("text", "", "alternatively, text to tokenise")
	tok := fs.String("tokenizer", "", "tokenizer (default: the checkpoint's)")
	sigma := fs.Float64("sigma", 0.1, "noise level sigma = -log alpha_t")
	asJSON := fs.Bool("json", false, `print {"logprobs": [L][K], "argmax": [L]}`)
	top := fs.Int("top", 3, "without --json: most likely tokens shown per position")
	exec := addExecFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	release, err := exec.start(stderr,
		check{"sigma", *sigma >= 0 && finite(*sigma), "a finite noise level >= 0"},
		check{"top", *top >= 1, "at least 1"},
	)
	if err != nil {
		return err
	}
	defer release()
	m, _, t, err := loadCheckpoint(*dir, *tok)
	if errors.Is(err, errNoTokenizer) && *idsFlag != "" {
		t, err = idsOnly{m.Vocab}, nil // ids in, ids out
	}
	if err != nil {
		return err
	}
	var ids []int32
	switch {
	case *idsFlag != "":
		for _, s := range strings.Split(*idsFlag, ",") {
			v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
			if err != nil || v < 0 || int(v) >= m.Vocab {
				return fmt.Errorf("--ids: %q is not a token id in [0, %d)", s, m.Vocab)
			}
			ids = append(ids, int32(v))
		}
	case *text != "":
		ids = t.Encode(*text)
	default:
		return errors.New("--ids or --text is required")
	}
	logits, err := m.Forward(nil, nn.Input{Batch: 1, IDs: ids, Sigma: []float32{float32(*sigma)}})
	if err != nil {
		return err
	}
	lp := tensor.LogSoftmax(logits.Value)
	K := m.Vocab
	rows := make([][]float32, len(ids))
	for i := range rows {
		rows[i] = lp.Data()[i*K : (i+1)*K]
	}
	best := tensor.Argmax(lp)
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"sigma": *sigma, "ids": ids, "logprobs": rows, "argmax": best})
	}
	for i, row := range rows {
		fmt.Fprintf(stdout, "%4d %-8q ->", i, t.Decode(ids[i:i+1]))
		for _, j := range topK(row, *top) {
			fmt.Fprintf(stdout, "  %q %.3f", t.Decode([]int32{int32(j)}), math.Exp(float64(row[j])))
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

// topK returns the indices of the k largest entries, largest first.
func topK(x []float32, k int) []int {
	var idx []int
	for i := range x {
		idx = append(idx, i)
		for j := len(idx) - 1; j > 0 && x[idx[j]] > x[idx[j-1]]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
		if len(idx) > k {
			idx = idx[:k]
		}
	}
	return idx
}

// idsOnly stands in for the tokenizer of a model whose tokenizer is not
// known, where only token ids are handled (a .bin corpus, denoise --ids):
// it knows the vocabulary size and shows ids as "#id".
type idsOnly struct{ vocab int }

func (t idsOnly) Encode(string) []int32 { return nil }

func (t idsOnly) Decode(ids []int32) string {
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "#%d", id)
	}
	return b.String()
}

func (t idsOnly) VocabSize() int { return t.vocab }

func (t idsOnly) EOT() int32 { return -1 }
