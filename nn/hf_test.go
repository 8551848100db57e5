package nn

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/duo-go/duo/internal/safetensors"
	"github.com/duo-go/duo/tensor"
)

const hfDir = "../testdata/hf_tiny"

// hfGolden holds the inputs and logits of tools/golden/hf_golden.py.
type hfGolden struct {
	ids                           []int32
	sigma                         []float32
	logits, logitsEMA, logitsBF16 *tensor.Tensor
}

func readHFGolden(t *testing.T) hfGolden {
	t.Helper()
	f, err := safetensors.Open("../testdata/hf_tiny_golden.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	get := func(name string) *tensor.Tensor { return goldenF32(t, f, name) }
	g := hfGolden{ids: goldenIDs(t, f, "input.ids")}
	g.sigma = get("input.sigma").Data()
	g.logits, g.logitsEMA, g.logitsBF16 = get("out.logits"), get("out.logits_ema"), get("out.logits_bf16")
	return g
}

// logitsOf runs m on the golden inputs.
func logitsOf(t *testing.T, m *DiT, g hfGolden) *tensor.Tensor {
	t.Helper()
	out, err := m.Forward(nil, Input{Batch: len(g.sigma), IDs: g.ids, Sigma: g.sigma})
	if err != nil {
		t.Fatal(err)
	}
	return out.Value
}

// The Hugging Face layout written by PyTorch loads and gives PyTorch's
// logits.
func TestLoadHFMatchesPyTorch(t *testing.T) {
	g := readHFGolden(t)
	m, err := LoadDiT(hfDir)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Vocab: 67, Length: 16, Hidden: 32, Cond: 16, Blocks: 2, Heads: 4, MLPRatio: 4, Dropout: 0.1}
	if m.Config != want {
		t.Errorf("config %+v, want %+v", m.Config, want)
	}
	closeTo(t, "logits", logitsOf(t, m, g), g.logits)
}

// hfFiles returns the golden HF directory's tensors (copied) and config.
func hfFiles(t *testing.T) ([]safetensors.Tensor, map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(hfDir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(hfDir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return f.Tensors, cfg
}

// writeHF writes a checkpoint directory with the given tensors and config.
func writeHF(t *testing.T, ts []safetensors.Tensor, cfg map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	raw, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, ModelFile), ts, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// half converts a float32 tensor to F16 or BF16 (round to nearest even).
func half(t safetensors.Tensor, dtype safetensors.DType) safetensors.Tensor {
	v, _ := t.Float32s()
	b := make([]byte, 2*len(v))
	for i, x := range v {
		bits := math.Float32bits(x)
		var h uint16
		if dtype == safetensors.BF16 {
			h = uint16((bits + 0x7fff + (bits>>16)&1) >> 16)
		} else {
			h = f32ToF16(x)
		}
		binary.LittleEndian.PutUint16(b[2*i:], h)
	}
	return safetensors.Tensor{Name: t.Name, DType: dtype, Shape: t.Shape, Data: b}
}

// f32ToF16 rounds to IEEE binary16 (normal range only, enough for weights).
func f32ToF16(x float32) uint16 {
	bits := math.Float32bits(x)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23&0xff) - 127 + 15
	mant := bits & 0x7fffff
	if exp <= 0 {
		return sign // flush tiny values to zero
	}
	m := mant >> 13
	if rem := mant & 0x1fff; rem > 0x1000 || (rem == 0x1000 && m&1 == 1) {
		m++
	}
	return sign | uint16(exp)<<10 + uint16(m)
}

// F16 and BF16 weights load as their exact float32 values.
func TestLoadHFHalfPrecision(t *testing.T) {
	for _, dtype := range []safetensors.DType{safetensors.BF16, safetensors.F16} {
		t.Run(string(dtype), func(t *testing.T) {
			ts, cfg := hfFiles(t)
			halves := make([]safetensors.Tensor, len(ts))
			for i, x := range ts {
				halves[i] = half(x, dtype)
			}
			m, err := LoadDiT(writeHF(t, halves, cfg))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Params() {
				i := slices.IndexFunc(halves, func(x safetensors.Tensor) bool { return x.Name == BackbonePrefix+p.Name })
				want, _ := halves[i].Float32s()
				if !slices.Equal(p.Value.Data(), want) {
					t.Fatalf("%s differs from its %s values", p.Name, dtype)
				}
			}
		})
	}
}

// The raw DiT layout (our own checkpoints, no prefix) loads too, with or
// without the rotary buffer.
func TestLoadRawLayout(t *testing.T) {
	g := readHFGolden(t)
	ts, cfg := hfFiles(t)
	for _, keepInvFreq := range []bool{true, false} {
		var raw []safetensors.Tensor
		for _, x := range ts {
			x.Name = strings.TrimPrefix(x.Name, BackbonePrefix)
			if x.Name != InvFreqName || keepInvFreq {
				raw = append(raw, x)
			}
		}
		m, err := LoadDiT(writeHF(t, raw, cfg))
		if err != nil {
			t.Fatal(err)
		}
		closeTo(t, "logits", logitsOf(t, m, g), g.logits)
	}
}

// Every malformed directory fails with an error naming the file and the
// first offending tensor or field.
func TestLoadHFErrors(t *testing.T) {
	type edit func(ts []safetensors.Tensor, cfg map[string]any) []safetensors.Tensor
	find := func(ts []safetensors.Tensor, name string) int {
		return slices.IndexFunc(ts, func(x safetensors.Tensor) bool { return x.Name == name })
	}
	drop := func(name string) edit {
		return func(ts []safetensors.Tensor, _ map[string]any) []safetensors.Tensor {
			return slices.Delete(ts, find(ts, name), find(ts, name)+1)
		}
	}
	add := func(x safetensors.Tensor) edit {
		return func(ts []safetensors.Tensor, _ map[string]any) []safetensors.Tensor { return append(ts, x) }
	}
	setCfg := func(k string, v any) edit {
		return func(ts []safetensors.Tensor, cfg map[string]any) []safetensors.Tensor {
			if v == nil {
				delete(cfg, k)
			} else {
				cfg[k] = v
			}
			return ts
		}
	}
	replace := func(name string, x safetensors.Tensor) edit {
		return func(ts []safetensors.Tensor, _ map[string]any) []safetensors.Tensor {
			x.Name = name
			ts[find(ts, name)] = x
			return ts
		}
	}
	invFreq := func(base float64) []float32 {
		v := make([]float32, 4)
		for j := range v {
			v[j] = float32(math.Pow(base, -2*float64(j)/8))
		}
		return v
	}
	cases := []struct {
		name string
		edit edit
		want string
	}{
		{"missing tensor", drop("backbone.blocks.1.mlp.2.bias"), `missing tensor "backbone.blocks.1.mlp.2.bias"`},
		{"unexpected tensor", add(safetensors.NewF32("backbone.blocks.0.extra", []int{1}, []float32{0})), `unexpected tensor "backbone.blocks.0.extra"`},
		{"tensor outside the prefix", add(safetensors.NewF32("sampling_eps", []int{1}, []float32{0})), `unexpected tensor "sampling_eps"`},
		{"misshapen tensor", replace("backbone.blocks.0.attn_out.weight", safetensors.NewF32("", []int{16, 64}, make([]float32, 1024))),
			`"backbone.blocks.0.attn_out.weight" has shape [16 64], want [32 32]`},
		{"integer weights", replace("backbone.output_layer.linear.bias", safetensors.NewI64("", []int{67}, make([]int64, 67))), "not a float type"},
		{"rotary base", replace("backbone.rotary_emb.inv_freq", safetensors.NewF32("", []int{4}, invFreq(500000))), "rotary_emb.inv_freq\"[1]"},
		{"rotary shape", replace("backbone.rotary_emb.inv_freq", safetensors.NewF32("", []int{8}, make([]float32, 8))), "want [4]"},
		{"config vocab disagrees", setCfg("vocab_size", 68), `"backbone.vocab_embed.embedding" has shape [67 32], want [68 32]`},
		{"config bigger than the weights", setCfg("n_blocks", 4000), "describes"},
		{"heads disagree with the rotary buffer", setCfg("n_heads", 2), "rotary_emb.inv_freq"},
		{"missing n_heads", setCfg("n_heads", nil), "missing n_heads"},
		{"missing vocab_size", setCfg("vocab_size", nil), "missing vocab_size"},
		{"fractional hidden_dim", setCfg("hidden_dim", 32.5), "hidden_dim"},
		{"string n_blocks", setCfg("n_blocks", "2"), "n_blocks"},
		{"heads do not divide", setCfg("n_heads", 5), "not a positive multiple"},
		{"huge vocab", setCfg("vocab_size", 1e9), "implausibly large"},
		{"huge length", setCfg("model_length", 1e8), "implausibly large"},
		{"negative dropout", setCfg("dropout", -0.5), "dropout"},
		{"mlp ratio", setCfg("mlp_ratio", 2), `"backbone.blocks.0.mlp.0.weight" has shape [128 32], want [64 32]`},
		{"rope theta", setCfg("rope_theta", 500000), "rope_theta"},
		{"no time conditioning", setCfg("time_conditioning", false), "time_conditioning"},
		{"class conditional", setCfg("cfg", true), "cfg true"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts, cfg := hfFiles(t)
			dir := writeHF(t, c.edit(slices.Clone(ts), cfg), cfg)
			_, err := LoadDiT(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %v; want one naming %s and containing %q", err, dir, c.want)
			}
		})
	}
	// Files that are not there or not JSON / safetensors.
	dir := t.TempDir()
	if _, err := LoadDiT(dir); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("empty dir: %v", err)
	}
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte("{not json"), 0o644)
	if _, err := LoadDiT(dir); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("bad json: %v", err)
	}
	raw, _ := os.ReadFile(filepath.Join(hfDir, ConfigFile))
	os.WriteFile(filepath.Join(dir, ConfigFile), raw, 0o644)
	os.WriteFile(filepath.Join(dir, ModelFile), []byte("not safetensors"), 0o644)
	if _, err := LoadDiT(dir); err == nil || !strings.Contains(err.Error(), "model.safetensors") {
		t.Errorf("bad safetensors: %v", err)
	}
}

// Params follows PyTorch's registration order, which the golden script
// printed from named_parameters().
func TestParamsOrder(t *testing.T) {
	m, err := NewDiT(Config{Vocab: 5, Length: 4, Hidden: 4, Cond: 2, Blocks: 1, Heads: 2, MLPRatio: 4}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	want := []string{"vocab_embed.embedding", "sigma_map.mlp.0.weight", "sigma_map.mlp.0.bias", "sigma_map.mlp.2.weight",
		"sigma_map.mlp.2.bias", "blocks.0.norm1.weight", "blocks.0.attn_qkv.weight", "blocks.0.attn_out.weight",
		"blocks.0.norm2.weight", "blocks.0.mlp.0.weight", "blocks.0.mlp.0.bias", "blocks.0.mlp.2.weight", "blocks.0.mlp.2.bias",
		"blocks.0.adaLN_modulation.weight", "blocks.0.adaLN_modulation.bias", "output_layer.norm_final.weight",
		"output_layer.linear.weight", "output_layer.linear.bias", "output_layer.adaLN_modulation.weight",
		"output_layer.adaLN_modulation.bias"}
	if !slices.Equal(names, want) {
		t.Errorf("order\n%v\nwant\n%v", names, want)
	}
}

// Exporting the loaded golden model reproduces the PyTorch-written files:
// the same tensors bit for bit, and a config.json with the same fields.
func TestExportHF(t *testing.T) {
	m, err := LoadDiT(hfDir)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := SaveHF(out, m); err != nil {
		t.Fatal(err)
	}
	want, wantCfg := hfFiles(t)
	f, err := safetensors.Open(filepath.Join(out, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Metadata["format"] != "pt" || len(f.Tensors) != len(want) {
		t.Errorf("metadata %v, %d tensors (want %d)", f.Metadata, len(f.Tensors), len(want))
	}
	for _, w := range want {
		g, ok := f.Get(w.Name)
		if !ok {
			t.Errorf("export lacks %s", w.Name)
			continue
		}
		if g.DType != safetensors.F32 || !slices.Equal(g.Shape, w.Shape) {
			t.Errorf("%s: %s %v, want F32 %v", w.Name, g.DType, g.Shape, w.Shape)
			continue
		}
		a, _ := g.Float32s()
		b, _ := w.Float32s()
		for i := range a {
			if a[i] != b[i] && !(w.Name == BackbonePrefix+InvFreqName && math.Abs(float64(a[i]-b[i])) <= 2e-7*math.Abs(float64(b[i]))) {
				t.Errorf("%s[%d] = %g, want %g", w.Name, i, a[i], b[i])
				break
			}
		}
	}
	raw, _ := os.ReadFile(filepath.Join(out, ConfigFile))
	var got map[string]any
	json.Unmarshal(raw, &got)
	for _, k := range []string{"model_type", "vocab_size", "model_length", "hidden_dim", "cond_dim", "n_blocks", "n_heads", "dropout", "causal"} {
		if got[k] != wantCfg[k] {
			t.Errorf("config %s = %v, want %v", k, got[k], wantCfg[k])
		}
	}
	if _, ok := got["mlp_ratio"]; ok {
		t.Error("config.json has mlp_ratio, which DUOConfig does not define")
	}
	m2, err := LoadDiT(out)
	if err != nil {
		t.Fatal(err)
	}
	g := readHFGolden(t)
	closeTo(t, "logits after export", logitsOf(t, m2, g), g.logits)

	m.MLPRatio = 2
	if err := SaveHF(t.TempDir(), m); err == nil || !strings.Contains(err.Error(), "mlp_ratio") {
		t.Errorf("mlp_ratio 2: %v", err)
	}
}
