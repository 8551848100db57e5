package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/internal/data"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

func TestCLI(t *testing.T) {
	written := t.TempDir() + "/micro"
	cases := []struct {
		args   []string
		status int
		out    string // substring of stdout
		errOut string // substring of stderr
	}{
		{[]string{"version"}, 0, "duo " + Version, ""},
		{[]string{"help"}, 0, "Commands:", ""},
		{nil, 2, "Usage:", ""},
		{[]string{"nosuch"}, 2, "", `unknown command "nosuch"`},
		{[]string{"version", "-bogus"}, 1, "", "flag provided but not defined"},
		{[]string{"version", "-h"}, 0, "", "Usage: duo version"},
		{[]string{"bench"}, 1, "", "dp|gemm|sample|serve|train"},
		{[]string{"bench", "train", "--hidden", "16", "--blocks", "1", "--heads", "2", "--length", "8", "--batch", "2", "--steps", "1", "--threads", "1"}, 0, "tokens/s", ""},
		{[]string{"bench", "gemm", "--threads", "0"}, 1, "", "not a positive integer"},
		{[]string{"bench", "sample", "--model", "micro", "--batch", "1,2", "--steps", "1", "--threads", "1", "--device", "cpu"}, 0, "batch 2:", ""},
		{[]string{"bench", "sample", "--model", "huge"}, 1, "", "want owt-170m"},
		{[]string{"bench", "serve", "--clients", "2", "--batching", "on,off", "--time", "200ms", "--steps", "2", "--threads", "1", "--device", "cpu"}, 0, "off             2", ""},
		{[]string{"bench", "serve", "--batching", "maybe"}, 1, "", "--batching \"maybe\""},
		{[]string{"bench", "sample", "--model", "micro", "--write", written, "--batch", "1", "--steps", "1", "--threads", "1", "--device", "cpu"}, 0, "wrote " + written, ""},
		{[]string{"bench", "sample", "--checkpoint", written, "--batch", "1", "--steps", "1", "--threads", "1", "--device", "cpu"}, 0, "sample " + written, ""},
		{[]string{"bench", "sample", "--checkpoint", written, "--write", written + "2"}, 1, "", "--write saves a synthetic model"},
		{[]string{"bench", "train", "--profile", "--steps", "1", "--hidden", "16", "--blocks", "1", "--heads", "2", "--length", "8", "--batch", "2"}, 1, "", "needs --device vulkan"},
		{[]string{"bench", "gemm", "--cases", "NN:20:30:40,TN:7:5:3", "--threads", "1", "--time", "1ms", "--reps", "1"}, 0, "TN:7:5:3", ""},
		{[]string{"bench", "gemm", "--cases", "NX:2:2:2"}, 1, "", `unknown case "NX:2:2:2"`},
		{[]string{"bench", "gemm", "--reps", "0"}, 1, "", "--reps"},
		{[]string{"bench", "gemm", "--stat", "mean"}, 1, "", "want best or median"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		if got := run(c.args, &stdout, &stderr); got != c.status {
			t.Errorf("duo %v: status %d, want %d (stderr %q)", c.args, got, c.status, stderr.String())
		}
		if !strings.Contains(stdout.String(), c.out) || !strings.Contains(stderr.String(), c.errOut) {
			t.Errorf("duo %v: stdout %q, stderr %q; want %q / %q", c.args, stdout.String(), stderr.String(), c.out, c.errOut)
		}
	}
}

// duo train, then sample, eval and denoise on its checkpoint, and resume.
func TestTrainSampleEvalDenoise(t *testing.T) {
	dir := t.TempDir()
	corpus := dir + "/corpus.txt"
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 200)
	if err := os.WriteFile(corpus, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := dir + "/run"
	trainArgs := []string{"train", "--data", corpus, "--out", out, "--model", "micro", "--hidden", "32", "--blocks", "1",
		"--heads", "2", "--cond", "16", "--length", "16", "--batch", "4", "--steps", "4", "--eval-batches", "2"}
	steps := []struct {
		args []string
		out  string // substring of stdout
	}{
		{trainArgs, ""},
		{[]string{"sample", "--checkpoint", out, "--steps", "4", "--n", "2", "--sampler", "greedy"}, "=== sample 2"},
		{[]string{"sample", "--checkpoint", out, "--steps", "3", "--n", "1", "--json", "--top-p", "0.9"}, `"samples"`},
		{[]string{"eval", "--checkpoint", out, "--data", corpus, "--batch", "4", "--json", "--mc", "2"}, `"bpd"`},
		{[]string{"denoise", "--checkpoint", out, "--ids", "116,104,101", "--sigma", "0.5", "--json"}, `"logprobs"`},
		{append(append([]string{}, trainArgs...), "--steps", "6", "--resume"), ""},
	}
	for _, s := range steps {
		var stdout, stderr bytes.Buffer
		if code := run(s.args, &stdout, &stderr); code != 0 {
			t.Fatalf("duo %v: status %d\n%s", s.args, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), s.out) {
			t.Fatalf("duo %v: stdout %q lacks %q", s.args, stdout.String(), s.out)
		}
	}
	if _, err := os.Stat(out + "/loss.png"); err != nil {
		t.Error(err)
	}
	// Bad input is reported, not a panic.
	for _, args := range [][]string{
		{"sample", "--checkpoint", dir + "/missing"},
		{"denoise", "--checkpoint", out, "--ids", "1,x"},
		{"denoise", "--checkpoint", out, "--ids", "99999"},
		{"train", "--data", dir + "/missing.txt", "--out", dir + "/r2"},
		{"train", "--data", corpus, "--out", dir + "/r3", "--model", "huge"},
		{"eval", "--checkpoint", out},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 1 || stderr.Len() == 0 {
			t.Errorf("duo %v: status %d, stderr %q; want 1 and a message", args, code, stderr.String())
		}
	}
}

// The paper's pipeline from the command line: a Duo teacher, its DCD
// student (and a resumed extra round), the MDLM baseline, an AR judge, and
// Gen PPL of samples by sample --judge and by genppl on sample --json.
func TestDistillMDLMGenPPL(t *testing.T) {
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)
	small := []string{"--model", "micro", "--hidden", "16", "--blocks", "1", "--heads", "2", "--cond", "8", "--length", "16", "--batch", "4", "--threads", "1", "--device", "cpu", "--eval-batches", "1"}
	run1 := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Fatalf("duo %v: status %d\n%s", args, code, stderr.String())
		}
		return stdout.String() + stderr.String()
	}
	teacher, student, mdlm, judge := dir+"/teacher", dir+"/student", dir+"/mdlm", dir+"/judge"
	run1(append([]string{"train", "--data", corpus, "--out", teacher, "--steps", "6"}, small...)...)
	run1(append([]string{"train", "--data", corpus, "--out", mdlm, "--steps", "6", "--objective", "mdlm"}, small...)...)
	run1(append([]string{"train", "--data", corpus, "--out", judge, "--steps", "6", "--objective", "ar"}, small...)...)
	distill := []string{"distill", "--teacher", teacher, "--data", corpus, "--out", student, "--steps-per-round", "2", "--batch", "4", "--threads", "1", "--device", "cpu", "--eval-batches", "1"}
	if out := run1(append(distill, "--rounds", "2")...); !strings.Contains(out, "distilled model") {
		t.Errorf("distill printed %q", out)
	}
	run1("distill", "--out", student, "--data", corpus, "--resume", "--rounds", "3", "--device", "cpu")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"distill", "--out", student, "--data", corpus, "--resume", "--steps-per-round", "3", "--device", "cpu"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "--steps-per-round cannot change on --resume") {
		t.Errorf("changing --steps-per-round on resume: status %d, %q", code, stderr.String())
	}
	if ck, err := duo.OpenCheckpoint(student); err != nil || ck.Step != 6 || ck.Config.RoundSteps != 2 {
		t.Errorf("student after --rounds 3: %v, %v", ck, err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(append(distill[:len(distill):len(distill)], "--out", dir+"/s2", "--rounds", "12"), &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "doubles past 1") {
		t.Errorf("12 rounds from delta 1/512: status %d, %q", code, stderr.String())
	}
	for _, m := range []string{student, mdlm} {
		out := run1("sample", "--checkpoint", m, "--steps", "4", "--n", "2", "--judge", judge, "--device", "cpu", "--record")
		run1("sample", "--checkpoint", m, "--steps", "2", "--n", "2", "--judge", judge, "--device", "cpu", "--record", "--sampler", "greedy")
		if !strings.Contains(out, "Gen PPL") || !strings.Contains(out, "entropy") {
			t.Errorf("sample --judge on %s printed %q", m, out)
		}
		psi := run1("sample", "--checkpoint", m, "--steps", "8", "--n", "2", "--judge", judge, "--device", "cpu", "--record",
			"--sampler-mode", "psi", "--psi-profile", "linear-constant-linear-0.9-inv", "--psi-high-frac", "0.25", "--psi-middle-frac", "0.5",
			"--psi-high", "pure-posterior", "--psi-middle", "constant-remdm-0.01", "--psi-low", "pure-posterior")
		if !strings.Contains(psi, "psi linear-constant-linear-0.9-inv pure-posterior (0.25) / constant-remdm-0.01 (0.5) / pure-posterior, final ancestral") {
			t.Errorf("sample --sampler-mode psi on %s printed %q", m, psi)
		}
	}
	js := run1("sample", "--checkpoint", student, "--steps", "2", "--n", "3", "--json", "--device", "cpu")
	samples := dir + "/samples.json"
	os.WriteFile(samples, []byte(js[:strings.LastIndex(js, "}")+1]), 0o644)
	if out := run1("genppl", "--judge", judge, "--samples", samples, "--device", "cpu"); !strings.Contains(out, "Gen PPL") || !strings.Contains(out, "of 3 samples") {
		t.Errorf("genppl printed %q", out)
	}
	if out := run1("eval", "--checkpoint", mdlm, "--data", corpus, "--batch", "4", "--device", "cpu", "--record"); !strings.Contains(out, "NELBO bound") {
		t.Errorf("eval of MDLM printed %q", out)
	}
	// The report of the runs: every table, its plots, the command lines.
	report := dir + "/report"
	run1("report", "--out", report, teacher, mdlm, judge, student)
	md, err := os.ReadFile(report + "/report.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| teacher | duo |", "| mdlm | mdlm |", "(eval, ", "| student | ancestral |", "| mdlm | greedy |", "| student | ancestral, psi linear-constant-linear-0.9-inv", "Judge: `" + judge + "`", "duo distill --teacher"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	for _, png := range []string{"genppl.png", "entropy.png"} {
		if _, err := os.Stat(report + "/" + png); err != nil {
			t.Error(err)
		}
	}
	if rec, ok, err := readRecord(student); err != nil || !ok || len(rec.Samples) != 3 || len(rec.Commands) != 2 || rec.Objective != "dcd" {
		t.Errorf("student's run.json: %+v, %v, %v", rec.Samples, ok, err)
	}
}

// A model whose tokenizer is unknown (not GPT-2's vocabulary, no files)
// still denoises --ids and evaluates a .bin token file; sampling, which
// must show text, asks for --tokenizer. eval says which part it scored.
func TestNoTokenizerNeeded(t *testing.T) {
	dir := t.TempDir()
	m, err := nn.NewDiT(nn.Config{Vocab: 300, Length: 16, Hidden: 16, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 4}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	hf := dir + "/hf"
	if err := nn.SaveHF(hf, m); err != nil {
		t.Fatal(err)
	}
	ids := make([]int32, 4000)
	for i := range ids {
		ids[i] = int32(i * 7 % 300)
	}
	bin := dir + "/tokens.bin"
	if err := data.WriteBin(bin, ids, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"denoise", "--checkpoint", hf, "--ids", "1,299,5", "--device", "cpu"}, 0, "#299"},
		{[]string{"eval", "--checkpoint", hf, "--data", bin, "--batch", "4", "--device", "cpu"}, 0, "scoring all of"},
		{[]string{"eval", "--checkpoint", hf, "--data", bin, "--batch", "4", "--split", "val", "--device", "cpu"}, 0, "the validation split"},
		{[]string{"eval", "--checkpoint", hf, "--data", bin, "--split", "test"}, 1, "--split test"},
		{[]string{"sample", "--checkpoint", hf, "--device", "cpu"}, 1, "pass --tokenizer"},
		{[]string{"denoise", "--checkpoint", hf, "--text", "hi", "--device", "cpu"}, 1, "pass --tokenizer"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		if code != c.status || !strings.Contains(stdout.String()+stderr.String(), c.want) {
			t.Errorf("duo %v: status %d, output %q; want %d and %q", c.args, code, stdout.String()+stderr.String(), c.status, c.want)
		}
	}
}

// sample --prompt and --infill keep their text in every sample.
func TestSamplePromptInfill(t *testing.T) {
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)
	out := dir + "/run"
	runOK(t, tinyTrain(corpus, out, 3)...)
	var got struct {
		Samples []struct{ Text string } `json:"samples"`
	}
	js := runOK(t, "sample", "--checkpoint", out, "--steps", "3", "--n", "3", "--prompt", "It was", "--json", "--device", "cpu")
	if err := json.Unmarshal([]byte(js), &got); err != nil || len(got.Samples) != 3 {
		t.Fatalf("%v: %q", err, js)
	}
	for _, s := range got.Samples {
		if !strings.HasPrefix(s.Text, "It was") {
			t.Errorf("--prompt: sample %q", s.Text)
		}
	}
	js = runOK(t, "sample", "--checkpoint", out, "--steps", "3", "--n", "2", "--infill", "ab{}yz", "--json", "--device", "cpu")
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatal(err)
	}
	for _, s := range got.Samples {
		if !strings.HasPrefix(s.Text, "ab") || !strings.HasSuffix(s.Text, "yz") {
			t.Errorf("--infill: sample %q", s.Text)
		}
	}
	for _, c := range [][]string{{"--infill", "no braces"}, {"--prompt", "far too long a prompt"}, {"--prompt", "a", "--infill", "b{}c"}} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"sample", "--checkpoint", out, "--device", "cpu"}, c...), &stdout, &stderr); code != 1 {
			t.Errorf("sample %v: status %d, %q", c, code, stderr.String())
		}
	}
}

// train --init starts from a model's weights with a fresh optimiser: a run
// of one step at a negligible learning rate ends where the model was, in
// its shape (no shape flags needed), with an objective of its own.
func TestTrainInit(t *testing.T) {
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)
	base := dir + "/base"
	runOK(t, "train", "--data", corpus, "--out", base, "--model", "micro", "--hidden", "16", "--blocks", "1", "--heads", "2",
		"--cond", "8", "--length", "8", "--batch", "2", "--steps", "3", "--ema", "0", "--threads", "1", "--device", "cpu")
	tuned := dir + "/tuned"
	runOK(t, "train", "--data", corpus, "--out", tuned, "--init", base, "--objective", "udlm", "--batch", "2", "--steps", "1",
		"--lr", "1e-12", "--ema", "0", "--threads", "1", "--device", "cpu")
	a, _, err := duo.LoadModel(base)
	if err != nil {
		t.Fatal(err)
	}
	b, info, err := duo.LoadModel(tuned)
	if err != nil {
		t.Fatal(err)
	}
	if b.Config != a.Config || info.Objective != duo.ObjectiveUDLM {
		t.Fatalf("tuned model %+v (%s), want %+v (udlm)", b.Config, info.Objective, a.Config)
	}
	var changed int
	for i, p := range b.Params() {
		q := a.Params()[i].Value.Data()
		for j, v := range p.Value.Data() {
			if math.Abs(float64(v-q[j])) > 1e-6 {
				changed++
			}
		}
	}
	if changed > 0 {
		t.Errorf("%d weights moved more than 1e-6 from the --init model in one step at lr 1e-12", changed)
	}
}

// train --schedule cosine records the schedule in config.json and state.json
// and sampling and evaluation take it from there; --lr-decay cosine warms
// up, then decays the learning rate to --lr-min at the last step.
func TestTrainSchedules(t *testing.T) {
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)
	out := dir + "/cos"
	runOK(t, "train", "--data", corpus, "--out", out, "--model", "micro", "--hidden", "16", "--blocks", "1", "--heads", "2",
		"--cond", "8", "--length", "8", "--batch", "2", "--steps", "9", "--warmup", "3", "--schedule", "cosine",
		"--lr", "1e-3", "--lr-decay", "cosine", "--lr-min", "1e-4", "--threads", "1", "--device", "cpu")
	_, info, err := duo.LoadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := info.EvalObjective()
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := obj.(duo.Duo); info.Schedule != duo.ScheduleCosine || !ok || d.Schedule != (duo.Cosine{}) {
		t.Errorf("config.json schedule %q, evaluated by %#v; want cosine", info.Schedule, obj)
	}
	ck, err := duo.OpenCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Config duo.TrainConfig
		Log    []duo.Record
	}
	raw, err := os.ReadFile(filepath.Join(ck.Dir, "state.json"))
	if err == nil {
		err = json.Unmarshal(raw, &st)
	}
	if err != nil || len(st.Log) != 9 {
		t.Fatalf("state.json: %v (%d records)", err, len(st.Log))
	}
	want := []float64{0, 1e-3 / 3, 2e-3 / 3, 1e-3, 1e-4 + 9e-4*(1+math.Cos(math.Pi/6))/2, 1e-4 + 9e-4*(1+math.Cos(math.Pi/3))/2, 5.5e-4}
	for i, w := range want {
		if got := st.Log[i].LR; math.Abs(got-w) > 1e-12 {
			t.Errorf("step %d: lr %g, want %g", i+1, got, w)
		}
	}
	if got := st.Log[8].LR; math.Abs(got-(1e-4+9e-4*(1+math.Cos(5*math.Pi/6))/2)) > 1e-12 {
		t.Errorf("last step: lr %g", got)
	}
	if st.Config.Schedule != duo.ScheduleCosine || st.Config.LRDecay != duo.LRDecayCosine || st.Config.LRMin != 1e-4 {
		t.Errorf("state.json: schedule %q, lr_decay %q, lr_min %g", st.Config.Schedule, st.Config.LRDecay, st.Config.LRMin)
	}
	runOK(t, "sample", "--checkpoint", out, "--n", "1", "--steps", "4")
	runOK(t, "eval", "--checkpoint", out, "--data", corpus, "--batch", "2", "--batches", "1")
}

// sample --stop-at-eot ends each sample at its first drawn <|endoftext|>,
// not inside the prompt, and says how long each sample is; a tokenizer
// without one is an error. The model (GPT-2's vocabulary, so the embedded
// tokenizer) puts nearly all its mass on <|endoftext|>.
func TestStopAtEOT(t *testing.T) {
	dir := t.TempDir()
	m, err := nn.NewDiT(nn.Config{Vocab: 50257, Length: 12, Hidden: 8, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 2}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	m.Output.B.Value.Data()[50256] = 60
	if err := nn.SaveDiT(dir+"/eot", m, map[string]any{"objective": "duo"}, nil); err != nil {
		t.Fatal(err)
	}
	out := runOK(t, "sample", "--checkpoint", dir+"/eot", "--n", "2", "--steps", "2", "--prompt", "Hello world", "--stop-at-eot", "--json", "--device", "cpu")
	var res sampleFile
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	for i, s := range res.Samples {
		if s.Text != "Hello world" || s.Tokens != 2 || len(s.IDs) != 2 {
			t.Errorf("sample %d: %q, %d tokens %v; want the prompt alone", i, s.Text, s.Tokens, s.IDs)
		}
	}
	if out := runOK(t, "sample", "--checkpoint", dir+"/eot", "--n", "1", "--steps", "2", "--device", "cpu"); !strings.Contains(out, "(12 tokens, 2 steps") {
		t.Errorf("sample without --stop-at-eot printed %q", out)
	}
	byteModel := dir + "/bytes"
	if err := nn.SaveDiT(byteModel, randomByteDiT(t), map[string]any{"objective": "duo", "tokenizer": "bytes"}, nil); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"sample", "--checkpoint", byteModel, "--stop-at-eot", "--device", "cpu"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "has no end-of-text token") {
		t.Errorf("--stop-at-eot on a byte model: status %d, %q", code, stderr.String())
	}
}

func randomByteDiT(t *testing.T) *nn.DiT {
	m, err := nn.NewDiT(nn.Config{Vocab: 256, Length: 8, Hidden: 8, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 2}, tensor.NewRNG(2))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// duo score: the choices of one context, and the accuracy over a JSONL set
// (the committed Tiny Shakespeare example), for a diffusion and an AR model;
// the JSON's accuracy is the count of right answers over the tasks. And
// duo sample on the AR model.
func TestScoreCLI(t *testing.T) {
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)
	small := []string{"--model", "micro", "--hidden", "16", "--blocks", "1", "--heads", "2", "--cond", "8", "--length", "96",
		"--batch", "2", "--steps", "2", "--threads", "1", "--device", "cpu"}
	for _, obj := range []string{"duo", "ar"} {
		out := dir + "/" + obj
		runOK(t, append([]string{"train", "--data", corpus, "--out", out, "--objective", obj}, small...)...)
		text := runOK(t, "score", "--checkpoint", out, "--context", "It was the", "--choices", " best, worst", "--mc", "4", "--device", "cpu")
		exact := map[string]string{"duo": "(ELBO, 4 Monte Carlo draws)", "ar": "(exact)"}[obj]
		if !strings.Contains(text, `choice 2 " worst": log p = `) || !strings.Contains(text, exact) || !strings.Contains(text, "most likely: choice") {
			t.Errorf("score --choices on %s printed %q", obj, text)
		}
		if obj == "ar" { // AR sampling: left to right from a prompt, with the KV cache
			text := runOK(t, "sample", "--checkpoint", out, "--prompt", "It was", "--n", "2", "--length", "20", "--temperature", "0.5", "--device", "cpu")
			if strings.Count(text, "(20 tokens, AR, temperature 0.5") != 2 || !strings.Contains(text, "\nIt was") {
				t.Errorf("sample of an AR model printed %q", text)
			}
			var stdout, stderr bytes.Buffer
			if code := run([]string{"sample", "--checkpoint", out, "--device", "cpu"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "needs a prompt") {
				t.Errorf("AR sample without a prompt: status %d, %q", code, stderr.String())
			}
		}
		js := runOK(t, "score", "--checkpoint", out, "--tasks", "../../testdata/mc_shakespeare.jsonl", "--limit", "5", "--mc", "4", "--json", "--device", "cpu")
		var res struct {
			Tasks int
			Acc   float64
		}
		if err := json.Unmarshal([]byte(js), &res); err != nil || res.Tasks != 5 || math.Mod(res.Acc*5, 1) != 0 {
			t.Errorf("score --tasks --json on %s: %q (%v)", obj, js, err)
		}
	}
}
