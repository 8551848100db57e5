package duo_test

import (
	"context"
	"fmt"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// authorsLayout writes a small untrained model in the authors' Hugging Face
// layout with GPT-2's vocabulary plus [MASK] (K = 50258), as their released
// checkpoints have, and returns its directory.
func authorsLayout() string {
	net, err := nn.NewDiT(nn.Config{Vocab: 50258, Length: 16, Hidden: 16, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 4}, tensor.NewRNG(1))
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "duo-authors")
	if err != nil {
		log.Fatal(err)
	}
	if err := nn.SaveHF(dir, net); err != nil {
		log.Fatal(err)
	}
	return dir
}

// Open a model directory of the authors' layout (its GPT-2 tokenizer is
// embedded in this package) and continue a prompt.
func ExampleOpen() {
	dir := authorsLayout()
	defer os.RemoveAll(dir)

	m, err := duo.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	gens, err := m.Generate(context.Background(), duo.GenerateOptions{Prompt: "The meaning of life is", N: 2, Steps: 8, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range gens {
		fmt.Println(strings.HasPrefix(g.Text, "The meaning of life is"), len(g.Tokens), "tokens")
	}
	fmt.Println(m.Tokenizer.Encode(" is"), m.Tokenizer.Decode([]int32{464, 3616}))
	// Output:
	// true 16 tokens
	// true 16 tokens
	// [318] The meaning
}

// Watch the text emerge from the noise: OnStep receives every sample's text
// after each denoising step; cancelling the context stops between steps.
func ExampleModel_Generate() {
	dir := authorsLayout()
	defer os.RemoveAll(dir)
	m, err := duo.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = m.Generate(ctx, duo.GenerateOptions{Infill: "Once upon{} happily ever after.", Steps: 100, OnStep: func(s duo.Step) {
		fmt.Printf("step %d of %d, t = %.2f, ends well: %v\n", s.Step, s.Steps, s.T, strings.HasSuffix(s.Texts[0], " happily ever after."))
		if s.Step == 2 {
			cancel()
		}
	}})
	fmt.Println(err)
	// Output:
	// step 0 of 101, t = 1.00, ends well: true
	// step 1 of 101, t = 0.99, ends well: true
	// step 2 of 101, t = 0.98, ends well: true
	// context canceled
}

// Score continuations of a context: the exact log-likelihood for an AR
// model; for a diffusion model the ELBO with its Monte Carlo standard error.
func ExampleModel_Score() {
	dir := authorsLayout()
	defer os.RemoveAll(dir)
	m, err := duo.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, choice := range []string{" Paris.", " a large city in Europe."} {
		s, err := m.Score(context.Background(), "The capital of France is", choice, duo.ScoreOptions{MC: 16})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%q: %d tokens, log p <= 0: %v, standard error > 0: %v\n", choice, s.Tokens, s.LogLik <= 0, s.StdErr > 0)
	}
	// Output:
	// " Paris.": 2 tokens, log p <= 0: true, standard error > 0: true
	// " a large city in Europe.": 6 tokens, log p <= 0: true, standard error > 0: true
}

// The examples/embed program is a module of its own that requires this one:
// it opens the authors' layout (K = 50258) and generates from a prompt with
// only public packages (an internal import would not build there).
func TestEmbedProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program (go run)")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	dir := authorsLayout()
	defer os.RemoveAll(dir)
	cmd := exec.Command(gobin, "run", ".", "-model", dir, "-prompt", "Hello world", "-steps", "3")
	cmd.Dir = filepath.Join("..", "examples", "embed")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go run examples/embed: %v\n%s", err, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "Hello world") || strings.Count(stderr.String(), "step ") != 5 {
		t.Errorf("examples/embed printed %q, with steps %q", stdout.String(), stderr.String())
	}
}

// Evaluate a model on text: the NLL bound in nats per token (exact for AR
// models), its standard error, perplexity and bits per token.
func ExampleModel_Evaluate() {
	dir := authorsLayout()
	defer os.RemoveAll(dir)
	m, err := duo.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	text := strings.Repeat("It was the best of times, it was the worst of times. ", 20)
	r, err := m.Evaluate(context.Background(), text, duo.EvalOptions{Batch: 4, Batches: 2, MC: 2})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Tokens, "tokens,", r.Batches, "Monte Carlo batches, bound above zero:", r.NLL > 0, "PPL = exp(NLL):", math.Abs(r.PPL-math.Exp(r.NLL)) < 1e-9)
	// Output:
	// 128 tokens, 4 Monte Carlo batches, bound above zero: true PPL = exp(NLL): true
}

// Distil a trained model for few-step sampling (DCD, Algorithm 1): two
// rounds of five steps, the teacher refreshed and delta doubled each round.
// Cancelling ctx stops after the step under way, checkpoints into
// RunOptions.CheckpointDir (none here) and returns.
func ExampleNewDistillation() {
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 200)
	ids := make([]int32, len(text))
	for i := range len(text) {
		ids[i] = int32(text[i])
	}
	cfg := duo.DefaultTrainConfig(nn.Config{Vocab: 256, Length: 32, Hidden: 32, Cond: 16, Blocks: 1, Heads: 2, MLPRatio: 4}, 10)
	cfg.Batch, cfg.Warmup, cfg.LR = 4, 2, 1e-3
	teacher, err := duo.NewTrainer(cfg, ids[:8000], ids[8000:])
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := teacher.Run(ctx, duo.RunOptions{}); err != nil {
		log.Fatal(err)
	}
	teacher.EMA.CopyTo(teacher.Params)

	dcfg := duo.DefaultDistillConfig(cfg.Model, 2, 5)
	dcfg.Batch = 4
	student, err := duo.NewDistillation(dcfg, teacher.Model, ids[:8000], ids[8000:])
	if err != nil {
		log.Fatal(err)
	}
	if err := student.Run(ctx, duo.RunOptions{}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("objective:", student.Cfg.Objective, "steps:", student.Step)
	// Output:
	// objective: dcd steps: 10
}
