package duo

import (
	"math"
	"strings"
	"testing"

	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// A judge whose logits are all zero is uniform: Gen PPL is exactly K, over
// every token but the first of each chunk of at most L+1 tokens. A judge
// sure of token 7 gives Gen PPL near 1 to a sample of 7s and a large one
// to anything else.
func TestGenPPL(t *testing.T) {
	const K, L = 11, 8
	judge, err := nn.NewDiT(nn.Config{Vocab: K, Length: L, Hidden: 8, Blocks: 1, Heads: 2, MLPRatio: 2, Causal: true}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	clear(judge.Output.W.Value.Data())
	clear(judge.Output.B.Value.Data())
	samples := [][]int32{make([]int32, 20), make([]int32, 9), {1, 2, 3}}
	for i := range samples[0] {
		samples[0][i] = int32(i % K)
	}
	r, err := GenPPL(judge, samples)
	if err != nil {
		t.Fatal(err)
	}
	// 20 tokens: chunks of 9, 9, 2 (8+8+1 scored); 9: one chunk (8); 3: 2.
	if math.Abs(r.GenPPL-K) > 1e-4 || r.Tokens != 27 || r.Samples != 3 || r.StdErr > 1e-6 {
		t.Errorf("uniform judge: %+v, want Gen PPL %d over 27 tokens", r, K)
	}
	want := (Entropy(samples[0]) + Entropy(samples[1]) + Entropy(samples[2])) / 3
	if math.Abs(r.Entropy-want) > 1e-12 {
		t.Errorf("entropy %v, want %v", r.Entropy, want)
	}
	judge.Output.B.Value.Data()[7] = 30
	sevens := [][]int32{{7, 7, 7, 7, 7, 7}}
	if r, _ := GenPPL(judge, sevens); r.GenPPL > 1.0001 || r.Entropy != 0 {
		t.Errorf("confident judge on its token: %+v", r)
	}
	if r, _ := GenPPL(judge, [][]int32{{1, 2, 3, 4}}); r.GenPPL < 1e10 {
		t.Errorf("confident judge on other tokens: Gen PPL %v", r.GenPPL)
	}
	// One sample of sevens, one of others: the per-sample NLLs differ by
	// about 30 nats, so the standard error of their mean is about 15.
	if r, _ := GenPPL(judge, [][]int32{{7, 7, 7}, {1, 2, 3}}); math.Abs(r.StdErr-15) > 1 {
		t.Errorf("standard error %v, want about 15", r.StdErr)
	}
	for _, c := range []struct {
		samples [][]int32
		want    string
	}{
		{[][]int32{{1, K}}, "outside the judge's vocabulary"},
		{[][]int32{{1}}, "no token to score"},
		{nil, "no samples"},
	} {
		if _, err := GenPPL(judge, c.samples); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.samples, err, c.want)
		}
	}
	judge.Causal = false
	if _, err := GenPPL(judge, samples); err == nil {
		t.Error("a non-causal judge was accepted")
	}
}
