package vk_test

import (
	"math"
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

// A tiny pre-LayerNorm transformer block with the DiT's ingredients
// (embedding, LayerNorm, packed qkv with rotary embeddings, fused attention,
// GELU MLP, output head, cross-entropy, gradient clipping, AdamW), run once
// with package tensor on the CPU and once with package vk, to show a whole
// training step and a whole sampling loop on the device, with one host wait
// per step (training) or per loop (sampling).

const (
	mB, mL, mK, mD, mH, mF = 2, 6, 12, 16, 2, 32
	mN                     = mB * mL
	mEps                   = 1e-5
)

var paramShapes = []struct {
	name  string
	shape []int
}{
	{"emb", []int{mK, mD}}, {"ln1", []int{mD}}, {"wqkv", []int{3 * mD, mD}}, {"wo", []int{mD, mD}},
	{"ln2", []int{mD}}, {"w1", []int{mF, mD}}, {"b1", []int{mF}}, {"w2", []int{mD, mF}},
	{"b2", []int{mD}}, {"lnf", []int{mD}}, {"wout", []int{mK, mD}},
}

func initParams(seed uint64) map[string]*tensor.Tensor {
	r := rng(seed)
	p := map[string]*tensor.Tensor{}
	for _, s := range paramShapes {
		if len(s.shape) == 1 && s.name[0] == 'l' { // LayerNorm weights near 1
			p[s.name] = tensor.Map(randT(r, 0.1, s.shape...), func(v float32) float32 { return 1 + v })
			continue
		}
		p[s.name] = randT(r, 0.3, s.shape...)
	}
	return p
}

// cpuForward returns the logits and what the backward needs.
type cpuAct struct {
	x0, h1, m1, r1, qkvr, att, x1, h2, m2, r2, u, gu, x2, h3, m3, r3, logits *tensor.Tensor
}

func cpuForward(p map[string]*tensor.Tensor, ids []int32, rot *tensor.Rotary) *cpuAct {
	a := &cpuAct{}
	a.x0 = tensor.Embedding(p["emb"], ids)
	a.h1, a.m1, a.r1 = tensor.LayerNorm(a.x0, p["ln1"], mEps)
	qkv := tensor.Linear(a.h1, p["wqkv"], nil).Reshape(mB, mL, 3*mD)
	a.qkvr = rot.Apply(qkv, mH, false)
	att, _ := tensor.Attention(a.qkvr, mH, false)
	a.att = att.Reshape(mN, mD)
	a.x1 = tensor.Add(a.x0, tensor.Linear(a.att, p["wo"], nil))
	a.h2, a.m2, a.r2 = tensor.LayerNorm(a.x1, p["ln2"], mEps)
	a.u = tensor.Linear(a.h2, p["w1"], p["b1"])
	a.gu = tensor.GELU(a.u)
	a.x2 = tensor.Add(a.x1, tensor.Linear(a.gu, p["w2"], p["b2"]))
	a.h3, a.m3, a.r3 = tensor.LayerNorm(a.x2, p["lnf"], mEps)
	a.logits = tensor.Linear(a.h3, p["wout"], nil)
	return a
}

func cpuTrainStep(p, m, v map[string]*tensor.Tensor, ids, targets []int32, rot *tensor.Rotary, step int) float64 {
	a := cpuForward(p, ids, rot)
	loss, count := tensor.CrossEntropy(a.logits, targets)
	g := map[string]*tensor.Tensor{}
	for _, s := range paramShapes {
		g[s.name] = tensor.New(s.shape...)
	}
	dlogits := tensor.CrossEntropyBackward(a.logits, targets, count, 1)
	dh3 := tensor.LinearBackward(dlogits, a.h3, p["wout"], g["wout"], nil, true)
	dx2 := tensor.LayerNormBackward(dh3, a.x2, p["lnf"], a.m3, a.r3, g["lnf"])
	dgu := tensor.LinearBackward(dx2, a.gu, p["w2"], g["w2"], g["b2"], true)
	du := tensor.GELUBackward(dgu, a.u)
	dh2 := tensor.LinearBackward(du, a.h2, p["w1"], g["w1"], g["b1"], true)
	dx1 := tensor.Add(dx2, tensor.LayerNormBackward(dh2, a.x1, p["ln2"], a.m2, a.r2, g["ln2"]))
	datt := tensor.LinearBackward(dx1, a.att, p["wo"], g["wo"], nil, true)
	att, lse := tensor.Attention(a.qkvr, mH, false)
	dqkvr := tensor.AttentionBackward(datt.Reshape(mB, mL, mD), a.qkvr, att, lse, nil, mH, false)
	dqkv := rot.Apply(dqkvr, mH, true).Reshape(mN, 3*mD)
	dh1 := tensor.LinearBackward(dqkv, a.h1, p["wqkv"], g["wqkv"], nil, true)
	dx0 := tensor.Add(dx1, tensor.LayerNormBackward(dh1, a.x0, p["ln1"], a.m1, a.r1, g["ln1"]))
	tensor.EmbeddingBackward(dx0, ids, g["emb"])

	// nn.ClipGradNorm(1), then nn.AdamW.Step.
	var ss float64
	for _, t := range g {
		for _, x := range t.Data() {
			ss += float64(x) * float64(x)
		}
	}
	if norm := math.Sqrt(ss); norm > 1 {
		for k, t := range g {
			g[k] = tensor.Scale(t, float32(1/(norm+1e-6)))
		}
	}
	for _, s := range paramShapes {
		adamwCPU(p[s.name].Data(), g[s.name].Data(), m[s.name].Data(), v[s.name].Data(), adamParams(step))
	}
	return loss
}

func adamParams(step int) vk.AdamWParams {
	return vk.AdamWParams{LR: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: step}
}

// gpuModel holds the same model on the device.
type gpuModel struct {
	d       *vk.Device
	p, m, v map[string]*vk.Buffer
	rot     *vk.Rotary
	tmp     []*vk.Buffer // released at the end of a step
}

func newGPUModel(d *vk.Device, p map[string]*tensor.Tensor) *gpuModel {
	g := &gpuModel{d: d, p: map[string]*vk.Buffer{}, m: map[string]*vk.Buffer{}, v: map[string]*vk.Buffer{},
		rot: d.NewRotary(mL, mD/mH, 10000)}
	for _, s := range paramShapes {
		g.p[s.name] = d.NewBufferFrom(p[s.name].Data())
		g.m[s.name] = d.NewBuffer(p[s.name].Len())
		g.v[s.name] = d.NewBuffer(p[s.name].Len())
	}
	return g
}

func (g *gpuModel) buf(n int) *vk.Buffer {
	b := g.d.NewBuffer(n)
	g.tmp = append(g.tmp, b)
	return b
}

func (g *gpuModel) releaseTemps() {
	for _, b := range g.tmp {
		b.Release()
	}
	g.tmp = g.tmp[:0]
}

type gpuAct struct {
	x0, h1, m1, r1, qkvr, att, lse, x1, h2, m2, r2, u, gu, x2, h3, m3, r3, logits *vk.Buffer
}

func (g *gpuModel) forward(ids *vk.Buffer) *gpuAct {
	d, p := g.d, g.p
	a := &gpuAct{}
	a.x0 = g.buf(mN * mD)
	d.Embedding(a.x0, p["emb"], ids, mD)
	a.h1, a.m1, a.r1 = g.buf(mN*mD), g.buf(mN), g.buf(mN)
	d.LayerNorm(a.h1, a.m1, a.r1, a.x0, p["ln1"], mEps)
	qkv := g.buf(mN * 3 * mD)
	d.Linear(qkv, a.h1, p["wqkv"], nil, mD)
	a.qkvr = g.buf(mN * 3 * mD)
	d.RotaryApply(a.qkvr, qkv, g.rot, mB, mL, mH, false)
	a.att, a.lse = g.buf(mN*mD), g.buf(mB*mH*mL)
	d.Attention(a.att, a.lse, a.qkvr, mB, mL, mH, false)
	o := g.buf(mN * mD)
	d.Linear(o, a.att, p["wo"], nil, mD)
	a.x1 = g.buf(mN * mD)
	d.Add(a.x1, a.x0, o, []int{mN, mD}, []int{mN, mD})
	a.h2, a.m2, a.r2 = g.buf(mN*mD), g.buf(mN), g.buf(mN)
	d.LayerNorm(a.h2, a.m2, a.r2, a.x1, p["ln2"], mEps)
	a.u, a.gu = g.buf(mN*mF), g.buf(mN*mF)
	d.Linear(a.u, a.h2, p["w1"], p["b1"], mD)
	d.GELU(a.gu, a.u)
	f := g.buf(mN * mD)
	d.Linear(f, a.gu, p["w2"], p["b2"], mF)
	a.x2 = g.buf(mN * mD)
	d.Add(a.x2, a.x1, f, []int{mN, mD}, []int{mN, mD})
	a.h3, a.m3, a.r3 = g.buf(mN*mD), g.buf(mN), g.buf(mN)
	d.LayerNorm(a.h3, a.m3, a.r3, a.x2, p["lnf"], mEps)
	a.logits = g.buf(mN * mK)
	d.Linear(a.logits, a.h3, p["wout"], nil, mD)
	return a
}

// trainStep records a whole step; stats receives [loss, count].
func (g *gpuModel) trainStep(ids, targets, stats *vk.Buffer, step int) {
	d, p := g.d, g.p
	a := g.forward(ids)
	d.CrossEntropy(stats, a.logits, targets, mK)
	gr := map[string]*vk.Buffer{}
	for _, s := range paramShapes {
		gr[s.name] = g.buf(p[s.name].Len())
	}
	dlogits := g.buf(mN * mK)
	d.CrossEntropyBackward(dlogits, a.logits, targets, stats, mK, 1)
	dh3 := g.buf(mN * mD)
	d.LinearBackward(dh3, dlogits, a.h3, p["wout"], gr["wout"], nil, mD)
	dx2 := g.buf(mN * mD)
	d.LayerNormBackward(dx2, gr["lnf"], dh3, a.x2, p["lnf"], a.m3, a.r3)
	dgu := g.buf(mN * mF)
	d.LinearBackward(dgu, dx2, a.gu, p["w2"], gr["w2"], gr["b2"], mF)
	du := g.buf(mN * mF)
	d.GELUBackward(du, dgu, a.u)
	dh2 := g.buf(mN * mD)
	d.LinearBackward(dh2, du, a.h2, p["w1"], gr["w1"], gr["b1"], mD)
	dx1 := g.buf(mN * mD)
	d.LayerNormBackward(dx1, gr["ln2"], dh2, a.x1, p["ln2"], a.m2, a.r2)
	d.AddScaled(dx1, dx2, 1)
	datt := g.buf(mN * mD)
	d.LinearBackward(datt, dx1, a.att, p["wo"], gr["wo"], nil, mD)
	dqkv := g.buf(mN * 3 * mD)
	d.AttentionBackward(dqkv, datt, a.qkvr, a.att, a.lse, mB, mL, mH, false)
	d.RotaryApply(dqkv, dqkv, g.rot, mB, mL, mH, true)
	dh1 := g.buf(mN * mD)
	d.LinearBackward(dh1, dqkv, a.h1, p["wqkv"], gr["wqkv"], nil, mD)
	dx0 := g.buf(mN * mD)
	d.LayerNormBackward(dx0, gr["ln1"], dh1, a.x0, p["ln1"], a.m1, a.r1)
	d.AddScaled(dx0, dx1, 1)
	d.EmbeddingBackward(gr["emb"], dx0, ids, mD)

	ss := g.buf(1)
	for i, s := range paramShapes {
		d.SumSquares(ss, gr[s.name], i > 0)
	}
	for _, s := range paramShapes {
		d.ClipByNorm(gr[s.name], ss, 1)
		d.AdamW(p[s.name], gr[s.name], g.m[s.name], g.v[s.name], adamParams(step))
	}
}

func modelData(seed uint64) (ids, targets []int32) {
	r := rng(seed)
	ids, targets = make([]int32, mN), make([]int32, mN)
	for i := range ids {
		ids[i] = int32(r.IntN(mK))
		targets[i] = int32(r.IntN(mK))
		if i%5 == 0 {
			targets[i] = -1
		}
	}
	return ids, targets
}

func TestTrainingStep(t *testing.T) { both(t, testTrainingStep) }

func testTrainingStep(t *testing.T, d *vk.Device) {
	cpu := initParams(21)
	gpu := newGPUModel(d, cpu)
	m, v := map[string]*tensor.Tensor{}, map[string]*tensor.Tensor{}
	for _, s := range paramShapes {
		m[s.name], v[s.name] = tensor.New(s.shape...), tensor.New(s.shape...)
	}
	rot := tensor.NewRotary(mL, mD/mH, 10000)
	ids, targets := d.NewBuffer(mN), d.NewBuffer(mN)
	stats := d.NewBuffer(2)
	for step := 1; step <= 3; step++ {
		hi, ht := modelData(uint64(100 + step))
		want := cpuTrainStep(cpu, m, v, hi, ht, rot, step)
		before := d.Stats()
		ids.UploadInt32(hi)
		targets.UploadInt32(ht)
		gpu.trainStep(ids, targets, stats, step)
		loss := stats.Item() // the step's only host wait
		after := d.Stats()
		gpu.releaseTemps()
		if math.Abs(float64(loss)-want) > 1e-5*(1+want) {
			t.Errorf("step %d: loss %g, want %g", step, loss, want)
		}
		if w, s := after.Waits-before.Waits, after.Submits-before.Submits; w != 1 || s != 1 {
			t.Errorf("step %d: %d waits and %d submits, want 1 and 1", step, w, s)
		}
		if step > 1 && after.Allocs != before.Allocs {
			t.Errorf("step %d: %d new device allocations; the pool should serve them", step, after.Allocs-before.Allocs)
		}
		t.Logf("step %d: loss %.6f (cpu %.6f), %d dispatches, %d barriers", step, loss, want,
			after.Dispatches-before.Dispatches, after.Barriers-before.Barriers)
	}
	for _, s := range paramShapes {
		near(t, "param "+s.name, gpu.p[s.name].Download(), cpu[s.name].Data(), 2e-5, 1e-4)
	}
}

func TestSamplingLoop(t *testing.T) { both(t, testSamplingLoop) }

func testSamplingLoop(t *testing.T, d *vk.Device) {
	cpu := initParams(22)
	gpu := newGPUModel(d, cpu)
	rot := tensor.NewRotary(mL, mD/mH, 10000)
	ids := make([]int32, mN)
	for i := range ids {
		ids[i] = mK - 1 // all "mask"
	}
	gids := d.NewBufferInt32(ids)
	noise := d.NewBuffer(mN * mK)
	z := d.NewBuffer(mN * mK)
	hostRNG := tensor.NewRNG(5)
	before := d.Stats()
	const steps = 4
	for s := 0; s < steps; s++ {
		// The noise comes from the engine's host RNG (as the CPU sampler's),
		// uploaded in order with the recorded work: no wait.
		gum := tensor.New(mN, mK)
		hostRNG.Gumbel(gum)
		a := cpuForward(cpu, ids, rot)
		ids = tensor.Argmax(tensor.Add(a.logits, gum))

		ga := gpu.forward(gids)
		noise.Upload(gum.Data())
		d.Add(z, ga.logits, noise, []int{mN, mK}, []int{mN, mK})
		d.Argmax(gids, z, mK)
	}
	got := gids.DownloadInt32() // the loop's only host wait
	after := d.Stats()
	gpu.releaseTemps()
	for i := range ids {
		if got[i] != ids[i] {
			t.Fatalf("sampled ids differ: got %v, want %v", got, ids)
		}
	}
	if w := after.Waits - before.Waits; w != 1 {
		t.Errorf("%d host waits in a %d-step sampling loop, want 1", w, steps)
	}
	t.Logf("%d steps: %d dispatches, %d submits, %d waits", steps, after.Dispatches-before.Dispatches,
		after.Submits-before.Submits, after.Waits-before.Waits)
}
