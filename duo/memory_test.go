package duo

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/duo-go/duo/internal/sysmem"
	"github.com/duo-go/duo/nn"
)

// TestBigModelMemory measures the memory of loading the published "small"
// model's shape (D=768, 12 blocks, 12 heads, C=128, K=50258, L=1024: 170M
// parameters, 679 MB of float32) from a synthetic Hugging Face directory,
// and of 8 sampling steps of 1024 tokens, batch 1. It needs ~1.5 GB of RAM
// and ~700 MB of disk, so it runs only with DUO_BIG=1:
//
//	DUO_BIG=1 go test ./duo -run BigModelMemory -v -timeout 30m
//
// It reports the peak resident set (VmHWM, reset between phases through
// /proc/self/clear_refs) and fails if loading peaks above 2.2x the
// model's size.
func TestBigModelMemory(t *testing.T) {
	if os.Getenv("DUO_BIG") != "1" {
		t.Skip("set DUO_BIG=1 to run (writes a 679 MB model)")
	}
	cfg := nn.Config{Vocab: 50258, Length: 1024, Hidden: 768, Cond: 128, Blocks: 12, Heads: 12, MLPRatio: 4, Dropout: 0.1}
	dir := t.TempDir()
	start := time.Now()
	size, err := writeSyntheticHF(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote a synthetic %d-byte model.safetensors in %v", size, time.Since(start).Round(time.Millisecond))

	base := settle(t)
	start = time.Now()
	m, _, err := LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	loadTime := time.Since(start)
	loadPeak, loadRSS := sysmem.PeakRSS(), sysmem.RSS()
	modelBytes := int64(m.NumParams()) * 4
	t.Logf("load: %v; peak RSS %s (%.2fx the %s of parameters; %s before loading), RSS after %s",
		loadTime.Round(time.Millisecond), mb(loadPeak), float64(loadPeak)/float64(modelBytes), mb(modelBytes), mb(base), mb(loadRSS))

	settle(t)
	start = time.Now()
	out, err := Sample(m, SampleConfig{Steps: 8, Sampler: SamplerGreedy, Batch: 1, Length: 1024, TopP: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	samplePeak := sysmem.PeakRSS()
	t.Logf("sample: 8 steps (+1 final) of 1024 tokens, batch 1, %d threads: %v; peak RSS %s (%.2fx the parameters)",
		runtime.GOMAXPROCS(0), time.Since(start).Round(time.Millisecond), mb(samplePeak), float64(samplePeak)/float64(modelBytes))
	if len(out) != 1 || len(out[0]) != 1024 {
		t.Fatalf("sample returned %d sequences", len(out))
	}
	if float64(loadPeak) > 2.2*float64(modelBytes) {
		t.Errorf("loading peaked at %s, more than 2.2x the model's %s", mb(loadPeak), mb(modelBytes))
	}
}

func mb(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/1e6) }

// settle returns freed memory to the OS, resets the peak RSS and returns
// the current RSS.
func settle(t *testing.T) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	if err := sysmem.ResetPeak(); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
	return sysmem.RSS()
}

// writeSyntheticHF streams a Hugging Face layout directory for cfg with
// small random weights (never the whole model in memory) and returns the
// model file's size.
func writeSyntheticHF(dir string, cfg nn.Config) (int64, error) {
	D, C, K, R := cfg.Hidden, cfg.Cond, cfg.Vocab, cfg.MLPRatio
	type spec struct {
		name  string
		shape []int
	}
	specs := []spec{{"vocab_embed.embedding", []int{K, D}},
		{"sigma_map.mlp.0.weight", []int{C, 256}}, {"sigma_map.mlp.0.bias", []int{C}},
		{"sigma_map.mlp.2.weight", []int{C, C}}, {"sigma_map.mlp.2.bias", []int{C}},
		{"rotary_emb.inv_freq", []int{D / cfg.Heads / 2}}}
	for i := range cfg.Blocks {
		p := fmt.Sprintf("blocks.%d.", i)
		specs = append(specs, spec{p + "norm1.weight", []int{D}}, spec{p + "attn_qkv.weight", []int{3 * D, D}},
			spec{p + "attn_out.weight", []int{D, D}}, spec{p + "norm2.weight", []int{D}},
			spec{p + "mlp.0.weight", []int{R * D, D}}, spec{p + "mlp.0.bias", []int{R * D}},
			spec{p + "mlp.2.weight", []int{D, R * D}}, spec{p + "mlp.2.bias", []int{D}},
			spec{p + "adaLN_modulation.weight", []int{6 * D, C}}, spec{p + "adaLN_modulation.bias", []int{6 * D}})
	}
	specs = append(specs, spec{"output_layer.norm_final.weight", []int{D}},
		spec{"output_layer.linear.weight", []int{K, D}}, spec{"output_layer.linear.bias", []int{K}},
		spec{"output_layer.adaLN_modulation.weight", []int{2 * D, C}}, spec{"output_layer.adaLN_modulation.bias", []int{2 * D}})
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	off := 0
	for _, s := range specs {
		n := 4
		for _, d := range s.shape {
			n *= d
		}
		header[nn.BackbonePrefix+s.name] = map[string]any{"dtype": "F32", "shape": s.shape, "data_offsets": []int{off, off + n}}
		off += n
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return 0, err
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	path := filepath.Join(dir, nn.ModelFile)
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	binary.Write(w, binary.LittleEndian, uint64(len(hj)))
	w.Write(hj)
	x := uint64(88172645463325252)
	var buf [4]byte
	for _, s := range specs {
		n := 1
		for _, d := range s.shape {
			n *= d
		}
		scale := 1 / math.Sqrt(float64(s.shape[len(s.shape)-1]))
		for j := range n {
			var v float32
			switch {
			case s.name == "rotary_emb.inv_freq":
				v = float32(math.Pow(10000, -2*float64(j)/float64(D/cfg.Heads)))
			case strings.Contains(s.name, "norm"):
				v = 1
			default:
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				v = float32((float64(x>>11)/(1<<53)*2 - 1) * scale)
			}
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			w.Write(buf[:])
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	js, _ := json.Marshal(map[string]any{"model_type": "duo", "vocab_size": K, "model_length": cfg.Length,
		"hidden_dim": D, "cond_dim": C, "n_blocks": cfg.Blocks, "n_heads": cfg.Heads, "dropout": cfg.Dropout, "causal": false})
	if err := os.WriteFile(filepath.Join(dir, nn.ConfigFile), js, 0o644); err != nil {
		return 0, err
	}
	return int64(8 + len(hj) + off), nil
}
