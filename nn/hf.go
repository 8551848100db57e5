package nn

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/duo-go/duo/internal/atomicfile"
	"github.com/duo-go/duo/internal/safetensors"
)

// The authors' releases use two layouts of the same state dict: the raw DiT
// (keys as in dit.md section 2, as our checkpoints) and the Hugging Face one,
// where a wrapper module holds the DiT as `backbone` so every key starts
// with BackbonePrefix. Both may carry the rotary buffer InvFreqName.
const (
	BackbonePrefix = "backbone."
	InvFreqName    = "rotary_emb.inv_freq"
	rotaryBase     = 10000
)

// Bounds that reject a nonsensical config.json before anything is
// allocated from it.
const (
	maxDim      = 1 << 24 // vocab_size, hidden_dim, cond_dim
	maxLength   = 1 << 20 // model_length (the rotary table is L x d)
	maxBlocks   = 1 << 12
	maxMLPRatio = 64
)

// ParseConfig decodes and validates a config.json, ours or the authors'
// Hugging Face one. vocab_size, model_length, hidden_dim, n_blocks and
// n_heads are required (and cond_dim unless causal); causal defaults to
// false, mlp_ratio to 4 and dropout to 0.1 (the defaults of the authors'
// DUOConfig). Other fields are ignored, except those that would change the
// network in ways this implementation does not support: rope_theta must be
// 10000, time_conditioning must not be false for a non-causal model, and
// cfg (class conditioning) must not be true. name labels errors.
func ParseConfig(raw []byte, name string) (Config, error) {
	var f struct {
		Vocab     *int     `json:"vocab_size"`
		Length    *int     `json:"model_length"`
		Hidden    *int     `json:"hidden_dim"`
		Cond      *int     `json:"cond_dim"`
		Blocks    *int     `json:"n_blocks"`
		Heads     *int     `json:"n_heads"`
		MLPRatio  *int     `json:"mlp_ratio"`
		Dropout   *float64 `json:"dropout"`
		Causal    *bool    `json:"causal"`
		RopeTheta *float64 `json:"rope_theta"`
		TimeCond  *bool    `json:"time_conditioning"`
		CFG       *bool    `json:"cfg"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	fail := func(format string, a ...any) (Config, error) {
		return Config{}, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, a...))
	}
	cfg := Config{MLPRatio: 4, Dropout: 0.1}
	if f.Causal != nil {
		cfg.Causal = *f.Causal
	}
	required := []struct {
		key string
		p   *int
		dst *int
		max int
	}{
		{"vocab_size", f.Vocab, &cfg.Vocab, maxDim},
		{"model_length", f.Length, &cfg.Length, maxLength},
		{"hidden_dim", f.Hidden, &cfg.Hidden, maxDim},
		{"cond_dim", f.Cond, &cfg.Cond, maxDim},
		{"n_blocks", f.Blocks, &cfg.Blocks, maxBlocks},
		{"n_heads", f.Heads, &cfg.Heads, maxDim},
		{"mlp_ratio", f.MLPRatio, &cfg.MLPRatio, maxMLPRatio},
	}
	for _, r := range required {
		switch {
		case r.p == nil && (r.key == "mlp_ratio" || (r.key == "cond_dim" && cfg.Causal)):
			continue // optional
		case r.p == nil:
			return fail("missing %s", r.key)
		case *r.p > r.max:
			return fail("%s %d is implausibly large (limit %d)", r.key, *r.p, r.max)
		}
		*r.dst = *r.p
	}
	if f.Dropout != nil {
		cfg.Dropout = *f.Dropout
	}
	switch {
	case f.RopeTheta != nil && *f.RopeTheta != rotaryBase:
		return fail("rope_theta %g: only the reference rotary base %d is supported", *f.RopeTheta, rotaryBase)
	case f.TimeCond != nil && !*f.TimeCond && !cfg.Causal:
		return fail("time_conditioning false (the network ignores sigma) is not supported; Duo models are time-conditioned")
	case f.CFG != nil && *f.CFG:
		return fail("cfg true (class-conditional) models are not supported")
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// ParamCount returns the number of scalars a DiT of cfg has (without the
// rotary buffer), computed without allocating it; math.MaxInt64 when the
// count does not fit (only absurd configurations).
func (c Config) ParamCount() int64 {
	n := c.paramCount()
	if n >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n)
}

// paramCount is ParamCount in float64, which does not overflow.
func (c Config) paramCount() float64 {
	K, L, D, C, R := float64(c.Vocab), float64(c.Blocks), float64(c.Hidden), float64(c.Cond), float64(c.MLPRatio)
	n := K*D + D + K*D + K // embedding, final norm, output linear
	block := 2*D + 3*D*D + D*D + 2*R*D*D + R*D + D
	if !c.Causal {
		n += timeFeatures*C + C + C*C + C + C*2*D + 2*D
		block += C*6*D + 6*D
	}
	return n + L*block
}

// InvFreq returns the rotary buffer rotary_emb.inv_freq for head dimension
// d as the reference computes it in float32: 1 / 10000^(2j/d), j < d/2.
func InvFreq(d int) []float32 {
	out := make([]float32, d/2)
	for j := range out {
		e := float32(2*j) / float32(d)
		out[j] = float32(1 / math.Pow(rotaryBase, float64(e)))
	}
	return out
}

// CheckInvFreq checks a stored rotary_emb.inv_freq buffer (its values,
// shape and stored dtype) against 10000^(-2j/d) for head dimension d, to
// the precision of the dtype.
func CheckInvFreq(vals []float32, shape []int, dtype safetensors.DType, d int) error {
	if len(shape) != 1 || shape[0] != d/2 || len(vals) != d/2 {
		return fmt.Errorf("tensor %q has shape %v, want [%d] (head dim %d = hidden_dim / n_heads)", InvFreqName, shape, d/2, d)
	}
	tol := 2e-6 // float32 pow and division in PyTorch, a few ulps
	switch dtype {
	case safetensors.F16:
		tol = 1e-3
	case safetensors.BF16:
		tol = 8e-3
	}
	for j, v := range vals {
		want := math.Pow(rotaryBase, -2*float64(j)/float64(d))
		if !(math.Abs(float64(v)-want) <= tol*want) {
			return fmt.Errorf("tensor %q[%d] = %g, want 10000^(-2*%d/%d) = %g: the checkpoint's rotary embedding differs from the reference (base 10000, head dim %d)",
				InvFreqName, j, v, j, d, want, d)
		}
	}
	return nil
}

// statePrefix returns the prefix of a state dict's keys: BackbonePrefix if
// any key has it (the Hugging Face layout), in which case every key must,
// else "" (the raw DiT layout).
func statePrefix(names []string) (string, error) {
	prefix := ""
	for _, n := range names {
		if strings.HasPrefix(n, BackbonePrefix) {
			prefix = BackbonePrefix
			break
		}
	}
	if prefix != "" {
		for _, n := range names {
			if !strings.HasPrefix(n, prefix) {
				return "", fmt.Errorf("unexpected tensor %q: the other tensors are under %q", n, prefix)
			}
		}
	}
	return prefix, nil
}

// loadState fills m from f, a safetensors state dict in either layout, and
// checks the rotary buffer if present.
func loadState(f *safetensors.File, m *DiT) error {
	prefix, err := statePrefix(f.Names())
	if err != nil {
		return err
	}
	if err := LoadParams(f, prefix, m.Params(), InvFreqName); err != nil {
		return err
	}
	if t, ok := f.Get(prefix + InvFreqName); ok {
		v, err := t.Float32s()
		if err != nil {
			return err
		}
		if err := CheckInvFreq(v, t.Shape, t.DType, m.Hidden/m.Heads); err != nil {
			return err
		}
	}
	return nil
}

// checkSize compares the number of elements in f with what cfg needs, so
// that a config.json describing a far larger network than the file holds
// is reported before a network of its size is allocated. (Smaller
// disagreements are left to the per-tensor checks, which name the tensor.)
func checkSize(f *safetensors.File, cfg Config) error {
	var have int64
	for _, t := range f.Tensors {
		have += int64(t.NumElements())
	}
	want := cfg.ParamCount()
	if want > 2*have+1<<20 {
		return fmt.Errorf("config.json describes %d parameters but the file holds only %d values (first check vocab_size, hidden_dim, n_blocks)", want, have)
	}
	return nil
}

// HFConfig is the config.json of the Hugging Face layout: the fields the
// authors' DUOConfig reads (mlp_ratio is fixed at 4 there).
type HFConfig struct {
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures"`
	Vocab         int      `json:"vocab_size"`
	Length        int      `json:"model_length"`
	Hidden        int      `json:"hidden_dim"`
	Cond          int      `json:"cond_dim"`
	Blocks        int      `json:"n_blocks"`
	Heads         int      `json:"n_heads"`
	Dropout       float64  `json:"dropout"`
	Causal        bool     `json:"causal"`
	TorchDType    string   `json:"torch_dtype"`
}

// SaveHF writes m in the Hugging Face layout the authors' code loads:
// config.json (model_type "duo", the DUOConfig fields) and
// model.safetensors with "backbone." keys, float32, including the rotary
// buffer, and metadata format=pt. The authors' network has MLP ratio 4, so
// other ratios are refused.
func SaveHF(dir string, m *DiT) error {
	if m.MLPRatio != 4 {
		return fmt.Errorf("export: mlp_ratio %d: the Hugging Face DUO model has a fixed MLP ratio of 4", m.MLPRatio)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg := HFConfig{
		ModelType: "duo", Architectures: []string{"DUO"},
		Vocab: m.Vocab, Length: m.Length, Hidden: m.Hidden, Cond: m.Cond, Blocks: len(m.Blocks), Heads: m.Heads,
		Dropout: m.Dropout, Causal: m.Causal, TorchDType: "float32",
	}
	raw, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	d := m.Hidden / m.Heads
	ts := Tensors(BackbonePrefix, m.Params())
	ts = append(ts, safetensors.NewF32(BackbonePrefix+InvFreqName, []int{d / 2}, InvFreq(d)))
	path := filepath.Join(dir, ModelFile)
	if err := safetensors.WriteFile(path, ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, ConfigFile), append(raw, '\n'))
}
