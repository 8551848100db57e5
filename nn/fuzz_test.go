package nn

import (
	"math"
	"testing"
)

// FuzzParseConfig: no config.json makes the parser panic, and whatever it
// accepts validates and is within the size limits, so that the parameter
// count and memory estimate of the network it describes are finite.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"vocab_size":50258,"model_length":1024,"hidden_dim":768,"cond_dim":128,"n_blocks":12,"n_heads":12,"model_type":"duo"}`))
	f.Add([]byte(`{"vocab_size":256,"model_length":1048576,"hidden_dim":16,"n_blocks":1,"n_heads":2,"causal":true}`))
	f.Add([]byte(`{"vocab_size":256,"model_length":8,"hidden_dim":1000000000,"cond_dim":8,"n_blocks":1,"n_heads":2}`))
	f.Add([]byte(`{"vocab_size":256,"model_length":8,"hidden_dim":16,"cond_dim":8,"n_blocks":1,"n_heads":2,"dropout":"NaN"}`))
	f.Add([]byte(`{"vocab_size":-1}`))
	f.Add([]byte(`{"vocab_size":16777216,"model_length":8,"hidden_dim":16777216,"cond_dim":16777216,"n_blocks":4096,"n_heads":2,"mlp_ratio":64}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, err := ParseConfig(raw, "config.json")
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		if cfg.Vocab > maxDim || cfg.Hidden > maxDim || cfg.Length > maxLength || cfg.Blocks > maxBlocks {
			t.Fatalf("accepted sizes beyond the limits: %+v", cfg)
		}
		if n := cfg.ParamCount(); n <= 0 {
			t.Fatalf("parameter count %d for %+v", n, cfg)
		}
		if m := cfg.MemoryBytes(1, cfg.Length, false); math.IsInf(m, 0) || math.IsNaN(m) || m <= 0 {
			t.Fatalf("memory estimate %g for %+v", m, cfg)
		}
	})
}
