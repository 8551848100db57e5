package nn

import (
	"math"
	"strings"
	"testing"

	"github.com/duo-go/duo/tensor"
)

// Decoding position by position with the KV cache gives the logits of the
// full causal forward pass at every position, for a batch of sequences.
func TestDecoderMatchesForward(t *testing.T) {
	m, err := NewDiT(Config{Vocab: 13, Length: 9, Hidden: 16, Cond: 8, Blocks: 2, Heads: 2, MLPRatio: 2, Causal: true}, tensor.NewRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(4)
	for _, p := range m.Params() {
		rng.Uniform(p.Value, -0.5, 0.5) // no zero-initialised layer
	}
	const B, L, K = 2, 9, 13
	ids := make([]int32, B*L)
	for i := range ids {
		ids[i] = int32(rng.IntN(K))
	}
	full, err := m.Forward(nil, Input{Batch: B, IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	d, err := m.NewDecoder(B)
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < L; p++ {
		step := []int32{ids[p], ids[L+p]}
		logits, err := d.Step(step)
		if err != nil {
			t.Fatal(err)
		}
		for b := 0; b < B; b++ {
			want := full.Value.Data()[(b*L+p)*K : (b*L+p+1)*K]
			got := logits.Data()[b*K : (b+1)*K]
			for v := range want {
				if math.Abs(float64(got[v]-want[v])) > 1e-4 {
					t.Fatalf("sequence %d position %d id %d: decoder %v, forward %v", b, p, v, got[v], want[v])
				}
			}
		}
	}
	if _, err := d.Step([]int32{1, 2}); err == nil || !strings.Contains(err.Error(), "full") {
		t.Errorf("step past the length: %v", err)
	}
	if _, err := m.NewDecoder(0); err == nil {
		t.Error("a decoder of 0 sequences")
	}
}
