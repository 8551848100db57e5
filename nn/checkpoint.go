package nn

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/duo-go/duo/internal/atomicfile"
	"github.com/duo-go/duo/internal/safetensors"
	"github.com/duo-go/duo/tensor"
)

// Checkpoint directory layout shared by our models and imported ones.
const (
	ConfigFile = "config.json"
	ModelFile  = "model.safetensors"
)

// Tensors converts named tensors to safetensors entries, prefixing every
// name with prefix. On a little-endian machine the entries are the
// tensors' memory, not copies (see safetensors.NewF32).
func Tensors(prefix string, params []Param) []safetensors.Tensor {
	out := make([]safetensors.Tensor, len(params))
	for i, p := range params {
		out[i] = safetensors.NewF32(prefix+p.Name, p.Value.Shape(), p.Value.Host())
	}
	return out
}

// WriteParams atomically writes params (under prefix+name) to a safetensors
// file with the given metadata.
func WriteParams(path, prefix string, params []Param, meta map[string]string) error {
	err := safetensors.WriteFile(path, Tensors(prefix, params), meta)
	if err != nil && !strings.Contains(err.Error(), path) {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return err
}

// LoadParams copies the tensors named prefix+name from f into params,
// converting F16/BF16 to float32. It fails, naming the tensor, on the first
// missing tensor or shape mismatch, and on tensors of f under prefix that no
// parameter claims (ignore lists names, without prefix, that may be present
// and are skipped).
func LoadParams(f *safetensors.File, prefix string, params []Param, ignore ...string) error {
	want := make(map[string]bool, len(params))
	for _, p := range params {
		name := prefix + p.Name
		want[name] = true
		t, ok := f.Get(name)
		if !ok {
			return fmt.Errorf("missing tensor %q (shape %v)", name, p.Value.Shape())
		}
		if !slices.Equal(t.Shape, p.Value.Shape()) {
			return fmt.Errorf("tensor %q has shape %v, want %v", name, t.Shape, p.Value.Shape())
		}
		if err := t.DecodeFloat32(p.Value.Data()); err != nil {
			return err
		}
		if i, bad := firstNonFinite(p.Value.Data()); bad {
			return fmt.Errorf("tensor %q holds a non-finite value (%v at index %d)", name, p.Value.Data()[i], i)
		}
		f.DontNeed(t) // a mapped file's pages need not stay resident
	}
	skip := make(map[string]bool, len(ignore))
	for _, n := range ignore {
		skip[prefix+n] = true
	}
	for _, name := range f.Names() {
		if len(name) >= len(prefix) && name[:len(prefix)] == prefix && !want[name] && !skip[name] {
			return fmt.Errorf("unexpected tensor %q", name)
		}
	}
	return nil
}

// ConfigJSON returns the config.json of m: its Config under the authors'
// field names plus the extra fields given.
func ConfigJSON(m *DiT, extra map[string]any) ([]byte, error) {
	fields := map[string]any{}
	raw, err := json.Marshal(m.Config)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	for k, v := range extra {
		fields[k] = v
	}
	cfg, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(cfg, '\n'), nil
}

// SaveDiT writes a checkpoint directory: config.json (see ConfigJSON) and
// model.safetensors with the reference parameter names and the given
// metadata. Both files are written atomically.
func SaveDiT(dir string, m *DiT, extra map[string]any, meta map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg, err := ConfigJSON(m, extra)
	if err != nil {
		return err
	}
	if meta == nil {
		meta = map[string]string{}
	}
	meta["format"] = "pt"
	if err := WriteParams(filepath.Join(dir, ModelFile), "", m.Params(), meta); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, ConfigFile), cfg)
}

// ReadConfig reads and validates a checkpoint directory's config.json (see
// ParseConfig).
func ReadConfig(dir string) (Config, error) {
	path := filepath.Join(dir, ConfigFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return ParseConfig(raw, path)
}

// LoadDiT reads a checkpoint directory: ours (written by SaveDiT) or the
// authors' Hugging Face layout (tensors under "backbone."), F32, F16 or
// BF16. Every tensor is mapped and its shape checked; the first missing,
// unexpected or misshapen one is named in the error, and a
// rotary_emb.inv_freq buffer must hold the reference values.
func LoadDiT(dir string) (*DiT, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, ModelFile)
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkSize(f, cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := NewDiT(cfg, tensor.NewRNG(0))
	if err != nil {
		return nil, err
	}
	if err := loadState(f, m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// firstNonFinite returns the index of the first NaN or infinity in x.
func firstNonFinite(x []float32) (int, bool) {
	for i, v := range x {
		if v-v != 0 { // NaN and ±Inf only
			return i, true
		}
	}
	return 0, false
}
