package vk_test

import (
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

// The tests of this file run package tensor's operations, and whole
// training steps and sampling loops of packages nn and duo, once on the CPU
// and once with the Vulkan backend plugged under package tensor, and
// compare.

// onDevice runs f with the tensor backend of d set, and restores the CPU.
func onDevice(t testing.TB, d *vk.Device, f func()) {
	t.Helper()
	tensor.SetBackend(vk.NewTensorBackend(d))
	defer tensor.SetBackend(nil)
	f()
}

// vals returns a tensor's values on the host (read-only access).
func vals(x *tensor.Tensor) []float32 { return append([]float32(nil), x.Host()...) }

// smallDiT is a DiT small enough for lavapipe on two cores, with every
// ingredient of the reference one: adaLN, rotary attention, GELU MLP,
// dropout.
func smallTrainConfig(objective string) duo.TrainConfig {
	m := nn.Config{Vocab: 29, Length: 12, Hidden: 32, Cond: 16, Blocks: 2, Heads: 2, MLPRatio: 2, Dropout: 0.1,
		Causal: objective == duo.ObjectiveAR}
	cfg := duo.DefaultTrainConfig(m, 4)
	cfg.Objective = objective
	cfg.Batch, cfg.Warmup, cfg.LR, cfg.EMADecay = 4, 0, 3e-3, 0.9
	cfg.CurriculumSteps = 0
	if objective == duo.ObjectiveDuo {
		cfg.CurriculumSteps = 2 // two curriculum (soft input) steps, two discrete ones
	}
	return cfg
}

func tokenStream(n, vocab int) []int32 {
	r := rng(9)
	s := make([]int32, n)
	for i := range s {
		s[i] = int32((i*7 + r.IntN(3)) % vocab) // some structure to learn
	}
	return s
}

// trainSteps runs the trainer's steps and returns their records and the
// device's counters per step (zero on the CPU).
func trainSteps(t *testing.T, cfg duo.TrainConfig, d *vk.Device) (*duo.Trainer, []duo.Record, []vk.Stats) {
	stream := tokenStream(2000, cfg.Model.Vocab)
	tr, err := duo.NewTrainer(cfg, stream, stream)
	if err != nil {
		t.Fatal(err)
	}
	var recs []duo.Record
	var per []vk.Stats
	for i := 0; i < cfg.Steps; i++ {
		var before vk.Stats
		if d != nil {
			before = d.Stats()
		}
		rec, err := tr.TrainStep()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
		if d != nil {
			after := d.Stats()
			per = append(per, vk.Stats{Dispatches: after.Dispatches - before.Dispatches,
				Waits: after.Waits - before.Waits, Submits: after.Submits - before.Submits,
				Allocs: after.Allocs - before.Allocs})
		}
	}
	return tr, recs, per
}

// Training steps of the DiT (curriculum and discrete Duo losses, dropout,
// clipping, AdamW, EMA) on the device give the CPU's losses, gradient norms
// and parameters.
//
// Tolerance: the device sums in float32 in other orders (and its exp, tanh
// and sqrt differ by an ulp or two), so one forward pass agrees to a
// relative 1e-6 or so, and each step feeds these differences into the next
// through the parameters. AdamW normalises every update to about lr = 3e-3
// per coordinate, so a gradient's relative error e moves a parameter by
// about e * lr: the parameters stay within 1e-6 or so absolute, the losses
// within 1e-7 relative (observed on lavapipe, logged). The bounds, a
// relative 2e-5 on the losses and 2e-5 + 2e-4 |p| on the parameters, leave
// a margin of some 100 for devices that sum in other orders or fuse
// multiply-adds, while a wrong kernel (a missing term, a stale copy, a
// wrong index) shows at 1e-3 or more. The one exception to AdamW's
// damping is a gradient that is exactly zero on the CPU but rounding noise
// on the device (or the reverse): Adam's update is then lr times a random
// sign. The zero-initialised output layer makes that happen when a token's
// count among the B*L targets is exactly B*L/K, so the vocabulary (29) does
// not divide B*L (48).
func TestBackendTrainingDiT(t *testing.T) { both(t, testBackendTrainingDiT) }

func testBackendTrainingDiT(t *testing.T, d *vk.Device) {
	for _, objective := range []string{duo.ObjectiveDuo, duo.ObjectiveAR} {
		t.Run(objective, func(t *testing.T) {
			cfg := smallTrainConfig(objective)
			cpu, want, _ := trainSteps(t, cfg, nil)
			var dev *duo.Trainer
			var got []duo.Record
			var per []vk.Stats
			onDevice(t, d, func() { dev, got, per = trainSteps(t, cfg, d) })
			var worstLoss, worstParam float64
			for i := range want {
				w, g := want[i], got[i]
				worstLoss = max(worstLoss, math.Abs(g.Loss-w.Loss)/math.Abs(w.Loss))
				if math.Abs(g.Loss-w.Loss) > 2e-5*math.Abs(w.Loss) || math.IsNaN(g.Loss) {
					t.Errorf("step %d: loss %.7f on the device, %.7f on the CPU", w.Step, g.Loss, w.Loss)
				}
				if math.Abs(g.GradNorm-w.GradNorm) > 1e-4*w.GradNorm {
					t.Errorf("step %d: grad norm %.7f on the device, %.7f on the CPU", w.Step, g.GradNorm, w.GradNorm)
				}
				// One wait, when the loss is read at the end of the step
				// (computed on the device for both objectives, duo's by
				// tensor.USDMLossMean); the gradient norm is ready by
				// then. Through staging buffers (the fallback
				// configuration, as on a discrete GPU) reading the norm
				// records a copy of its own: a second, short wait. (A step
				// of more than 1024 commands would be submitted in parts,
				// and a fourth part waits for the first: these steps have
				// some 400.)
				maxWaits := 1
				if !d.Info().HostVisible {
					maxWaits = 2
				}
				s := per[i]
				if s.Dispatches < 150 { // forward, backward and optimiser: some 200-400 kernels
					t.Errorf("step %d: only %d kernels ran on the device", w.Step, s.Dispatches)
				}
				if s.Waits > maxWaits {
					t.Errorf("step %d: %d host waits, want at most %d", w.Step, s.Waits, maxWaits)
				}
				if i > 0 && s.Allocs > 0 {
					t.Logf("step %d: %d new device allocations", w.Step, s.Allocs)
				}
				t.Logf("step %d: loss %.6f (cpu %.6f), grad norm %.5f (cpu %.5f); %d dispatches, %d submits, %d waits",
					w.Step, g.Loss, w.Loss, g.GradNorm, w.GradNorm, s.Dispatches, s.Submits, s.Waits)
			}
			for i, p := range cpu.Params {
				gv, wv := vals(dev.Params[i].Value), vals(p.Value)
				near(t, "param "+p.Name, gv, wv, 2e-5, 2e-4)
				near(t, "ema "+p.Name, vals(dev.EMA.Shadow[i]), vals(cpu.EMA.Shadow[i]), 2e-5, 2e-4)
				for j := range gv {
					worstParam = max(worstParam, math.Abs(float64(gv[j]-wv[j])))
				}
			}
			t.Logf("largest differences: loss %.2g relative, parameters %.2g absolute", worstLoss, worstParam)
		})
	}
}

// Ancestral sampling on the device draws the same tokens as on the CPU for
// a fixed seed: the posterior draws use the same host random streams, and
// the device's probabilities differ from the CPU's by a relative 1e-6 or
// so, which changes a draw only at a near-tie (vanishingly rare at these
// sizes; the test would report it). The model is first trained a few steps
// so that its output layer is not zero.
func TestBackendSampling(t *testing.T) { both(t, testBackendSampling) }

func testBackendSampling(t *testing.T, d *vk.Device) {
	cfg := smallTrainConfig(duo.ObjectiveUDLM)
	cfg.Model.Dropout = 0
	cpu, _, _ := trainSteps(t, cfg, nil)
	scfg := duo.SampleConfig{Steps: 4, Sampler: duo.SamplerAncestral, TopP: 1, Batch: 3, Length: cfg.Model.Length, Seed: 5}
	want, err := duo.Sample(cpu.Model, scfg)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]int32
	var before, after vk.Stats
	onDevice(t, d, func() {
		before = d.Stats()
		if got, err = duo.Sample(cpu.Model, scfg); err != nil {
			t.Fatal(err)
		}
		after = d.Stats()
	})
	same, total := 0, 0
	for b := range want {
		for i := range want[b] {
			if id := got[b][i]; id < 0 || int(id) >= cfg.Model.Vocab {
				t.Fatalf("sample %d position %d: token %d outside the vocabulary", b, i, id)
			}
			if got[b][i] == want[b][i] {
				same++
			}
			total++
		}
	}
	if same != total {
		t.Errorf("%d of %d sampled tokens differ from the CPU's\ndevice %v\ncpu    %v", total-same, total, got, want)
	}
	// One network call per step plus the final one, each read back once.
	if n := after.Dispatches - before.Dispatches; n < 50*(scfg.Steps+1) {
		t.Errorf("only %d kernels ran on the device for %d network calls", n, scfg.Steps+1)
	}
	if w := after.Waits - before.Waits; w > scfg.Steps+1 {
		t.Errorf("%d host waits for %d network calls", w, scfg.Steps+1)
	}
	t.Logf("%d steps: %d dispatches, %d waits", scfg.Steps+1, after.Dispatches-before.Dispatches, after.Waits-before.Waits)
}

// A device tensor survives a round trip through the host and back, and
// Data marks the device copy stale while Host does not.
func TestBackendCoherence(t *testing.T) { both(t, testBackendCoherence) }

func testBackendCoherence(t *testing.T, d *vk.Device) {
	onDevice(t, d, func() {
		x := tensor.From([]float32{1, 2, 3, 4}, 2, 2)
		y := tensor.Scale(x, 2) // device only
		before := d.Stats()
		if v := y.Host(); v[3] != 8 {
			t.Fatalf("device result %v", v)
		}
		if w := d.Stats().Waits - before.Waits; w != 1 {
			t.Errorf("%d waits to read a result, want 1", w)
		}
		before = d.Stats()
		z := tensor.Scale(y, 1) // the device copy is still valid: no upload needed
		_ = z.Host()
		y.Host()
		if w := d.Stats().Waits - before.Waits; w != 1 {
			t.Errorf("%d waits, want 1", w)
		}
		y.Data()[0] = 100 // host write: the next device use uploads it
		if v := tensor.Scale(y, 1).Host(); v[0] != 100 || v[3] != 8 {
			t.Errorf("after a host write the device computed %v", v)
		}
		// A view of a device tensor shares its storage.
		r := y.Reshape(4)
		tensor.AddScaled(r, tensor.Full(1, 4), 1)
		if v := y.Host(); v[0] != 101 || v[3] != 9 {
			t.Errorf("in-place update through a view gave %v", v)
		}
		// Lazy zeros become zeros on either side.
		zs := tensor.New(3)
		if v := tensor.AddScalar(zs, 1).Host(); v[0] != 1 || v[2] != 1 {
			t.Errorf("zeros on the device: %v", v)
		}
		if v := tensor.New(2).Host(); v[0] != 0 || v[1] != 0 {
			t.Errorf("zeros on the host: %v", v)
		}
		// Gradients through autograd stay on the device until read.
		tp := autograd.NewTape()
		p := autograd.Param(tensor.From([]float32{0.5, -1, 2}, 3))
		loss := tp.SumAll(tp.Mul(p, p))
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
		if g := p.Grad.Host(); g[0] != 1 || g[1] != -2 || g[2] != 4 {
			t.Errorf("gradient %v, want [1 -2 4]", g)
		}
	})
}

// Device buffers of tensors that became unreachable go back to the device
// (through cleanups run by the collector), and the collector is paced by
// device memory, so a loop that makes garbage on the device only does not
// grow without bound.
func TestBackendReleasesMemory(t *testing.T) {
	d := device(t)
	onDevice(t, d, func() {
		runtime.GC()
		before := tensor.DeviceBytes()
		x := tensor.Full(1, 1000)
		for i := 0; i < 3000; i++ { // 3000 buffers: past the collection pacing's 1024
			x = tensor.Scale(x, 1)
		}
		if v := x.Host()[999]; v != 1 {
			t.Fatalf("chain of scalings gave %v", v)
		}
		if peak := tensor.DeviceBytes() - before; peak > 2500*4000 {
			t.Errorf("%d bytes held after 3000 garbage buffers of 4000: collections are not paced", peak)
		}
		x = nil
		deadline := time.Now().Add(5 * time.Second)
		for {
			runtime.GC()
			if tensor.DeviceBytes() <= before {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d device bytes held after the tensors became unreachable, %d before", tensor.DeviceBytes(), before)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
