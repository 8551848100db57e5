package duo

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// A trajectory flips once, from the argmax of the noise to x, as gamma
// falls (t falls), and z_s = z_t when s = t.
func TestTrajectoryMonotone(t *testing.T) {
	rng := tensor.NewRNG(3)
	g := GammaSchedule{Min: -4, Max: -1}
	flips := 0
	for i := range 2000 {
		x := int32(i % 17)
		tr := DrawTrajectory(x, 17, rng)
		if tr.ArgOther == x || tr.ArgOther < 0 || tr.ArgOther >= 17 {
			t.Fatalf("argmax of the other ids %d for x = %d", tr.ArgOther, x)
		}
		prev := tr.At(g.Gamma(1))
		for k := 1000; k >= 0; k-- {
			tt := float64(k) / 1000
			z := tr.At(g.Gamma(tt))
			if z != prev {
				if prev != tr.ArgOther || z != x {
					t.Fatalf("trajectory %+v goes from %d to %d at t = %v", tr, prev, z, tt)
				}
				flips++
			}
			prev = z
		}
	}
	if flips < 100 {
		t.Errorf("only %d of 2000 trajectories flip within gamma [-4, -1]", flips)
	}
	// With delta = 0 the student's and the teacher's inputs are one.
	x := make([]int32, 4*32)
	for i := range x {
		x[i] = int32(i % 17)
	}
	zt, zs, st, ss := NewDCD(g, 0, 1).pair(Batch{Tokens: x, B: 4, RNG: rng}, 17)
	if !slices.Equal(zt, zs) || !slices.Equal(st, ss) {
		t.Errorf("delta 0: z_t %v, z_s %v, sigma %v %v", zt, zs, st, ss)
	}
}

// The three-number trajectory is the argmax of the full Gaussian latent in
// law: P(z = x) = T(gamma) + (1 - T)/K (Eqs. 10-13), at several gammas and
// vocabularies, including GPT-2's.
func TestTrajectoryMarginal(t *testing.T) {
	rng := tensor.NewRNG(5)
	const n = 200000
	for _, K := range []int{2, 50, 50258} {
		tr := TransformFor(K)
		for _, g := range []float64{-4, -3, -2.2, -1} {
			hits := 0
			for range n {
				if DrawTrajectory(0, K, rng).At(g) == 0 {
					hits++
				}
			}
			a := tr.Alpha(g)
			p := a + (1-a)/float64(K)
			se := math.Sqrt(p * (1 - p) / n)
			if got := float64(hits) / n; math.Abs(got-p) > 5*se+1e-9 {
				t.Errorf("K=%d gamma %v: P(z = x) = %.5f, want %.5f (T = %.5f, 5 se = %.5f)", K, g, got, p, a, 5*se)
			}
		}
	}
}

// The maximum of K-1 standard normals drawn by inversion matches a brute
// force draw (two-sample Kolmogorov-Smirnov).
func TestTrajectoryMaxMatchesBruteForce(t *testing.T) {
	const K, n = 64, 20000
	rng := tensor.NewRNG(9)
	a, b := make([]float64, n), make([]float64, n)
	for i := range n {
		a[i] = DrawTrajectory(0, K, rng).MaxOther
		m := math.Inf(-1)
		for range K - 1 {
			m = math.Max(m, rng.NormFloat64())
		}
		b[i] = m
	}
	if d, crit := ksDistance(a, b), ksCritical(n); d > crit {
		t.Errorf("KS distance %.4f > %.4f", d, crit)
	}
}

// ksDistance returns the two-sample Kolmogorov-Smirnov statistic of two
// samples of equal size (sorting them in place).
func ksDistance(a, b []float64) float64 {
	slices.Sort(a)
	slices.Sort(b)
	n := len(a)
	var d float64
	for i, j := 0, 0; i < n && j < n; {
		if a[i] <= b[j] {
			i++
		} else {
			j++
		}
		d = math.Max(d, math.Abs(float64(i-j))/float64(n))
	}
	return d
}

// ksCritical is the two-sample KS critical value for two samples of n at
// significance 1e-4: c sqrt(2/n), c = sqrt(-ln(alpha/2)/2) = 2.23.
func ksCritical(n int) float64 { return 2.23 * math.Sqrt(2/float64(n)) }

// The KL loss and its gradient against a float64 computation:
// KL = sum p (log p - log q), dKL/dl_j = p_j (log p_j - log q_j - KL),
// averaged over rows.
func TestKLMatchesFloat64(t *testing.T) {
	const rows, K = 6, 9
	rng := tensor.NewRNG(2)
	logits := tensor.New(rows, K)
	q := tensor.New(rows, K)
	for i := range logits.Data() {
		logits.Data()[i] = float32(3 * rng.NormFloat64())
		q.Data()[i] = float32(2 * rng.NormFloat64())
	}
	logQ := tensor.LogSoftmax(q)
	tp := autograd.NewTape()
	v := autograd.Param(logits)
	loss := KL(tp, v, logQ)
	if err := tp.Backward(loss); err != nil {
		t.Fatal(err)
	}
	var want float64
	for r := range rows {
		l := logits.Data()[r*K : (r+1)*K]
		lq := logQ.Data()[r*K : (r+1)*K]
		lp := make([]float64, K)
		tensor.LogSoftmax64(lp, l)
		var kl float64
		for j := range K {
			kl += math.Exp(lp[j]) * (lp[j] - float64(lq[j]))
		}
		want += kl / rows
		for j := range K {
			g := math.Exp(lp[j]) * (lp[j] - float64(lq[j]) - kl) / rows
			if got := float64(v.Grad.Data()[r*K+j]); math.Abs(got-g) > 2e-6 {
				t.Errorf("row %d id %d: gradient %v, float64 %v", r, j, got, g)
			}
		}
	}
	if got := float64(loss.Value.Item()); math.Abs(got-want) > 1e-5*want {
		t.Errorf("KL %v, float64 %v", got, want)
	}
}

// Distillation resumed from a checkpoint (mid-round, and at a round
// boundary) gives the uninterrupted run's losses and weights exactly; the
// teacher is refreshed every round and delta doubles.
func TestDistillResume(t *testing.T) {
	train, val := shakespeare(t)
	m := tinyConfig(ObjectiveDuo).Model
	from, err := nn.NewDiT(m, tensor.NewRNG(4))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultDistillConfig(m, 3, 2)
	cfg.Batch, cfg.LR = 4, 1e-3
	full, err := Distill(context.Background(), cfg, from, train, val, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := full.Obj.(*DCD)
	if d.DeltaAt(0) != 1.0/512 || d.DeltaAt(2) != 2.0/512 || d.DeltaAt(5) != 4.0/512 || d.round != 2 {
		t.Errorf("delta %v %v %v, round %d", d.DeltaAt(0), d.DeltaAt(2), d.DeltaAt(5), d.round)
	}
	for _, stop := range []int{3, 4} {
		dir := t.TempDir()
		part, _ := NewDistillation(cfg, from, train, val)
		for part.Step < stop {
			if _, err := part.TrainStep(); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := part.Save(dir, 0); err != nil {
			t.Fatal(err)
		}
		resumed, err := Resume(dir, train, val)
		if err != nil {
			t.Fatal(err)
		}
		if err := resumed.Run(context.Background(), RunOptions{}); err != nil {
			t.Fatal(err)
		}
		for i, r := range full.Log {
			if got := resumed.Log[i]; got.Loss != r.Loss {
				t.Errorf("stop %d, step %d: resumed loss %v, uninterrupted %v", stop, r.Step, got.Loss, r.Loss)
			}
		}
		for i, p := range full.Params {
			if !slices.Equal(p.Value.Data(), resumed.Params[i].Value.Data()) {
				t.Fatalf("stop %d: %s differs", stop, p.Name)
			}
		}
	}
	// The model to sample from is the EMA; config.json names the objective.
	dir := t.TempDir()
	if _, err := full.Save(dir, 0); err != nil {
		t.Fatal(err)
	}
	if _, info, err := LoadModel(dir); err != nil || info.Objective != ObjectiveDCD {
		t.Fatalf("LoadModel: %v, %+v", err, info)
	}
}

// chainLegal reports whether b may follow a in the test's Markov chain:
// state s goes to s+1 (probability 0.8) or s+3 (0.2), modulo 8.
func chainLegal(a, b int32) bool { return b == (a+1)%8 || b == (a+3)%8 }

// legalFractions returns, per sample, the fraction of its transitions the
// chain allows.
func legalFractions(samples [][]int32) []float64 {
	out := make([]float64, len(samples))
	for i, s := range samples {
		n := 0
		for j := 1; j < len(s); j++ {
			if chainLegal(s[j-1], s[j]) {
				n++
			}
		}
		out[i] = float64(n) / float64(len(s)-1)
	}
	return out
}

// DCD does what it is for: on a corpus whose law is known (a Markov chain
// over 8 states in which each state has two successors), a Duo teacher
// sampled in 2 steps breaks the chain far more often than with 64; the
// same teacher distilled (9 rounds, delta up to 1/2) and sampled in 2 steps
// is closer to the teacher's 64-step samples than the teacher is, by a
// margin the test requires to be 4 standard errors (per-sample fractions,
// so correlations within a sample do not inflate the evidence).
func TestDistillFewStepSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a teacher and distils it (about 30 s)")
	}
	teacher, train, val := chainTeacher(t)
	dcfg := DefaultDistillConfig(teacher.Config, 9, 150)
	dcfg.Batch, dcfg.LR = 16, 3e-4
	student, err := Distill(context.Background(), dcfg, teacher, train, val, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	student.EMA.CopyTo(student.Params)
	legal := func(m *nn.DiT, steps int) (mean, se float64) {
		out, err := Sample(m, SampleConfig{Steps: steps, Sampler: SamplerAncestral, TopP: 1, Batch: 512, Length: 16, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		return meanStdErr(legalFractions(out))
	}
	ref, _ := legal(teacher, 64)
	t2, tse := legal(teacher, 2)
	s2, sse := legal(student.Model, 2)
	t.Logf("legal transitions: teacher 64 steps %.3f; 2 steps: teacher %.3f ± %.3f, DCD student %.3f ± %.3f", ref, t2, tse, s2, sse)
	if z := (s2 - t2) / math.Hypot(tse, sse); z < 4 || math.Abs(s2-ref) >= math.Abs(t2-ref) {
		t.Errorf("the student's 2-step samples are not closer to the teacher's 64-step ones (z = %.1f)", z)
	}
}

// chainTeacher returns a Duo model of the 8-state Markov chain (state s goes
// to s+1 with probability 0.8, s+3 with 0.2), trained for 6000 steps at batch
// 32 without the curriculum (long enough for its prompted draws to pass a
// chi-square against the chain), its EMA weights in place, and its training
// and validation streams. It is trained once per test binary and shared:
// tests only read it.
func chainTeacher(t *testing.T) (*nn.DiT, []int32, []int32) {
	chain.once.Do(func() {
		rng := tensor.NewRNG(11)
		ids := make([]int32, 60000)
		for i := 1; i < len(ids); i++ {
			ids[i] = (ids[i-1] + 1) % 8
			if rng.Float64() >= 0.8 {
				ids[i] = (ids[i-1] + 3) % 8
			}
		}
		chain.train, chain.val = ids[:54000], ids[54000:]
		cfg := DefaultTrainConfig(nn.Config{Vocab: 8, Length: 16, Hidden: 64, Cond: 64, Blocks: 2, Heads: 4, MLPRatio: 4}, 6000)
		cfg.Batch, cfg.LR, cfg.Warmup, cfg.EMADecay, cfg.CurriculumSteps = 32, 2e-3, 50, 0.999, 0
		tr, err := NewTrainer(cfg, chain.train, chain.val)
		if err == nil {
			err = tr.Run(context.Background(), RunOptions{})
		}
		if err != nil {
			chain.err = err
			return
		}
		tr.EMA.CopyTo(tr.Params)
		chain.model = tr.Model
	})
	if chain.err != nil {
		t.Fatal(chain.err)
	}
	return chain.model, chain.train, chain.val
}

var chain struct {
	once       sync.Once
	model      *nn.DiT
	train, val []int32
	err        error
}

// randomTinyDiT returns a small non-causal DiT (K = 11, L = 8) whose every
// weight is uniform in [-0.5, 0.5]: no zero-initialised layer, so its
// predictions depend on the input.
func randomTinyDiT(t *testing.T) *nn.DiT {
	m, err := nn.NewDiT(nn.Config{Vocab: 11, Length: 8, Hidden: 8, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 2}, tensor.NewRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(6)
	for _, p := range m.Params() {
		rng.Uniform(p.Value, -0.5, 0.5)
	}
	return m
}
