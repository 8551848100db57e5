package duo

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// byteModel saves a small random byte-level Duo model (K = 256, L = 16) and
// opens it with Open.
func byteModel(t *testing.T, causal bool) *Model {
	t.Helper()
	net, err := nn.NewDiT(nn.Config{Vocab: 256, Length: 16, Hidden: 16, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 2, Causal: causal}, tensor.NewRNG(4))
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(5)
	for _, p := range net.Params() {
		rng.Uniform(p.Value, -0.3, 0.3)
	}
	dir := t.TempDir()
	obj := ObjectiveDuo
	if causal {
		obj = ObjectiveAR
	}
	if err := nn.SaveDiT(dir, net, map[string]any{"objective": obj, "tokenizer": "bytes"}, nil); err != nil {
		t.Fatal(err)
	}
	m, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Generate keeps the prompt and the infill's text in place, reports every
// step's partial texts (the start, each step, the final removal), gives a
// row the same text whatever is sampled beside it, and stops when the
// context is cancelled.
func TestModelGenerate(t *testing.T) {
	m := byteModel(t, false)
	var steps []Step
	gens, err := m.Generate(context.Background(), GenerateOptions{Prompt: "To be", N: 3, Steps: 5, Seed: 7, OnStep: func(s Step) { steps = append(steps, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(gens) != 3 || len(steps) != 7 {
		t.Fatalf("%d samples and %d step reports; want 3 and 7 (start, 5 steps, final)", len(gens), len(steps))
	}
	for i, s := range steps {
		if s.Step != i || s.Steps != 6 || len(s.Texts) != 3 || !strings.HasPrefix(s.Texts[0], "To be") {
			t.Errorf("step report %d: %+v", i, s)
		}
	}
	if steps[0].T != 1 || steps[6].T != 0 || steps[6].Texts[2] != gens[2].Text {
		t.Errorf("first report at t=%g, last at t=%g with %q; sample %q", steps[0].T, steps[6].T, steps[6].Texts[2], gens[2].Text)
	}
	for _, g := range gens {
		if !strings.HasPrefix(g.Text, "To be") || len(g.Tokens) != 16 {
			t.Errorf("sample %q (%d tokens) does not start with the prompt", g.Text, len(g.Tokens))
		}
	}
	one, err := m.Generate(context.Background(), GenerateOptions{Prompt: "To be", N: 1, Steps: 5, Seeds: RowSeeds(7, 3)[2:]})
	if err != nil {
		t.Fatal(err)
	}
	if one[0].Text != gens[2].Text {
		t.Errorf("row 2 alone %q, in a batch of 3 %q", one[0].Text, gens[2].Text)
	}
	in, err := m.Generate(context.Background(), GenerateOptions{Infill: "ab{}yz", Steps: 3})
	if err != nil {
		t.Fatal(err)
	}
	if s := in[0].Text; !strings.HasPrefix(s, "ab") || !strings.HasSuffix(s, "yz") {
		t.Errorf("infill sample %q", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err = m.Generate(ctx, GenerateOptions{Steps: 50, OnStep: func(Step) {
		if calls++; calls == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || calls != 3 {
		t.Errorf("cancelled after 3 reports: %v, %d reports", err, calls)
	}
	for _, bad := range []GenerateOptions{
		{Prompt: "a", Infill: "b{}c"},
		{Infill: "no braces"},
		{Prompt: strings.Repeat("x", 16)},
		{StopAtEOT: true},
		{N: -1},
		{Sampler: "best"},
	} {
		if _, err := m.Generate(context.Background(), bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// An AR model generates left to right after its prompt; greedy is the same
// at every seed; Score and Evaluate take text.
func TestModelARScoreEvaluate(t *testing.T) {
	m := byteModel(t, true)
	a, err := m.Generate(context.Background(), GenerateOptions{Prompt: "Hi", N: 2, Sampler: SamplerGreedy, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Generate(context.Background(), GenerateOptions{Prompt: "Hi", N: 2, Sampler: SamplerGreedy, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) || !strings.HasPrefix(a[0].Text, "Hi") || len(a[0].Tokens) != 16 {
		t.Errorf("greedy AR samples at two seeds: %q, %q", a[0].Text, b[0].Text)
	}
	if _, err := m.Generate(context.Background(), GenerateOptions{}); err == nil || !strings.Contains(err.Error(), "needs a prompt") {
		t.Errorf("AR without a prompt or start token: %v", err)
	}
	s, err := m.Score(context.Background(), "To be", " or not", ScoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Score(m.Net, m.Tokenizer.Encode("To be"), m.Tokenizer.Encode(" or not"), ScoreOptions{Objective: AR{}})
	if err != nil || s != want {
		t.Errorf("Model.Score %+v, Score %+v (%v)", s, want, err)
	}
	text := strings.Repeat("the quick brown fox jumps over the lazy dog ", 4)
	ev, err := m.Evaluate(context.Background(), text, EvalOptions{Batch: 2, Batches: 1})
	if err != nil || ev.Tokens != 2*16 {
		t.Errorf("Evaluate: %+v, %v", ev, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Evaluate(ctx, text, EvalOptions{Batch: 2}); !errors.Is(err, context.Canceled) {
		t.Errorf("Evaluate with a cancelled context: %v", err)
	}
}

// Open finds the tokenizer: none named and no files is ErrNoTokenizer,
// with the model; GPT-2's vocabulary gets the embedded GPT-2 BPE.
func TestOpenTokenizer(t *testing.T) {
	for _, tc := range []struct {
		vocab int
		want  error
	}{{300, ErrNoTokenizer}, {50258, nil}} {
		net, err := nn.NewDiT(nn.Config{Vocab: tc.vocab, Length: 4, Hidden: 8, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 2}, tensor.NewRNG(1))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := nn.SaveDiT(dir, net, map[string]any{"objective": "duo"}, nil); err != nil {
			t.Fatal(err)
		}
		m, err := Open(dir, nil)
		if !errors.Is(err, tc.want) || m == nil {
			t.Fatalf("vocab %d: %v, model %v", tc.vocab, err, m != nil)
		}
		if tc.want == nil && m.Tokenizer.Decode(m.Tokenizer.Encode("Hello world")) != "Hello world" {
			t.Errorf("vocab %d: the GPT-2 tokenizer does not round-trip", tc.vocab)
		}
	}
	if _, err := Open(t.TempDir(), nil); err == nil {
		t.Error("an empty directory opened")
	}
}
