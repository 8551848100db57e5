package duo

import (
	"math"
	"strings"
	"testing"

	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// An AR model's score is the sum of its next-token log-probabilities, each
// from a forward pass over that token's prefix alone.
func TestScoreAR(t *testing.T) {
	m, err := nn.NewDiT(nn.Config{Vocab: 11, Length: 8, Hidden: 8, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 2, Causal: true}, tensor.NewRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(6)
	for _, p := range m.Params() {
		rng.Uniform(p.Value, -0.5, 0.5)
	}
	ctx, cont := []int32{4, 1, 9}, []int32{2, 2, 10, 0}
	got, err := Score(m, ctx, cont, ScoreOptions{Objective: AR{}})
	if err != nil {
		t.Fatal(err)
	}
	seq := append(append([]int32{}, ctx...), cont...)
	var want float64
	for p := len(ctx); p < len(seq); p++ {
		logits, err := m.Forward(nil, nn.Input{Batch: 1, IDs: seq[:p]})
		if err != nil {
			t.Fatal(err)
		}
		row := logits.Value.Data()[(p-1)*11 : p*11]
		var z float64
		for _, l := range row {
			z += math.Exp(float64(l))
		}
		want += float64(row[seq[p]]) - math.Log(z)
	}
	if !got.Exact || got.Tokens != 4 || math.Abs(got.LogLik-want) > 1e-5 {
		t.Errorf("AR score %+v, want exact %v over 4 tokens", got, want)
	}
}

// With no context, a diffusion model's score is minus the NELBO of the whole
// sequence: Score's Monte Carlo mean against the objective's own NLL
// estimator (mean per token, times L), for USDM and MDLM.
func TestScoreMatchesNLL(t *testing.T) {
	m := randomTinyDiT(t) // K = 11, L = 8
	seq := []int32{3, 1, 4, 1, 5, 9, 2, 6}
	for _, o := range []Objective{USDM{}, MDLM{}} {
		got, err := Score(m, nil, seq, ScoreOptions{Objective: o, MC: 1024, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		const calls, B = 32, 64
		rng := tensor.NewRNG(2)
		tokens := make([]int32, 0, B*len(seq))
		for range B {
			tokens = append(tokens, seq...)
		}
		est := make([]float64, calls)
		for i := range est {
			nll, err := o.NLL(m, Batch{Tokens: tokens, B: B, RNG: rng})
			if err != nil {
				t.Fatal(err)
			}
			est[i] = -nll * float64(len(seq))
		}
		want, se := meanStdErr(est)
		if d := math.Abs(got.LogLik - want); d > 5*math.Hypot(got.StdErr, se) {
			t.Errorf("%s: score %.3f ± %.3f, NLL estimator %.3f ± %.3f", o.Name(), got.LogLik, got.StdErr, want, se)
		}
		t.Logf("%s: score %.3f ± %.3f, NLL estimator %.3f ± %.3f", o.Name(), got.LogLik, got.StdErr, want, se)
	}
}

// The chain's Duo model scores the chain's successors above a token it
// never follows, and the likelier successor (s+1, p = 0.8) above the
// other (s+3, p = 0.2), given a context from the validation stream.
func TestScoreChain(t *testing.T) {
	m, _, val := chainTeacher(t)
	var legal, likelier, n int
	for i := 0; i+8 < len(val) && n < 40; i += 37 {
		ctx := val[i : i+7]
		s := ctx[len(ctx)-1]
		score := func(next int32) float64 {
			r, err := Score(m, ctx, []int32{next}, ScoreOptions{Objective: Duo{}, MC: 128, Seed: uint64(i)})
			if err != nil {
				t.Fatal(err)
			}
			return r.LogLik
		}
		one, three, two := score((s+1)%8), score((s+3)%8), score((s+2)%8)
		if one > two && three > two {
			legal++
		}
		if one > three {
			likelier++
		}
		n++
	}
	t.Logf("%d contexts: both successors above an illegal token in %d, s+1 above s+3 in %d", n, legal, likelier)
	if legal < n*9/10 || likelier < n*8/10 {
		t.Errorf("%d contexts: both successors above an illegal token in only %d, s+1 above s+3 in %d", n, legal, likelier)
	}
}

func TestScoreErrors(t *testing.T) {
	m := randomTinyDiT(t)
	for _, c := range []struct {
		ctx, cont []int32
		opt       ScoreOptions
		want      string
	}{
		{[]int32{1}, nil, ScoreOptions{}, "empty continuation"},
		{[]int32{1, 2, 3, 4, 5}, []int32{1, 2, 3, 4}, ScoreOptions{}, "more than the model's length 8"},
		{[]int32{1}, []int32{11}, ScoreOptions{}, "token id 11 at position 1"},
		{[]int32{1}, []int32{10}, ScoreOptions{Objective: MDLM{}}, "token id 10 at position 1 outside the vocabulary [0,10)"},
		{[]int32{1}, []int32{2}, ScoreOptions{MC: 1}, "need at least 2"},
	} {
		if _, err := Score(m, c.ctx, c.cont, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Score(%v, %v): %v, want %q", c.ctx, c.cont, err, c.want)
		}
	}
}
