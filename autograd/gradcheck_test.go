package autograd

import (
	"fmt"
	"math"
	"testing"

	"github.com/duo-go/duo/tensor"
)

// gradCheck compares the tape's gradients of loss = sum(f(inputs) * R), R a
// fixed random tensor, with central finite differences for every element of
// every input that requires a gradient.
func gradCheck(t *testing.T, name string, inputs []*Var, f func(tp *Tape, in []*Var) *Var) {
	t.Helper()
	rng := tensor.NewRNG(99)
	var weights *tensor.Tensor
	loss := func(tp *Tape) *Var {
		y := f(tp, inputs)
		if weights == nil {
			weights = tensor.New(y.Value.Shape()...)
			rng.Normal(weights, 0, 1)
		}
		return tp.SumAll(tp.Mul(y, Const(weights)))
	}
	tp := NewTape()
	for _, in := range inputs {
		in.ZeroGrad()
	}
	l := loss(tp)
	if err := tp.Backward(l); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for k, in := range inputs {
		if !in.RequiresGrad() {
			continue
		}
		if in.Grad == nil {
			t.Fatalf("%s: input %d got no gradient", name, k)
		}
		for i := range in.Value.Len() {
			// Data marks a device copy stale: each write goes through it.
			orig := in.Value.Data()[i]
			h := float32(1e-2) * max(1, float32(math.Abs(float64(orig))))
			in.Value.Data()[i] = orig + h
			up := float64(loss(nil).Value.Item())
			in.Value.Data()[i] = orig - h
			down := float64(loss(nil).Value.Item())
			in.Value.Data()[i] = orig
			num := (up - down) / (2 * float64(h))
			got := float64(in.Grad.Data()[i])
			if d := math.Abs(num - got); d > 2e-2*math.Max(1, math.Abs(num)) {
				t.Errorf("%s: input %d element %d: analytic %.6g, numeric %.6g", name, k, i, got, num)
				return
			}
		}
	}
}

func randVar(rng *tensor.RNG, grad bool, shape ...int) *Var {
	t := tensor.New(shape...)
	rng.Normal(t, 0, 1)
	if grad {
		return Param(t)
	}
	return Const(t)
}

func TestGradients(t *testing.T) {
	rng := tensor.NewRNG(1)
	rv := func(shape ...int) *Var { return randVar(rng, true, shape...) }
	pos := func(shape ...int) *Var { // positive inputs for log and div
		v := rv(shape...)
		for i, x := range v.Value.Data() {
			v.Value.Data()[i] = 0.5 + float32(math.Abs(float64(x)))
		}
		return v
	}
	rot := tensor.NewRotary(8, 4, 10000)
	ids := []int32{3, 0, 3, 1, 4, 2}
	cases := []struct {
		name string
		in   []*Var
		f    func(tp *Tape, in []*Var) *Var
	}{
		{"matmul", []*Var{rv(3, 4), rv(4, 5)}, func(tp *Tape, in []*Var) *Var { return tp.MatMul(in[0], in[1], false, false) }},
		{"matmul A^T", []*Var{rv(4, 3), rv(4, 5)}, func(tp *Tape, in []*Var) *Var { return tp.MatMul(in[0], in[1], true, false) }},
		{"matmul B^T", []*Var{rv(3, 4), rv(5, 4)}, func(tp *Tape, in []*Var) *Var { return tp.MatMul(in[0], in[1], false, true) }},
		{"matmul A^T B^T", []*Var{rv(4, 3), rv(5, 4)}, func(tp *Tape, in []*Var) *Var { return tp.MatMul(in[0], in[1], true, true) }},
		{"matmul batched", []*Var{rv(2, 3, 4), rv(2, 4, 5)}, func(tp *Tape, in []*Var) *Var { return tp.MatMul(in[0], in[1], false, false) }},
		{"matmul batched shared", []*Var{rv(2, 3, 4), rv(4, 5)}, func(tp *Tape, in []*Var) *Var { return tp.MatMul(in[0], in[1], false, false) }},
		{"matmul batched shared A^T B^T", []*Var{rv(2, 4, 3), rv(5, 4)}, func(tp *Tape, in []*Var) *Var { return tp.MatMul(in[0], in[1], true, true) }},
		{"linear", []*Var{rv(2, 3, 4), rv(5, 4), rv(5)}, func(tp *Tape, in []*Var) *Var { return tp.Linear(in[0], in[1], in[2]) }},
		{"linear no bias", []*Var{rv(3, 4), rv(5, 4)}, func(tp *Tape, in []*Var) *Var { return tp.Linear(in[0], in[1], nil) }},
		{"add broadcast", []*Var{rv(2, 3, 4), rv(2, 1, 4)}, func(tp *Tape, in []*Var) *Var { return tp.Add(in[0], in[1]) }},
		{"add rank broadcast", []*Var{rv(2, 3, 4), rv(4)}, func(tp *Tape, in []*Var) *Var { return tp.Add(in[0], in[1]) }},
		{"add self", []*Var{rv(3, 2)}, func(tp *Tape, in []*Var) *Var { return tp.Add(in[0], in[0]) }},
		{"sub broadcast", []*Var{rv(2, 3, 4), rv(2, 3, 1)}, func(tp *Tape, in []*Var) *Var { return tp.Sub(in[0], in[1]) }},
		{"mul broadcast", []*Var{rv(2, 3, 4), rv(2, 1, 4)}, func(tp *Tape, in []*Var) *Var { return tp.Mul(in[0], in[1]) }},
		{"div broadcast", []*Var{rv(2, 3, 4), pos(1, 3, 1)}, func(tp *Tape, in []*Var) *Var { return tp.Div(in[0], in[1]) }},
		{"scale", []*Var{rv(3, 4)}, func(tp *Tape, in []*Var) *Var { return tp.Scale(in[0], -1.5) }},
		{"add scalar", []*Var{rv(3, 4)}, func(tp *Tape, in []*Var) *Var { return tp.AddScalar(in[0], 2) }},
		{"exp", []*Var{rv(3, 4)}, func(tp *Tape, in []*Var) *Var { return tp.Exp(in[0]) }},
		{"log", []*Var{pos(3, 4)}, func(tp *Tape, in []*Var) *Var { return tp.Log(in[0]) }},
		{"sigmoid", []*Var{rv(3, 4)}, func(tp *Tape, in []*Var) *Var { return tp.Sigmoid(in[0]) }},
		{"silu", []*Var{rv(3, 4)}, func(tp *Tape, in []*Var) *Var { return tp.SiLU(in[0]) }},
		{"gelu", []*Var{rv(3, 4)}, func(tp *Tape, in []*Var) *Var { return tp.GELU(in[0]) }},
		{"sum axis 1", []*Var{rv(2, 3, 4)}, func(tp *Tape, in []*Var) *Var { return tp.Sum(in[0], 1, false) }},
		{"mean axis -1 keep", []*Var{rv(2, 3, 4)}, func(tp *Tape, in []*Var) *Var { return tp.Mean(in[0], -1, true) }},
		{"max axis 0", []*Var{rv(3, 4)}, func(tp *Tape, in []*Var) *Var { return tp.Max(in[0], 0, false) }},
		{"logsumexp axis 1", []*Var{rv(2, 3, 4)}, func(tp *Tape, in []*Var) *Var { return tp.LogSumExp(in[0], 1, false) }},
		{"sum all", []*Var{rv(2, 3)}, func(tp *Tape, in []*Var) *Var { return tp.SumAll(in[0]) }},
		{"mean all", []*Var{rv(2, 3)}, func(tp *Tape, in []*Var) *Var { return tp.MeanAll(in[0]) }},
		{"softmax", []*Var{rv(3, 5)}, func(tp *Tape, in []*Var) *Var { return tp.Softmax(in[0]) }},
		{"log softmax", []*Var{rv(3, 5)}, func(tp *Tape, in []*Var) *Var { return tp.LogSoftmax(in[0]) }},
		{"cross entropy", []*Var{rv(4, 5)}, func(tp *Tape, in []*Var) *Var { return tp.CrossEntropy(in[0], []int32{1, -1, 4, 0}) }},
		{"layernorm", []*Var{rv(3, 6), rv(6)}, func(tp *Tape, in []*Var) *Var { return tp.LayerNorm(in[0], in[1], 1e-5) }},
		{"embedding", []*Var{rv(5, 3)}, func(tp *Tape, in []*Var) *Var { return tp.Embedding(in[0], ids) }},
		{"embedding mix", []*Var{rv(5, 3)}, func(tp *Tape, in []*Var) *Var {
			return tp.EmbeddingMix(in[0], []int32{4, 1, 1, 0, 2, 2}, []float32{0.3, 0.7, -1.5, 0.25, 0.5, 0.5}, 3)
		}},
		{"soft embedding", []*Var{rv(2, 3, 5), rv(5, 4)}, func(tp *Tape, in []*Var) *Var { return tp.MatMul(tp.Softmax(in[0]), in[1], false, false) }},
		{"gather last", []*Var{rv(2, 3, 5)}, func(tp *Tape, in []*Var) *Var { return tp.GatherLast(in[0], ids) }},
		{"concat", []*Var{rv(2, 3), rv(2, 2)}, func(tp *Tape, in []*Var) *Var { return tp.Concat(1, in[0], in[1]) }},
		{"split", []*Var{rv(2, 6)}, func(tp *Tape, in []*Var) *Var {
			p := tp.Split(in[0], 1, 1, 2, 3)
			return tp.Concat(1, tp.Scale(p[2], 2), p[0])
		}},
		{"reshape", []*Var{rv(2, 6)}, func(tp *Tape, in []*Var) *Var { return tp.Exp(tp.Reshape(in[0], 3, 4)) }},
		{"dropout", []*Var{rv(4, 5)}, func(tp *Tape, in []*Var) *Var { return tp.Dropout(in[0], 0.3, tensor.NewRNG(7)) }},
		{"modulate", []*Var{rv(2, 3, 4), rv(2, 4), rv(2, 4)}, func(tp *Tape, in []*Var) *Var { return tp.Modulate(in[0], in[1], in[2]) }},
		{"gated add", []*Var{rv(2, 3, 4), rv(2, 3, 4), rv(2, 4)}, func(tp *Tape, in []*Var) *Var { return tp.GatedAdd(in[0], in[1], in[2]) }},
		{"rotary", []*Var{rv(2, 5, 3*2*4)}, func(tp *Tape, in []*Var) *Var { return tp.Rotary(in[0], rot, 2) }},
		{"attention", []*Var{rv(2, 5, 3*2*4)}, func(tp *Tape, in []*Var) *Var { return tp.Attention(in[0], 2, false) }},
		{"attention causal", []*Var{rv(2, 5, 3*2*4)}, func(tp *Tape, in []*Var) *Var { return tp.Attention(in[0], 2, true) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { gradCheck(t, c.name, c.in, c.f) })
	}
}

func TestNoGradRecordsNothing(t *testing.T) {
	rng := tensor.NewRNG(2)
	x, w := randVar(rng, true, 3, 4), randVar(rng, true, 5, 4)
	tp := NewTape()
	tp.SetRecording(false)
	y := tp.Linear(x, w, nil)
	if tp.Len() != 0 || y.RequiresGrad() {
		t.Fatalf("no-grad tape recorded %d ops", tp.Len())
	}
	var nilTape *Tape
	if nilTape.Linear(x, w, nil).RequiresGrad() {
		t.Fatal("nil tape produced a Var that requires grad")
	}
}

func TestGradientAccumulates(t *testing.T) {
	rng := tensor.NewRNG(3)
	x := randVar(rng, true, 4)
	for step := 1; step <= 3; step++ {
		tp := NewTape()
		if err := tp.Backward(tp.SumAll(tp.Scale(x, 2))); err != nil {
			t.Fatal(err)
		}
		for _, g := range x.Grad.Data() {
			if g != float32(2*step) {
				t.Fatalf("step %d: grad %v, want %d", step, g, 2*step)
			}
		}
	}
}

func TestBackwardErrors(t *testing.T) {
	tp := NewTape()
	x := Param(tensor.New(3))
	if err := tp.Backward(tp.Exp(x)); err == nil {
		t.Error("backward from a vector: no error")
	}
	if err := tp.Backward(Const(tensor.Scalar(1))); err == nil {
		t.Error("backward from a constant: no error")
	}
}

// Attention must agree with the unfused composition softmax(q k^T/sqrt d) v.
func TestAttentionMatchesComposition(t *testing.T) {
	rng := tensor.NewRNG(4)
	const B, L, H, d = 2, 7, 3, 4
	qkv := tensor.New(B, L, 3*H*d)
	rng.Normal(qkv, 0, 1)
	for _, causal := range []bool{false, true} {
		got, _ := tensor.Attention(qkv, H, causal)
		for b := 0; b < B; b++ {
			for h := 0; h < H; h++ {
				for i := 0; i < L; i++ {
					at := func(j, part, c int) float64 {
						return float64(qkv.Data()[(b*L+j)*3*H*d+part*H*d+h*d+c])
					}
					scores := make([]float64, L)
					m := math.Inf(-1)
					for j := 0; j < L; j++ {
						if causal && j > i {
							scores[j] = math.Inf(-1)
							continue
						}
						for c := 0; c < d; c++ {
							scores[j] += at(i, 0, c) * at(j, 1, c) / math.Sqrt(d)
						}
						m = math.Max(m, scores[j])
					}
					var z float64
					for j := range scores {
						scores[j] = math.Exp(scores[j] - m)
						z += scores[j]
					}
					for c := 0; c < d; c++ {
						var want float64
						for j := range scores {
							want += scores[j] / z * at(j, 2, c)
						}
						g := float64(got.Data()[(b*L+i)*H*d+h*d+c])
						if math.Abs(g-want) > 1e-5 {
							t.Fatalf("causal=%v b%d h%d i%d c%d: %v, want %v", causal, b, h, i, c, g, want)
						}
					}
				}
			}
		}
	}
	_ = fmt.Sprint()
}

// With SetReleaseValues, Backward recycles the intermediate values it no
// longer needs (reading one afterwards panics) but never a parameter, an
// input, a value that shares storage with another tensor, or an operation
// that returned its input; the gradients are those of a tape without it.
func TestReleaseValues(t *testing.T) {
	if tensor.OnDevice() {
		t.Skip("host buffers only: a backend's tensors are left to the garbage collector, not recycled (tensor.Recycle)")
	}
	rng := tensor.NewRNG(5)
	const n = 1 << 15 // above the pool's minimum size
	x := randVar(rng, true, 2, n/2)
	c := Const(tensor.Full(0.5, 2, n/2))
	run := func(release bool) (mid, view, same *Var, grad []float32) {
		tp := NewTape()
		tp.SetReleaseValues(release)
		mid = tp.GELU(tp.Mul(x, c))
		view = tp.Reshape(mid, n)  // shares mid's storage
		same = tp.Reshape(view, n) // a view of a view
		loss := tp.MeanAll(tp.Mul(same, same))
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
		grad = append([]float32(nil), x.Grad.Host()...)
		x.ZeroGrad()
		return mid, view, same, grad
	}
	_, _, _, want := run(false)
	mid, view, _, got := run(true)
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("grad[%d] = %g with released values, %g without", i, got[i], want[i])
		}
	}
	// mid has views: kept. x and c: a parameter and an input: kept.
	_ = mid.Value.Host()
	_ = view.Value.Host()
	_ = x.Value.Host()
	_ = c.Value.Host()

	// An unshared intermediate is released, and reading it panics.
	tp := NewTape()
	tp.SetReleaseValues(true)
	h := tp.GELU(tp.Mul(x, c))
	if err := tp.Backward(tp.MeanAll(tp.Mul(h, h))); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("reading a released value did not panic")
		}
	}()
	_ = h.Value.Host()
}
