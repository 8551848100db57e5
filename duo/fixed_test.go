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
// draws the token after the prompt by the chain's law (1 with probability
// 0.8, 3 with 0.2).
//
// Clamping alone (ancestral steps) comes close: a total variation under a
// third of the unprompted one (0.07 to 0.15 against 0.72, by seed and by
// the CPU path the teacher was trained on). It is not exact: the network
// sees the prompt as tokens noised at level t, so
// early in sampling it leaves some belief on the prompt's last token being
// the other successor of 7 (2, whose successors are 3 and 5), and the draw
// leans to 3 (about 0.75/0.25, a chi-square of 4 to 25). A Psi corrector
// (max-capped-0.1 throughout, 64 steps: each step renoises a little of
// what is drawn and draws it again, at times where the network trusts the
// prompt) removes the lean: Pearson's chi-square of its legal draws
// against 0.8/0.2 stays under the 0.001 critical value 10.83 (0.0 to 6.1
// over four seeds on both the AVX-512 and the AVX2 path when this test was
// written), with under 3% illegal draws.
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
	count := func(f []int32, steps int, psi *Psi) (one, three, other int) {
		out, err := Sample(model, SampleConfig{Steps: steps, Sampler: SamplerAncestral, TopP: 1, Batch: n, Length: L, Seed: 9, Fixed: f, Psi: psi})
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
	chi2 := func(one, three int) float64 { // Pearson, legal draws against 0.8/0.2, one degree of freedom
		legal := float64(one + three)
		return math.Pow(float64(one)-0.8*legal, 2)/(0.8*legal) + math.Pow(float64(three)-0.2*legal, 2)/(0.2*legal)
	}
	one, three, other := count(fixed, 64, nil)
	u1, u3, uo := count(nil, 64, nil)
	p, u := tv(one, three, other), tv(u1, u3, uo)
	t.Logf("ancestral, after the prompt 5 6 7 0: %d x 1, %d x 3, %d others (TV %.3f, chi-square %.2f); unprompted: %d x 1, %d x 3, %d others (TV %.3f)", one, three, other, p, chi2(one, three), u1, u3, uo, u)
	if p > u/3 {
		t.Errorf("prompted ancestral sampling is far from the chain's law after the prompt: %d illegal, TV %.3f against %.3f unprompted", other, p, u)
	}
	mc := KappaMode{Name: KappaMaxCapped, Eta: 0.1}
	c1, c3, co := count(fixed, 64, &Psi{Profile: "linear", High: mc, Middle: mc, Low: mc})
	c := chi2(c1, c3)
	t.Logf("psi %s, after the prompt: %d x 1, %d x 3, %d others (TV %.3f, chi-square %.2f; 0.001 critical value 10.83)", mc, c1, c3, co, tv(c1, c3, co), c)
	if c > 10.83 || float64(co) > 0.03*n {
		t.Errorf("prompted psi sampling does not follow the chain's law after the prompt: chi-square %.2f (critical 10.83), %d illegal", c, co)
	}
}
