package tensor

import (
	"math/rand"
	"testing"
)

// Benchmarks of the CPU row and elementwise kernels on training-step sizes
// (B=16, L=128, D=256); each reports ns per element of its main operand.
// Run with DUO_THREADS=1 for single-thread numbers.

func benchRand(n int) []float32 {
	rng := rand.New(rand.NewSource(1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func benchTensor(shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return From(benchRand(n), shape...)
}

func perElem(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
}

func BenchmarkKernelGELU(b *testing.B) {
	x := benchTensor(16*128, 1024)
	for b.Loop() {
		GELU(x)
	}
	perElem(b, x.Len())
}

func BenchmarkKernelGELUBackward(b *testing.B) {
	g, x := benchTensor(16*128, 1024), benchTensor(16*128, 1024)
	for b.Loop() {
		GELUBackward(g, x)
	}
	perElem(b, x.Len())
}

func BenchmarkKernelAdamW(b *testing.B) {
	const n = 1 << 20
	w, g, m, v := benchTensor(n), benchTensor(n), New(n), New(n)
	p := AdamWParams{LR: 1e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: 1}
	for b.Loop() {
		AdamWStep(w, g, m, v, p)
	}
	perElem(b, n)
}

func BenchmarkKernelSoftmax(b *testing.B) {
	x := benchTensor(16*128, 128)
	for b.Loop() {
		Softmax(x)
	}
	perElem(b, x.Len())
}

func BenchmarkKernelSoftmaxBackward(b *testing.B) {
	g, y := benchTensor(16*128, 128), Softmax(benchTensor(16*128, 128))
	for b.Loop() {
		SoftmaxBackward(g, y)
	}
	perElem(b, y.Len())
}

func BenchmarkKernelCrossEntropy(b *testing.B) {
	x := benchTensor(16*128, 256)
	t := make([]int32, 16*128)
	for i := range t {
		t[i] = int32(i % 256)
	}
	for b.Loop() {
		CrossEntropy(x, t)
	}
	perElem(b, x.Len())
}

func BenchmarkKernelLayerNorm(b *testing.B) {
	x, w := benchTensor(16*128, 256), benchTensor(256)
	for b.Loop() {
		LayerNorm(x, w, 1e-6)
	}
	perElem(b, x.Len())
}

func BenchmarkKernelLayerNormBackward(b *testing.B) {
	x, w, g, dw := benchTensor(16*128, 256), benchTensor(256), benchTensor(16*128, 256), New(256)
	_, mean, rstd := LayerNorm(x, w, 1e-6)
	for b.Loop() {
		LayerNormBackward(g, x, w, mean, rstd, dw)
	}
	perElem(b, x.Len())
}

func BenchmarkKernelRotary(b *testing.B) {
	r := NewRotary(128, 64, 10000)
	qkv := benchTensor(16, 128, 3*256)
	for b.Loop() {
		r.Apply(qkv, 4, false)
	}
	perElem(b, qkv.Len())
}

func BenchmarkKernelModulate(b *testing.B) {
	x, sh, sc := benchTensor(16, 128, 256), benchTensor(16, 256), benchTensor(16, 256)
	for b.Loop() {
		Modulate(x, sh, sc)
	}
	perElem(b, x.Len())
}

func BenchmarkKernelModulateBackward(b *testing.B) {
	g, x, sc := benchTensor(16, 128, 256), benchTensor(16, 128, 256), benchTensor(16, 256)
	for b.Loop() {
		ModulateBackward(g, x, sc)
	}
	perElem(b, x.Len())
}

func BenchmarkKernelGatedAdd(b *testing.B) {
	h, y, gt := benchTensor(16, 128, 256), benchTensor(16, 128, 256), benchTensor(16, 256)
	for b.Loop() {
		GatedAdd(h, y, gt)
	}
	perElem(b, h.Len())
}

func BenchmarkKernelGatedAddBackward(b *testing.B) {
	g, y, gt := benchTensor(16, 128, 256), benchTensor(16, 128, 256), benchTensor(16, 256)
	for b.Loop() {
		GatedAddBackward(g, y, gt)
	}
	perElem(b, y.Len())
}

func BenchmarkKernelAttention(b *testing.B) {
	qkv := benchTensor(4, 128, 3*256)
	for b.Loop() {
		Attention(qkv, 4, true)
	}
	perElem(b, 4*4*128*128)
}

func BenchmarkKernelAttentionBackward(b *testing.B) {
	qkv, g := benchTensor(4, 128, 3*256), benchTensor(4, 128, 256)
	out, lse := Attention(qkv, 4, true)
	for b.Loop() {
		AttentionBackward(g, qkv, out, lse, nil, 4, true)
	}
	perElem(b, 4*4*128*128)
}

// BenchmarkVec times the primitives of vec.go on 4096 cached elements with
// the Go loops ("go") and the AVX2/FMA kernels ("avx2").
func BenchmarkVec(b *testing.B) {
	const n = 4096
	x, y, z, o := benchRand(n), benchRand(n), benchRand(n), make([]float32, n)
	v := make([]float32, n)
	k := &adamConsts{decay: 0.999, b1: 0.9, c1: 0.1, b2: 0.999, c2: 0.001, stepSize: 1e-3, rbc2: 1.2, eps: 1e-8}
	h := n / 2
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"exp", func() { expVec(o, x) }},
		{"expShiftSum", func() { expShiftSum(o, x, 1) }},
		{"gelu", func() { geluVec(o, x) }},
		{"geluBackward", func() { geluBackwardVec(o, y, x) }},
		{"adamw", func() { adamwVec(z, x, o, v, k) }},
		{"max", func() { maxVec(x) }},
		{"sum", func() { sumVec(x) }},
		{"sumSqDev", func() { sumSqDevVec(x, 0.1) }},
		{"dot", func() { dotVec(x, y) }},
		{"scale", func() { scaleVec(o, x, 2) }},
		{"mul", func() { mulVec(o, x, y) }},
		{"fma", func() { fmaVec(o, x, y, z) }},
		{"axpy", func() { axpyVec(0.5, x, o) }},
		{"softmaxBack", func() { softmaxBackVec(o, x, y, 0.5, 1) }},
		{"shiftScale", func() { shiftScaleVec(o, x, 0.5, 2) }},
		{"lnBack", func() { lnBackVec(o, x, y, 1, 0.1, 0.2) }},
		{"rotary", func() { rotaryVec(o[:h], o[h:], x[:h], x[h:], y[:h], z[:h], 1) }},
	} {
		for _, asm := range []bool{false, true} {
			if asm && !haveAVX2 {
				continue
			}
			name := c.name + "/go"
			if asm {
				name = c.name + "/avx2"
			}
			b.Run(name, func(b *testing.B) {
				withAVX2(asm, func() {
					for b.Loop() {
						c.f()
					}
				})
				perElem(b, n)
			})
		}
	}
}
