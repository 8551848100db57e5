package duo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

func tinyConfig(objective string) TrainConfig {
	m := nn.Config{Vocab: 256, Length: 16, Hidden: 32, Cond: 16, Blocks: 1, Heads: 2, MLPRatio: 2, Dropout: 0.1, Causal: objective == ObjectiveAR}
	cfg := DefaultTrainConfig(m, 6)
	cfg.Objective = objective
	cfg.Batch, cfg.GradAccum = 4, 2
	cfg.CurriculumSteps = 3
	cfg.LR, cfg.Warmup = 1e-3, 2
	return cfg
}

func shakespeare(t *testing.T) (train, val []int32) {
	t.Helper()
	text, err := os.ReadFile("../../shared/data/tinyshakespeare.txt")
	if err != nil {
		text = []byte("To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer")
		for len(text) < 4096 {
			text = append(text, text...)
		}
	}
	ids := make([]int32, len(text))
	for i, b := range text {
		ids[i] = int32(b)
	}
	n := len(ids) * 9 / 10
	return ids[:n], ids[n:]
}

// Training interrupted by a checkpoint and resumed must produce exactly the
// losses of an uninterrupted run, across the curriculum's end.
func TestResumeMatchesUninterrupted(t *testing.T) {
	train, val := shakespeare(t)
	for _, c := range []struct {
		obj  string
		topk int
	}{{ObjectiveDuo, 0}, {ObjectiveDuo, 8}, {ObjectiveAR, 0}} {
		obj := c.obj
		t.Run(fmt.Sprintf("%s-topk%d", obj, c.topk), func(t *testing.T) {
			cfg := tinyConfig(obj)
			cfg.TopK = c.topk
			full, err := NewTrainer(cfg, train, val)
			if err != nil {
				t.Fatal(err)
			}
			for full.Step < cfg.Steps {
				if _, err := full.TrainStep(); err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			part, _ := NewTrainer(cfg, train, val)
			for part.Step < 2 {
				part.TrainStep()
			}
			if _, err := part.Save(dir, 0); err != nil {
				t.Fatal(err)
			}
			resumed, err := Resume(dir, train, val)
			if err != nil {
				t.Fatal(err)
			}
			for resumed.Step < cfg.Steps {
				if _, err := resumed.TrainStep(); err != nil {
					t.Fatal(err)
				}
			}
			for i, r := range full.Log {
				if got := resumed.Log[i]; got.Loss != r.Loss || got.GradNorm != r.GradNorm || got.Curriculum != r.Curriculum {
					t.Errorf("step %d: resumed loss %v (grad norm %v), uninterrupted %v (%v)", r.Step, got.Loss, got.GradNorm, r.Loss, r.GradNorm)
				}
			}
			if obj == ObjectiveDuo && !(full.Log[2].Curriculum && !full.Log[3].Curriculum) {
				t.Errorf("curriculum should cover steps 1-3 only: %+v", full.Log)
			}
			// The checkpoint serves inference directly.
			m, info, err := LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			if info.Objective != obj || m.NumParams() != full.Model.NumParams() {
				t.Errorf("LoadModel: objective %q, %d params", info.Objective, m.NumParams())
			}
		})
	}
}

// A corrupted newest checkpoint is passed over: Resume takes the previous
// complete one and says why. Files of another step are refused.
func TestResumeSkipsCorruptCheckpoint(t *testing.T) {
	train, val := shakespeare(t)
	cfg := tinyConfig(ObjectiveDuo)
	dir := t.TempDir()
	tr, _ := NewTrainer(cfg, train, val)
	tr.TrainStep()
	first, err := tr.Save(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(filepath.Join(first, rawFile))
	tr.TrainStep()
	second, err := tr.Save(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(second, rawFile), old, 0o644) // step 1's weights in step 2's checkpoint
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Step != 1 || ck.Dir != first || len(ck.Skipped) != 1 || !strings.Contains(ck.Skipped[0].Error(), "checksum") {
		t.Fatalf("resumed step %d from %s, skipped %v", ck.Step, ck.Dir, ck.Skipped)
	}
	// Without the manifest's protection (the earlier layout), the step
	// stamps still catch a mixture.
	if err := os.Remove(filepath.Join(second, "manifest.json")); err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(dir, trainDir)
	for _, f := range []string{rawFile, optimizerFile, stateFile} {
		os.Rename(filepath.Join(second, f), filepath.Join(legacy, f))
	}
	os.RemoveAll(first)
	os.RemoveAll(second)
	if _, err := Resume(dir, train, val); err == nil || !strings.Contains(err.Error(), "interrupted save") {
		t.Fatalf("resume of mixed steps: %v", err)
	}
	if _, err := Resume(t.TempDir(), train, val); err == nil || !strings.Contains(err.Error(), "no training checkpoint") {
		t.Fatalf("resume of an empty directory: %v", err)
	}
}

// Resuming with more steps continues the run as if it had been configured
// that long; fixed settings and another corpus are refused.
func TestResumeOptions(t *testing.T) {
	train, val := shakespeare(t)
	cfg := tinyConfig(ObjectiveDuo)
	full, _ := NewTrainer(cfg, train, val)
	if err := full.Run(context.Background(), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	short := cfg
	short.Steps = 3
	dir := t.TempDir()
	part, _ := NewTrainer(short, train, val)
	if err := part.Run(context.Background(), RunOptions{CheckpointDir: dir}); err != nil {
		t.Fatal(err)
	}
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	bad := ck.Config
	bad.Batch *= 2
	if _, err := ck.Resume(train, val, ResumeOptions{Config: &bad}); err == nil || !strings.Contains(err.Error(), "only steps") {
		t.Errorf("batch change on resume: %v", err)
	}
	if _, err := ck.Resume(val, val, ResumeOptions{}); err == nil || !strings.Contains(err.Error(), "not the one the run was trained on") {
		t.Errorf("another corpus: %v", err)
	}
	if _, err := ck.Resume(val, val, ResumeOptions{Force: true}); err != nil {
		t.Errorf("another corpus with Force: %v", err)
	}
	longer := ck.Config
	longer.Steps = 2
	if _, err := ck.Resume(train, val, ResumeOptions{Config: &longer}); err == nil {
		t.Error("steps below the checkpoint's step accepted")
	}
	longer.Steps = cfg.Steps
	resumed, err := ck.Resume(train, val, ResumeOptions{Config: &longer})
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.Run(context.Background(), RunOptions{CheckpointDir: dir}); err != nil {
		t.Fatal(err)
	}
	for i, r := range full.Log {
		if got := resumed.Log[i]; got.Loss != r.Loss {
			t.Errorf("step %d: extended run's loss %v, uninterrupted %v", r.Step, got.Loss, r.Loss)
		}
	}
	for i, p := range full.Params {
		if !slices.Equal(p.Value.Data(), resumed.Params[i].Value.Data()) {
			t.Fatalf("%s differs after the extended run", p.Name)
		}
	}
}

// A cancelled context stops Run after the step under way, with a
// checkpoint of that step.
func TestRunCancelled(t *testing.T) {
	train, val := shakespeare(t)
	cfg := tinyConfig(ObjectiveUDLM)
	cfg.CurriculumSteps = 0
	tr, _ := NewTrainer(cfg, train, val)
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	err := tr.Run(ctx, RunOptions{CheckpointDir: dir, Progress: func(p Progress) {
		if p.Step == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || tr.Step != 2 {
		t.Fatalf("Run: %v at step %d", err, tr.Step)
	}
	if ck, err := OpenCheckpoint(dir); err != nil || ck.Step != 2 {
		t.Fatalf("checkpoint: %v", err)
	}
}

// A second writer of a run directory is refused while the first holds it.
func TestLockRun(t *testing.T) {
	dir := t.TempDir()
	l, err := LockRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockRun(dir); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second LockRun: %v", err)
	}
	l.Release()
}

// A denoiser that always predicts token 7 must produce only 7s, whatever
// the final rule and the number of steps.
func TestSamplerOneTokenModel(t *testing.T) {
	cfg := nn.Config{Vocab: 11, Length: 8, Hidden: 8, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 2}
	m, err := nn.NewDiT(cfg, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	m.Output.B.Value.Data()[7] = 40 // weights are zero: logits are the bias
	for _, sampler := range []string{SamplerAncestral, SamplerGreedy} {
		for _, steps := range []int{1, 4, 32} {
			out, err := Sample(m, SampleConfig{Steps: steps, Sampler: sampler, Batch: 3, Length: 8, Seed: 2, TopP: 0.9})
			if err != nil {
				t.Fatal(err)
			}
			for _, seq := range out {
				for _, id := range seq {
					if id != 7 {
						t.Fatalf("%s, %d steps: sample %v contains %d", sampler, steps, seq, id)
					}
				}
			}
		}
	}
	// An untrained model (uniform x_theta) samples every id.
	m.Output.B.Value.Data()[7] = 0
	out, _ := Sample(m, SampleConfig{Steps: 4, Sampler: SamplerNone, Batch: 8, Length: 8, Seed: 3})
	seen := map[int32]bool{}
	for _, seq := range out {
		for _, id := range seq {
			if id < 0 || int(id) >= cfg.Vocab {
				t.Fatalf("id %d outside the vocabulary", id)
			}
			seen[id] = true
		}
	}
	if len(seen) < 8 {
		t.Errorf("uniform model produced only %d distinct ids in 64 draws", len(seen))
	}
	if _, err := Sample(m, SampleConfig{Steps: 0, Sampler: SamplerNone, Batch: 1, Length: 8}); err == nil {
		t.Error("zero steps: no error")
	}
}

// Repair starts from the noised input at the given time: from a tiny time
// the text comes back unchanged, from t = 1 nothing of it survives.
func TestSampleRepair(t *testing.T) {
	cfg := nn.Config{Vocab: 50, Length: 64, Hidden: 8, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 2}
	m, err := nn.NewDiT(cfg, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	in := make([]int32, 4*64)
	for i := range in {
		in[i] = int32(i % 50)
	}
	same := func(from float64) float64 {
		out, err := Sample(m, SampleConfig{Steps: 8, Sampler: SamplerNone, Batch: 4, Length: 64, Seed: 5, Repair: in, From: from})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for b, seq := range out {
			for i, id := range seq {
				if id == in[b*64+i] {
					n++
				}
			}
		}
		return float64(n) / float64(len(in))
	}
	if f := same(1e-4); f < 0.97 {
		t.Errorf("repair from t=1e-4 kept %.2f of the tokens, want nearly all", f)
	}
	if f := same(1); f > 0.2 {
		t.Errorf("repair from t=1 kept %.2f of the tokens, want about 1/50", f)
	}
	if _, err := Sample(m, SampleConfig{Steps: 1, Sampler: SamplerNone, Batch: 4, Length: 64, Repair: in[:3], From: 0.5}); err == nil {
		t.Error("short repair input: no error")
	}
}

// Trace sees the noise first, then every step at decreasing times down to
// 0 (the final noise removal), the last state being the samples; with the
// one-token model the share of 7s grows to 1.
func TestSampleTrace(t *testing.T) {
	cfg := nn.Config{Vocab: 11, Length: 16, Hidden: 8, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 2}
	m, err := nn.NewDiT(cfg, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	m.Output.B.Value.Data()[7] = 40
	for _, tc := range []struct {
		sampler string
		calls   int
		last    float64
	}{{SamplerAncestral, 6, 0}, {SamplerGreedy, 6, 0}, {SamplerNone, 5, 1e-5}} {
		var times, sevens []float64
		var lastZ []int32
		out, err := Sample(m, SampleConfig{Steps: 4, Sampler: tc.sampler, Batch: 2, Length: 16, Seed: 4,
			Trace: func(t float64, z []int32) {
				n := 0
				for _, id := range z {
					if id == 7 {
						n++
					}
				}
				times, sevens = append(times, t), append(sevens, float64(n)/float64(len(z)))
				lastZ = append(lastZ[:0], z...)
			}})
		if err != nil {
			t.Fatal(err)
		}
		if len(times) != tc.calls || times[0] != 1 || math.Abs(times[len(times)-1]-tc.last) > 1e-12 {
			t.Fatalf("%s: trace times %v, want %d calls from 1 down to %g", tc.sampler, times, tc.calls, tc.last)
		}
		for i := 1; i < len(times); i++ {
			if times[i] >= times[i-1] {
				t.Fatalf("%s: trace times %v not decreasing", tc.sampler, times)
			}
		}
		if sevens[0] > 0.5 || sevens[len(sevens)-1] != 1 {
			t.Errorf("%s: share of 7s along the trace %v, want noise first and all 7s at the end", tc.sampler, sevens)
		}
		if got := slices.Concat(out...); !slices.Equal(got, lastZ) {
			t.Errorf("%s: last traced state differs from the samples", tc.sampler)
		}
	}
}

// Objectives by name: their properties, and the errors for unknown names
// and for a model of the wrong kind.
func TestObjectives(t *testing.T) {
	for _, c := range []struct {
		name          string
		causal, exact bool
		span          int // for L = 8
	}{
		{ObjectiveDuo, false, false, 8},
		{ObjectiveUDLM, false, false, 8},
		{ObjectiveAR, true, true, 9},
	} {
		o, err := ObjectiveNamed(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if o.Name() != c.name || o.Causal() != c.causal || o.Exact() != c.exact || o.Span(8) != c.span {
			t.Errorf("%s: name %q causal %v exact %v span %d", c.name, o.Name(), o.Causal(), o.Exact(), o.Span(8))
		}
	}
	if _, err := ObjectiveNamed("sedd"); err == nil || !strings.Contains(err.Error(), `objective "sedd"`) {
		t.Errorf("unknown objective: %v", err)
	}
	cfg := tinyConfig(ObjectiveDuo)
	if o, _ := ObjectiveOf(cfg); !o.(Duo).InCurriculum(cfg.CurriculumSteps-1) || o.(Duo).InCurriculum(cfg.CurriculumSteps) {
		t.Errorf("Duo's curriculum should end after step %d", cfg.CurriculumSteps)
	}
	m, err := nn.NewDiT(cfg.Model, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Evaluate(m, make([]int32, 1024), EvalOptions{Objective: AR{}}); err == nil || !strings.Contains(err.Error(), "causal") {
		t.Errorf("AR evaluation of a diffusion model: %v", err)
	}
}

// The curriculum temperature's schedule (log10 tau, linear between two
// steps, constant outside them).
func TestTauSchedule(t *testing.T) {
	s := TauSchedule{Log10Start: -3, Log10End: -1, StartStep: 10, EndStep: 20}
	for _, c := range []struct {
		step int
		want float64
	}{{0, -3}, {10, -3}, {15, -2}, {20, -1}, {99, -1}} {
		if got := s.Log10(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("step %d: log10 tau %v, want %v", c.step, got, c.want)
		}
	}
	if got := (TauSchedule{Log10Start: -3, Log10End: 0}).Log10(50); got != -3 {
		t.Errorf("constant schedule: %v", got)
	}
}
