package duo

import (
	"math"
	"strings"
	"testing"
)

// Fixed positions never change, at any step, for USDM and MDLM sampling;
// bad fixed tokens are errors.
func TestSampleFixedPositions(t *testing.T) {
	m := randomTinyDiT(t)
	fixed := make([]int32, 2*8)
	for i := range fixed {
		fixed[i] = -1
	}
	fixed[0], fixed[1], fixed[8+7] = 4, 9, 2 // a prompt, and the end of an infill
	for _, obj := range []Objective{nil, MDLM{}} {
		for _, sampler := range []string{SamplerAncestral, SamplerGreedy} {
			steps := 0
			cfg := SampleConfig{Steps: 6, Sampler: sampler, TopP: 1, Batch: 2, Length: 8, Seed: 3, Objective: obj, Fixed: fixed,
				Trace: func(_ float64, z []int32) {
					steps++
					for i, f := range fixed {
						if f >= 0 && z[i] != f {
							t.Fatalf("objective %v, %s: position %d is %d, fixed to %d", obj, sampler, i, z[i], f)
						}
					}
				}}
			if _, err := Sample(m, cfg); err != nil {
				t.Fatal(err)
			}
			if steps != 8 {
				t.Errorf("traced %d states, want 8", steps)
			}
		}
	}
	bad := append([]int32(nil), fixed...)
	bad[3] = 11
	if _, err := Sample(m, SampleConfig{Steps: 2, Sampler: SamplerAncestral, Batch: 2, Length: 8, Fixed: bad}); err == nil || !strings.Contains(err.Error(), "fixed token 11") {
		t.Errorf("out-of-vocabulary fixed token: %v", err)
	}
	bad[3] = 10 // MDLM's [MASK]
	if _, err := Sample(m, SampleConfig{Steps: 2, Sampler: SamplerAncestral, Batch: 2, Length: 8, Fixed: bad, Objective: MDLM{}}); err == nil {
		t.Error("MDLM accepted [MASK] as a fixed token")
	}
	if _, err := Sample(m, SampleConfig{Steps: 2, Sampler: SamplerAncestral, Batch: 2, Length: 8, Fixed: fixed[:5]}); err == nil {
		t.Error("a short Fixed was accepted")
	}
}

// Prompted sampling follows the data's conditional law: a Duo model of the
// 8-state Markov chain of TestDistillFewStepSamples, prompted with 5 6 7 0,
// draws the token after the prompt close to the chain's law (1 with
// probability 0.8, 3 with 0.2): total variation under 0.1 and under a fifth
// of the unprompted one, illegal draws under 3%. Pearson's chi-square of the
// legal draws against 0.8/0.2 is logged, not bounded: clamping is a close,
// not an exact, conditional sampler. The network sees the prompt as tokens
// noised at level t, so early in sampling it leaves some belief on the
// prompt's last token being another successor of 7 (2, whose successors
// are 3 and 5), and the draw leans to 3: about 0.74/0.26 at n = 512, a
// chi-square of 4 to 13 by seed (the 0.001 critical value is 10.83).
func TestSamplePromptFollowsChain(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model (about 16 s, shared with TestDistillFewStepSamples)")
	}
	model, _, _ := chainTeacher(t)
	const n, L = 512, 16
	fixed := make([]int32, n*L)
	for i := range fixed {
		fixed[i] = -1
	}
	for b := range n {
		copy(fixed[b*L:], []int32{5, 6, 7, 0})
	}
	count := func(f []int32) (one, three, other int) {
		out, err := Sample(model, SampleConfig{Steps: 64, Sampler: SamplerAncestral, TopP: 1, Batch: n, Length: L, Seed: 9, Fixed: f})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out {
			switch s[4] {
			case 1:
				one++
			case 3:
				three++
			default:
				other++
			}
		}
		return
	}
	tv := func(one, three, other int) float64 { // total variation from {1: 0.8, 3: 0.2}
		return (math.Abs(float64(one)/n-0.8) + math.Abs(float64(three)/n-0.2) + float64(other)/n) / 2
	}
	one, three, other := count(fixed)
	u1, u3, uo := count(nil)
	p, u := tv(one, three, other), tv(u1, u3, uo)
	t.Logf("after the prompt 5 6 7 0: %d x 1, %d x 3, %d others (TV %.3f); unprompted: %d x 1, %d x 3, %d others (TV %.3f)", one, three, other, p, u1, u3, uo, u)
	legal := float64(one + three)
	chi2 := math.Pow(float64(one)-0.8*legal, 2)/(0.8*legal) + math.Pow(float64(three)-0.2*legal, 2)/(0.2*legal)
	t.Logf("chi-square of the legal draws against 0.8/0.2: %.2f (0.001 critical value 10.83)", chi2)
	if p > 0.1 || float64(other) > 0.03*n || p > u/5 {
		t.Errorf("prompted sampling does not follow the chain's law after the prompt: chi-square %.2f, %d illegal, TV %.3f against %.3f unprompted", chi2, other, p, u)
	}
}
