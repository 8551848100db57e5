package nn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duo-go/duo/internal/safetensors"
	"github.com/duo-go/duo/tensor"
)

func smallDiT(t *testing.T) *DiT {
	t.Helper()
	m, err := NewDiT(Config{Vocab: 11, Length: 8, Hidden: 8, Cond: 4, Blocks: 1, Heads: 2, MLPRatio: 2}, tensor.NewRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A saved DiT loads back bit for bit, and a damaged checkpoint is refused
// with an error that names the file and the tensor.
func TestCheckpointRoundTripAndErrors(t *testing.T) {
	m := smallDiT(t)
	dir := t.TempDir()
	if err := SaveDiT(dir, m, map[string]any{"model_type": "duo"}, nil); err != nil {
		t.Fatal(err)
	}
	back, err := LoadDiT(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range back.Params() {
		want := m.Params()[i].Value.Data()
		for j, v := range p.Value.Data() {
			if v != want[j] {
				t.Fatalf("%s[%d] = %v after reload, want %v", p.Name, j, v, want[j])
			}
		}
	}

	write := func(t *testing.T, mutate func([]safetensors.Tensor) []safetensors.Tensor) string {
		d := t.TempDir()
		if err := SaveDiT(d, m, nil, nil); err != nil {
			t.Fatal(err)
		}
		ts := mutate(Tensors("", m.Params()))
		if err := safetensors.WriteFile(filepath.Join(d, ModelFile), ts, nil); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		name   string
		dir    func(t *testing.T) string
		errHas []string
	}{
		{"missing tensor", func(t *testing.T) string {
			return write(t, func(ts []safetensors.Tensor) []safetensors.Tensor { return ts[1:] })
		}, []string{ModelFile}},
		{"unexpected tensor", func(t *testing.T) string {
			return write(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
				return append(ts, safetensors.NewF32("blocks.7.norm1.weight", []int{8}, make([]float32, 8)))
			})
		}, []string{"unexpected", "blocks.7.norm1.weight"}},
		{"wrong shape", func(t *testing.T) string {
			return write(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
				ts[0] = safetensors.NewF32(ts[0].Name, []int{8, 11}, make([]float32, 88))
				return ts
			})
		}, []string{"vocab_embed.embedding", "shape [8 11]", "want [11 8]"}},
		{"truncated file", func(t *testing.T) string {
			d := t.TempDir()
			SaveDiT(d, m, nil, nil)
			p := filepath.Join(d, ModelFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
			return d
		}, []string{ModelFile}},
		{"bad config", func(t *testing.T) string {
			d := t.TempDir()
			SaveDiT(d, m, nil, nil)
			os.WriteFile(filepath.Join(d, ConfigFile), []byte(`{"vocab_size": 11, "model_length": 8, "hidden_dim": 9, "n_heads": 2, "cond_dim": 4, "n_blocks": 1}`), 0o644)
			return d
		}, []string{ConfigFile, "hidden_dim"}},
		{"no checkpoint", func(t *testing.T) string { return t.TempDir() }, []string{ConfigFile}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadDiT(c.dir(t))
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range c.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// Forward rejects bad input with errors, never a panic.
func TestForwardBadInput(t *testing.T) {
	m := smallDiT(t)
	cases := []struct {
		name string
		in   Input
	}{
		{"no input", Input{Batch: 1, Sigma: []float32{0}}},
		{"id out of range", Input{Batch: 1, IDs: []int32{1, 11}, Sigma: []float32{0}}},
		{"negative id", Input{Batch: 1, IDs: []int32{-1}, Sigma: []float32{0}}},
		{"too long", Input{Batch: 1, IDs: make([]int32, 9), Sigma: []float32{0}}},
		{"ragged batch", Input{Batch: 2, IDs: make([]int32, 5), Sigma: []float32{0, 0}}},
		{"missing sigma", Input{Batch: 1, IDs: []int32{1}}},
		{"zero batch", Input{IDs: []int32{1}}},
	}
	for _, c := range cases {
		if _, err := m.Forward(nil, c.in); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}
