package duo

import (
	"encoding/json"
	"testing"

	"github.com/duo-go/duo/internal/sysmem"
)

// FuzzParseState: no state.json makes the parser panic, and whatever it
// accepts is a configuration within the size limits that fits the machine,
// with counters in range.
func FuzzParseState(f *testing.F) {
	cfg := tinyConfig(ObjectiveDuo)
	valid, err := json.Marshal(trainState{Config: cfg, Step: 1, RNG: make([]byte, 32), Log: make([]Record, 1)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte(`{"config":{"model":{"vocab_size":16777216,"model_length":8,"hidden_dim":1024,"cond_dim":8,"n_blocks":1,"n_heads":2,"mlp_ratio":4},"objective":"duo","batch":2,"grad_accum":1,"steps":3,"gamma_min":-3,"gamma_max":-1,"lr":0.001,"ema_decay":0.9},"step":0,"log":[]}`))
	f.Add([]byte(`{"config":{"model":{"vocab_size":256,"model_length":8,"hidden_dim":1000000000,"cond_dim":8,"n_blocks":1,"n_heads":2,"mlp_ratio":4}}}`))
	f.Add([]byte(`{"config":{"lr":"NaN"},"step":-1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := parseState(raw)
		if err != nil {
			return
		}
		if err := st.Config.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		need := st.Config.Model.MemoryBytes(st.Config.Batch/st.Config.GradAccum, st.Config.Model.Length, true)
		if have := sysmem.Total(); have > 0 && need > float64(have) {
			t.Fatalf("accepted a run needing %g bytes on a machine of %d", need, have)
		}
		if st.Step < 0 || st.Step > st.Config.Steps || len(st.Log) != st.Step {
			t.Fatalf("accepted step %d of %d with %d log records", st.Step, st.Config.Steps, len(st.Log))
		}
	})
}
