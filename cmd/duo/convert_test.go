package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/internal/safetensors"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

const (
	testdata = "../../testdata/"
	gpt2Dir  = "../../../shared/data/gpt2"
)

// runOK runs the CLI and fails the test unless it exits 0.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("duo %v: status %d\n%s", args, code, stderr.String())
	}
	return stdout.String()
}

// runFail runs the CLI and returns its error output, failing the test
// unless it exits 1.
func runFail(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 1 {
		t.Fatalf("duo %v: status %d, want 1 (stdout %q)", args, code, stdout.String())
	}
	return stderr.String()
}

// goldenLogits returns the inputs and one output of hf_tiny_golden.safetensors.
func goldenLogits(t *testing.T, name string) ([]int32, []float32, []float32) {
	t.Helper()
	f, err := safetensors.Open(testdata + "hf_tiny_golden.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	idsT, _ := f.Get("input.ids")
	ids64, _ := idsT.Int64s()
	ids := make([]int32, len(ids64))
	for i, v := range ids64 {
		ids[i] = int32(v)
	}
	sT, _ := f.Get("input.sigma")
	sigma, _ := sT.Float32s()
	lT, _ := f.Get(name)
	logits, _ := lT.Float32s()
	return ids, sigma, logits
}

// checkLogits loads a checkpoint directory and compares its logits on the
// golden inputs with PyTorch's, to 1e-4 relative to the logits' scale.
func checkLogits(t *testing.T, dir, golden string) {
	t.Helper()
	m, _, err := duo.LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids, sigma, want := goldenLogits(t, golden)
	out, err := m.Forward(nil, nn.Input{Batch: len(sigma), IDs: ids, Sigma: sigma})
	if err != nil {
		t.Fatal(err)
	}
	var rms float64
	for _, w := range want {
		rms += float64(w) * float64(w)
	}
	rms = math.Sqrt(rms / float64(len(want)))
	for i, g := range out.Value.Data() {
		if e := math.Abs(float64(g-want[i])) / (math.Abs(float64(want[i])) + rms); e > 1e-4 {
			t.Fatalf("%s: logit %d = %g, want %g (relative error %.2g)", golden, i, g, want[i], e)
		}
	}
}

func TestConvertLightning(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args   []string
		golden string
		out    string // substring of stdout
	}{
		{[]string{"--ckpt", testdata + "lightning_tiny.ckpt"}, "out.logits_ema", "EMA (ema.shadow_params, 3 updates)"},
		{[]string{"--ckpt", testdata + "lightning_tiny.ckpt", "--ema"}, "out.logits_ema", "ignored 1 state_dict entries outside the backbone: noise.dummy_buffer"},
		{[]string{"--ckpt", testdata + "lightning_tiny.ckpt", "--ema=false"}, "out.logits", "also has EMA weights"},
		{[]string{"--ckpt", testdata + "lightning_tiny_bf16.ckpt", "--length", "16"}, "out.logits_bf16", "has no EMA weights"},
		{[]string{"--ckpt", testdata + "hf_tiny"}, "out.logits", "read ../../testdata/hf_tiny"},
	}
	for i, c := range cases {
		out := filepath.Join(dir, string(rune('a'+i)))
		stdout := runOK(t, append([]string{"convert", "--out", out}, c.args...)...)
		if !strings.Contains(stdout, c.out) {
			t.Errorf("convert %v: stdout %q lacks %q", c.args, stdout, c.out)
		}
		checkLogits(t, out, c.golden)
		raw, _ := os.ReadFile(filepath.Join(out, nn.ConfigFile))
		var cfg map[string]any
		json.Unmarshal(raw, &cfg)
		if cfg["model_type"] != "duo" || cfg["objective"] != "duo" || cfg["n_heads"] != 4.0 || cfg["model_length"] != 16.0 {
			t.Errorf("convert %v: config.json %s", c.args, raw)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ckpt", testdata + "lightning_tiny_bf16.ckpt", "--length", "16", "--ema"}, "no EMA weights"},
		{[]string{"--ckpt", testdata + "lightning_tiny_bf16.ckpt"}, "--length"},
		{[]string{"--ckpt", testdata + "lightning_bad.ckpt", "--length", "16"}, "non-contiguous"},
		{[]string{"--ckpt", testdata + "lightning_tiny.ckpt", "--objective", "sedd"}, "want duo, udlm, mdlm, ar or dcd"},
		{[]string{"--ckpt", testdata + "lightning_tiny.ckpt", "--tokenizer", "bytes"}, "256 ids but the model only 67"},
		{[]string{"--ckpt", testdata + "nosuch.ckpt"}, "nosuch.ckpt"},
		{[]string{}, "--ckpt and --out are required"},
	} {
		stderr := runFail(t, append([]string{"convert", "--out", filepath.Join(dir, "bad")}, c.args...)...)
		if !strings.Contains(stderr, c.want) {
			t.Errorf("convert %v: stderr %q lacks %q", c.args, stderr, c.want)
		}
	}
}

// convert then export --format hf reproduces the PyTorch-written Hugging
// Face files.
func TestExportMatchesPyTorch(t *testing.T) {
	dir := t.TempDir()
	ours, hf := filepath.Join(dir, "ours"), filepath.Join(dir, "hf")
	runOK(t, "convert", "--ckpt", testdata+"lightning_tiny.ckpt", "--ema=false", "--out", ours)
	if out := runOK(t, "export", "--checkpoint", ours, "--out", hf, "--format", "hf"); !strings.Contains(out, "hf layout") {
		t.Errorf("export output %q", out)
	}
	a, err := safetensors.Open(filepath.Join(hf, nn.ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := safetensors.Open(testdata + "hf_tiny/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	an, bn := a.Names(), b.Names()
	slices.Sort(an)
	slices.Sort(bn)
	if !slices.Equal(an, bn) {
		t.Fatalf("tensors %v\nwant %v", an, bn)
	}
	for i := range a.Tensors {
		x := &a.Tensors[i]
		y, _ := b.Get(x.Name)
		if x.Name == nn.BackbonePrefix+nn.InvFreqName {
			continue // recomputed (checked to 2e-7 in package nn)
		}
		if x.DType != safetensors.F32 || !slices.Equal(x.Shape, y.Shape) || !bytes.Equal(x.Data, y.Data) {
			t.Errorf("%s differs from PyTorch's", x.Name)
		}
	}
	checkLogits(t, hf, "out.logits")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--checkpoint", ours, "--out", ours}, "must differ"},
		{[]string{"--checkpoint", ours, "--out", filepath.Join(dir, "x"), "--format", "gguf"}, "want hf or duo"},
		{[]string{"--checkpoint", filepath.Join(dir, "none"), "--out", filepath.Join(dir, "y")}, "config.json"},
	} {
		if stderr := runFail(t, append([]string{"export"}, c.args...)...); !strings.Contains(stderr, c.want) {
			t.Errorf("export %v: stderr %q lacks %q", c.args, stderr, c.want)
		}
	}
}

func haveGPT2(t *testing.T) {
	for _, f := range []string{"encoder.json", "vocab.bpe"} {
		if _, err := os.Stat(filepath.Join(gpt2Dir, f)); err != nil {
			t.Skipf("GPT-2 tokenizer files not available: %v", err)
		}
	}
}

func TestTokenize(t *testing.T) {
	haveGPT2(t)
	cases := []struct {
		args  []string
		input string
		out   string
	}{
		{[]string{"--tokenizer", "bytes"}, "hi!", "104 105 33\n"},
		{[]string{"--tokenizer", gpt2Dir}, "Hello world", "15496 995\n"},
		{[]string{"--tokenizer", gpt2Dir}, "", "\n"},
		{[]string{"--tokenizer", gpt2Dir, "--json"}, "Hello world<|endoftext|>", `{"count":3,"ids":[15496,995,50256]}` + "\n"},
		{[]string{"--tokenizer", gpt2Dir, "--decode"}, "15496 995\n", "Hello world"},
		{[]string{"--tokenizer", gpt2Dir, "--decode"}, "15496,995", "Hello world"},
		{[]string{"--tokenizer", gpt2Dir, "--decode"}, `{"count":2,"ids":[15496,995]}`, "Hello world"},
		{[]string{"--tokenizer", gpt2Dir, "--decode", "--json"}, "[15496, 995, 50257]", `{"text":"Hello world` + "\uFFFD" + `"}` + "\n"},
	}
	for _, c := range cases {
		stdin = strings.NewReader(c.input)
		if got := runOK(t, append([]string{"tokenize"}, c.args...)...); got != c.out {
			t.Errorf("tokenize %v <<%q: got %q, want %q", c.args, c.input, got, c.out)
		}
	}
	for _, c := range []struct {
		args  []string
		input string
		want  string
	}{
		{[]string{"--decode"}, "1 x", `"x" is not a token id`},
		{[]string{"--decode"}, "-3", "not a token id"},
		{[]string{"--decode"}, "[1, 2", "ids:"},
		{[]string{"--tokenizer", "/nonexistent"}, "", "nonexistent"},
		{[]string{"extra"}, "", "unexpected argument"},
	} {
		stdin = strings.NewReader(c.input)
		if stderr := runFail(t, append([]string{"tokenize"}, c.args...)...); !strings.Contains(stderr, c.want) {
			t.Errorf("tokenize %v: stderr %q lacks %q", c.args, stderr, c.want)
		}
	}
	stdin = os.Stdin
}

// An imported model with the GPT-2 vocabulary plus the unused extra id
// (K = 50258) samples, evaluates and denoises like one of ours; the
// tokenizer is found in its directory, or is GPT-2's embedded one.
func TestImportedGPT2Model(t *testing.T) {
	haveGPT2(t)
	dir := t.TempDir()
	hf := filepath.Join(dir, "hf")
	m, err := nn.NewDiT(nn.Config{Vocab: 50258, Length: 32, Hidden: 8, Cond: 4, Blocks: 1, Heads: 2, MLPRatio: 4, Dropout: 0.1}, tensor.NewRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(4)
	for _, p := range m.Params() {
		rng.Uniform(p.Value, -0.5, 0.5) // no zero-initialised layers: a non-uniform model
	}
	if err := nn.SaveHF(hf, m); err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40)), 0o644)

	// Without tokenizer files, GPT-2's vocabulary means GPT-2's embedded
	// BPE: the same text as with the files given.
	noFiles := runOK(t, "sample", "--checkpoint", hf, "--steps", "2", "--n", "1", "--length", "8", "--device", "cpu")
	withFiles := runOK(t, "sample", "--checkpoint", hf, "--tokenizer", gpt2Dir, "--steps", "2", "--n", "1", "--length", "8", "--device", "cpu")
	if noFiles != withFiles {
		t.Errorf("embedded tokenizer: %q, files: %q", noFiles, withFiles)
	}
	if out := runOK(t, "sample", "--checkpoint", hf, "--tokenizer", gpt2Dir, "--steps", "2", "--n", "1", "--length", "8", "--device", "cpu"); !strings.Contains(out, "=== sample 1") {
		t.Errorf("sample with --tokenizer: %q", out)
	}
	for _, f := range []string{"encoder.json", "vocab.bpe"} {
		b, err := os.ReadFile(filepath.Join(gpt2Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(hf, f), b, 0o644)
	}
	_, info, err := duo.LoadModel(hf)
	if err != nil || info.Tokenizer != "bpe" || info.Objective != duo.ObjectiveDuo {
		t.Fatalf("LoadModel: %+v, %v", info, err)
	}
	steps := []struct {
		args []string
		out  string
	}{
		{[]string{"sample", "--checkpoint", hf, "--steps", "8", "--sampler", "greedy", "--n", "2", "--length", "16", "--json"}, `"samples"`},
		{[]string{"eval", "--checkpoint", hf, "--data", corpus, "--batch", "2", "--batches", "1", "--json"}, `"bpd"`},
		{[]string{"denoise", "--checkpoint", hf, "--text", "Hello world", "--sigma", "0.5", "--json"}, `"argmax"`},
		{[]string{"denoise", "--checkpoint", hf, "--ids", "15496,50257", "--sigma", "0.5"}, "\uFFFD"},
		{[]string{"convert", "--ckpt", hf, "--out", filepath.Join(dir, "ours")}, "wrote"},
		{[]string{"sample", "--checkpoint", filepath.Join(dir, "ours"), "--steps", "8", "--sampler", "greedy", "--n", "1", "--length", "16"}, "=== sample 1"},
	}
	for _, s := range steps {
		args := s.args
		if args[0] != "convert" {
			args = append(args, "--device", "cpu")
		}
		if out := runOK(t, args...); !strings.Contains(out, s.out) {
			t.Errorf("duo %v: stdout %q lacks %q", s.args, out, s.out)
		}
	}
	// The sampler's ids are valid model ids and decode.
	out := runOK(t, "sample", "--checkpoint", hf, "--steps", "8", "--sampler", "greedy", "--n", "1", "--length", "16", "--json", "--device", "cpu")
	var res struct {
		Samples []struct {
			IDs []int32 `json:"ids"`
		} `json:"samples"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Samples) != 1 || len(res.Samples[0].IDs) != 16 {
		t.Fatalf("sample --json: %v %q", err, out)
	}
	for _, id := range res.Samples[0].IDs {
		if id < 0 || id >= 50258 {
			t.Errorf("sampled id %d outside [0, 50258)", id)
		}
	}
	// A masked-diffusion config is refused, naming the file.
	raw, _ := os.ReadFile(filepath.Join(hf, nn.ConfigFile))
	os.WriteFile(filepath.Join(hf, nn.ConfigFile), bytes.Replace(raw, []byte(`"duo"`), []byte(`"mdlm"`), 1), 0o644)
	if stderr := runFail(t, "sample", "--checkpoint", hf, "--device", "cpu"); !strings.Contains(stderr, `model_type "mdlm"`) || !strings.Contains(stderr, "config.json") {
		t.Errorf("mdlm: %q", stderr)
	}
}
