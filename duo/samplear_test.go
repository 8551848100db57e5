package duo

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

func randomCausalDiT(t testing.TB, K, L int) *nn.DiT {
	m, err := nn.NewDiT(nn.Config{Vocab: K, Length: L, Hidden: 16, Cond: 8, Blocks: 2, Heads: 2, MLPRatio: 2, Causal: true}, tensor.NewRNG(7))
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(8)
	for _, p := range m.Params() {
		rng.Uniform(p.Value, -0.5, 0.5)
	}
	return m
}

// recomputeGreedy is greedy decoding without a cache: a forward pass over
// the whole prefix for every token.
func recomputeGreedy(t testing.TB, m *nn.DiT, prompt []int32, length int) []int32 {
	seq := slices.Clone(prompt)
	for len(seq) < length {
		logits, err := m.Forward(nil, nn.Input{Batch: 1, IDs: seq})
		if err != nil {
			t.Fatal(err)
		}
		K := m.Vocab
		last := logits.Value.Data()[(len(seq)-1)*K : len(seq)*K]
		seq = append(seq, int32(argmaxOf(last)))
	}
	return seq
}

// Greedy decoding with the KV cache equals greedy decoding that recomputes
// the whole prefix for every token, up to the model's length + 1.
func TestSampleARGreedyMatchesRecompute(t *testing.T) {
	m := randomCausalDiT(t, 17, 12)
	prompt := []int32{5, 2, 16}
	got, err := SampleAR(m, ARConfig{Batch: 2, Length: 13, Prompt: prompt})
	if err != nil {
		t.Fatal(err)
	}
	want := recomputeGreedy(t, m, prompt, 13)
	for b := range got {
		if !slices.Equal(got[b], want) {
			t.Errorf("sequence %d: %v, recomputed %v", b, got[b], want)
		}
	}
}

// A drawn token follows softmax(logits / T) of the full forward pass
// (chi-square over many sequences), with and without a nucleus.
func TestSampleARDistribution(t *testing.T) {
	m := randomCausalDiT(t, 9, 8)
	prompt := []int32{3, 1}
	const n, temp = 20000, 0.7
	logits, err := m.Forward(nil, nn.Input{Batch: 1, IDs: prompt})
	if err != nil {
		t.Fatal(err)
	}
	row := logits.Value.Data()[9:18]
	p := make([]float64, 9)
	var z float64
	for v, l := range row {
		p[v] = math.Exp(float64(l) / temp)
		z += p[v]
	}
	for v := range p {
		p[v] /= z
	}
	for _, topP := range []float64{1, 0.8} {
		want := slices.Clone(p)
		if topP < 1 {
			nucleus(want, topP, nil)
		}
		out, err := SampleAR(m, ARConfig{Temperature: temp, TopP: topP, Batch: n, Length: 3, Prompt: prompt, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		counts := make([]int, 9)
		for _, s := range out {
			counts[s[2]]++
		}
		for v, c := range counts {
			if want[v] == 0 && c > 0 {
				t.Errorf("top-p %v: id %d outside the nucleus drawn %d times", topP, v, c)
			}
		}
		if stat, df := pooledChi2(counts, want, n); stat > chi2Crit(df) {
			t.Errorf("top-p %v: chi-square %.1f on %d dof (counts %v, p %.3f)", topP, stat, df, counts, want)
		}
	}
}

func TestSampleARErrors(t *testing.T) {
	m := randomCausalDiT(t, 9, 8)
	for _, c := range []struct {
		cfg  ARConfig
		want string
	}{
		{ARConfig{Batch: 1, Length: 4}, "needs a prompt"},
		{ARConfig{Batch: 1, Length: 10, Prompt: []int32{1}}, "length 10 outside [1, 9]"},
		{ARConfig{Batch: 1, Length: 4, Prompt: []int32{9}}, "prompt token 9"},
		{ARConfig{Batch: 1, Length: 4, Prompt: []int32{1}, Temperature: -1}, "temperature -1"},
	} {
		if _, err := SampleAR(m, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	if _, err := SampleAR(randomTinyDiT(t), ARConfig{Batch: 1, Length: 4, Prompt: []int32{1}}); err == nil || !strings.Contains(err.Error(), "not causal") {
		t.Errorf("a diffusion model: %v", err)
	}
}
