package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tokenizer"
)

// The authors' released formats: convert (Lightning .ckpt or a Hugging Face
// directory to our checkpoint directory), export (ours to the Hugging Face
// layout) and tokenize.

func init() {
	commands["convert"] = command{"import the authors' Lightning .ckpt (or a Hugging Face directory) as a checkpoint directory", runConvert}
	commands["export"] = command{"write a checkpoint in the Hugging Face layout the authors' code loads", runExport}
	commands["tokenize"] = command{"print the token ids of standard input (--decode: the text of ids)", runTokenize}
}

// tokenizerFiles are the tokenizer files a checkpoint directory may hold.
var tokenizerFiles = []string{"encoder.json", "vocab.bpe", "vocab.json", "merges.txt", "tokenizer.json"}

func runConvert(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("convert", "convert --ckpt FILE.ckpt|HF_DIR --out DIR [--tokenizer DIR] [flags]", stderr)
	src := fs.String("ckpt", "", "the authors' Lightning checkpoint (.ckpt, a torch.save zip), or a Hugging Face model directory")
	out := fs.String("out", "", "checkpoint directory to write (config.json, model.safetensors)")
	tok := fs.String("tokenizer", "", "GPT-2 tokenizer directory (or tokenizer.json) to copy into --out (default: none, or the HF directory's own)")
	ema := fs.Bool("ema", true, "take the EMA weights (as the authors sample and evaluate); when not given explicitly, fall back to the raw weights if the checkpoint has none; --ema=false takes the raw weights")
	length := fs.Int("length", 0, "model_length, when the checkpoint's hyper-parameters do not say (must agree if they do)")
	heads := fs.Int("heads", 0, "n_heads, when the checkpoint has neither rotary_emb.inv_freq nor hyper-parameters (must agree)")
	dropout := fs.Float64("dropout", -1, "dropout to record (default: the hyper-parameters', else 0.1)")
	objective := fs.String("objective", "", "duo, udlm or ar (default: from the checkpoint's algo.name; ar for a causal model)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *src == "" || *out == "" {
		return errors.New("--ckpt and --out are required")
	}
	emaSet := false
	fs.Visit(func(f *flag.Flag) { emaSet = emaSet || f.Name == "ema" })

	var m *nn.DiT
	info := map[string]any{"model_type": "duo"}
	meta := map[string]string{"source": filepath.Base(*src)}
	obj := *objective
	tokSrc := *tok
	if fi, err := os.Stat(*src); err == nil && fi.IsDir() {
		if abs(*src) == abs(*out) {
			return errors.New("--out must differ from --ckpt")
		}
		var mi duo.ModelInfo
		if m, mi, err = duo.LoadModel(*src); err != nil {
			return err
		}
		if obj == "" {
			obj = mi.Objective
		}
		if tokSrc == "" && tokenizer.HasBPEFiles(*src) {
			tokSrc = *src
		}
		fmt.Fprintf(stdout, "read %s (%d parameters)\n", *src, m.NumParams())
	} else {
		opt := nn.LightningOptions{EMA: nn.EMAAuto, Length: *length, Heads: *heads, Dropout: *dropout}
		switch {
		case !*ema:
			opt.EMA = nn.EMAOff
		case emaSet:
			opt.EMA = nn.EMARequire
		}
		var li nn.LightningInfo
		if m, li, err = nn.LoadLightning(*src, opt); err != nil {
			return err
		}
		weights := "raw (state_dict)"
		meta["weights"] = "raw"
		if li.EMA {
			weights = fmt.Sprintf("EMA (ema.shadow_params, %d updates)", li.EMAUpdates)
			meta["weights"] = "ema"
		} else if li.HasEMA {
			weights += "; the checkpoint also has EMA weights (--ema takes them)"
		} else {
			weights += "; the checkpoint has no EMA weights"
		}
		fmt.Fprintf(stdout, "read %s: %d parameters, %s weights\n", *src, m.NumParams(), weights)
		fmt.Fprintf(stdout, "config: %s\n", strings.Join(li.Sources, "; "))
		if len(li.Ignored) > 0 {
			fmt.Fprintf(stdout, "ignored %d state_dict entries outside the backbone: %s\n", len(li.Ignored), strings.Join(li.Ignored, ", "))
		}
		if obj == "" {
			if obj, err = objectiveOf(li.Algo); err != nil {
				return err
			}
		}
	}
	if m.Causal && *objective == "" {
		obj = duo.ObjectiveAR
	}
	o, err := duo.ObjectiveNamed(obj)
	switch {
	case err != nil:
		return fmt.Errorf("--objective: %w", err)
	case m.Causal && !o.Causal():
		return fmt.Errorf("--objective %s: the model is causal (AR)", obj)
	case !m.Causal && o.Causal():
		return fmt.Errorf("--objective %s: the model is not causal (a diffusion denoiser); want duo or udlm", obj)
	}
	info["objective"] = o.Name()
	if tokSrc != "" {
		t, err := tokenizer.Load(tokSrc)
		if err != nil {
			return err
		}
		if t.VocabSize() > m.Vocab {
			return fmt.Errorf("tokenizer %s has %d ids but the model only %d", tokSrc, t.VocabSize(), m.Vocab)
		}
		info["tokenizer"] = "bpe"
		if tokSrc == tokenizer.BytesSpec {
			info["tokenizer"] = "bytes"
		}
	}
	if err := nn.SaveDiT(*out, m, info, meta); err != nil {
		return err
	}
	if info["tokenizer"] == "bpe" {
		if err := copyTokenizer(tokSrc, *out); err != nil {
			return err
		}
	}
	c := m.Config
	fmt.Fprintf(stdout, "wrote %s: K=%d, L=%d, D=%d, C=%d, %d blocks, %d heads, MLP ratio %d, dropout %g, causal %v, objective %s\n",
		*out, c.Vocab, c.Length, c.Hidden, c.Cond, c.Blocks, c.Heads, c.MLPRatio, c.Dropout, c.Causal, obj)
	if tokSrc == "" {
		fmt.Fprintln(stdout, "no tokenizer copied: pass --tokenizer DIR here or to sample/eval/denoise")
	}
	return nil
}

// objectiveOf maps the authors' algo.name to an objective.
func objectiveOf(algo string) (string, error) {
	a := strings.ToLower(algo)
	switch {
	case a == "" || strings.Contains(a, "duo") || strings.Contains(a, "distil"):
		return duo.ObjectiveDuo, nil
	case a == "udlm":
		return duo.ObjectiveUDLM, nil
	case a == "ar":
		return duo.ObjectiveAR, nil
	case a == "mdlm":
		return duo.ObjectiveMDLM, nil
	case a == "sedd" || a == "d3pm":
		return "", fmt.Errorf("algo %q: an absorbing-state model whose loss and sampler are not implemented here (MDLM is)", algo)
	}
	return "", fmt.Errorf("algo %q: unknown; pass --objective duo|udlm|mdlm|ar", algo)
}

func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "export --checkpoint DIR --out DIR [--format hf|duo]", stderr)
	dir := fs.String("checkpoint", "", "checkpoint directory (ours or Hugging Face)")
	out := fs.String("out", "", "directory to write")
	format := fs.String("format", "hf", `"hf": the authors' Hugging Face layout (config.json with model_type duo, model.safetensors with "backbone." keys, F32); "duo": ours`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *out == "" {
		return errors.New("--checkpoint and --out are required")
	}
	if abs(*dir) == abs(*out) {
		return errors.New("--out must differ from --checkpoint")
	}
	m, info, err := duo.LoadModel(*dir)
	if err != nil {
		return err
	}
	switch *format {
	case "hf":
		err = nn.SaveHF(*out, m)
	case "duo":
		extra := map[string]any{"model_type": "duo", "objective": info.Objective}
		if info.Tokenizer != "" {
			extra["tokenizer"] = info.Tokenizer
		}
		err = nn.SaveDiT(*out, m, extra, nil)
	default:
		return fmt.Errorf("--format %q: want hf or duo", *format)
	}
	if err != nil {
		return err
	}
	var copied []string
	for _, name := range tokenizerFiles {
		b, err := os.ReadFile(filepath.Join(*dir, name))
		if err != nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(*out, name), b, 0o644); err != nil {
			return err
		}
		copied = append(copied, name)
	}
	fmt.Fprintf(stdout, "wrote %s (%s layout, %d parameters)", *out, *format, m.NumParams())
	if len(copied) > 0 {
		fmt.Fprintf(stdout, " and the tokenizer files %s", strings.Join(copied, ", "))
	}
	fmt.Fprintln(stdout)
	return nil
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// stdin is what tokenize reads (a variable for tests).
var stdin io.Reader = os.Stdin

func runTokenize(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tokenize", "tokenize [--tokenizer DIR|bytes] [--json] [--decode] < input", stderr)
	spec := fs.String("tokenizer", tokenizer.BytesSpec, `"bytes", a GPT-2 BPE directory (encoder.json+vocab.bpe, vocab.json+merges.txt or tokenizer.json), or a tokenizer.json`)
	asJSON := fs.Bool("json", false, `print {"ids": [...], "count": N} (with --decode: {"text": ...})`)
	decode := fs.Bool("decode", false, "read token ids (separated by spaces, commas or newlines; or a JSON array or {\"ids\": [...]}) and print their text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: tokenize reads standard input", fs.Arg(0))
	}
	t, err := tokenizer.Load(*spec)
	if err != nil {
		return err
	}
	in, err := io.ReadAll(bufio.NewReader(stdin))
	if err != nil {
		return err
	}
	if *decode {
		ids, err := parseIDs(in)
		if err != nil {
			return err
		}
		text := t.Decode(ids)
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"text": text})
		}
		_, err = io.WriteString(stdout, text)
		return err
	}
	ids := t.Encode(string(in))
	if ids == nil {
		ids = []int32{}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"ids": ids, "count": len(ids)})
	}
	w := bufio.NewWriter(stdout)
	for i, id := range ids {
		if i > 0 {
			w.WriteByte(' ')
		}
		w.WriteString(strconv.Itoa(int(id)))
	}
	w.WriteByte('\n')
	return w.Flush()
}

// parseIDs reads token ids: a JSON array, a JSON object with "ids", or
// integers separated by spaces, commas or newlines.
func parseIDs(in []byte) ([]int32, error) {
	trimmed := bytes.TrimSpace(in)
	if len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{') {
		var ids []int64
		if trimmed[0] == '{' {
			var obj struct {
				IDs []int64 `json:"ids"`
			}
			if err := json.Unmarshal(trimmed, &obj); err != nil {
				return nil, fmt.Errorf("ids: %w", err)
			}
			ids = obj.IDs
		} else if err := json.Unmarshal(trimmed, &ids); err != nil {
			return nil, fmt.Errorf("ids: %w", err)
		}
		out := make([]int32, len(ids))
		for i, v := range ids {
			if v < 0 || v > math.MaxInt32 {
				return nil, fmt.Errorf("ids: %d is not a token id", v)
			}
			out[i] = int32(v)
		}
		return out, nil
	}
	var out []int32
	for _, f := range strings.FieldsFunc(string(trimmed), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("ids: %q is not a token id", f)
		}
		out = append(out, int32(v))
	}
	return out, nil
}
