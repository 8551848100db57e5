package tensor

import (
	"math"
	"testing"
)

// AttentionBackward gives the same gradient from the probabilities that
// AttentionForTraining kept as from recomputing them, and the probabilities
// are kept only when they are no larger than qkv.
func TestAttentionKeptProbabilities(t *testing.T) {
	rng := NewRNG(9)
	for _, c := range []struct {
		B, L, H, d int
		causal     bool
		kept       bool
	}{
		{2, 12, 3, 4, false, true},
		{2, 12, 3, 4, true, true},
		{1, 40, 2, 8, true, false}, // L > 3d: recomputed
	} {
		qkv, g := New(c.B, c.L, 3*c.H*c.d), New(c.B, c.L, c.H*c.d)
		rng.Normal(qkv, 0, 1)
		rng.Normal(g, 0, 1)
		out, lse, probs := AttentionForTraining(qkv, c.H, c.causal)
		if (probs != nil) != c.kept {
			t.Fatalf("%+v: probabilities kept %v", c, probs != nil)
		}
		wantOut, _ := Attention(qkv, c.H, c.causal)
		want := AttentionBackward(g, qkv, wantOut, lse, nil, c.H, c.causal).Host()
		got := AttentionBackward(g, qkv, out, lse, probs, c.H, c.causal).Host()
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%+v: dqkv[%d] = %g from kept probabilities, %g recomputed", c, i, got[i], want[i])
			}
		}
		for i, v := range out.Host() {
			if v != wantOut.Host()[i] {
				t.Fatalf("%+v: out[%d] = %g, Attention gives %g", c, i, v, wantOut.Host()[i])
			}
		}
	}
}
