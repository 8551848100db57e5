package tensor

import (
	"math"
	"testing"
)

func randT(rng *RNG, shape ...int) *Tensor {
	t := New(shape...)
	rng.Normal(t, 0, 1)
	return t
}

func near(t *testing.T, name string, got *Tensor, want []float64, tol float64) {
	t.Helper()
	if got.Len() != len(want) {
		t.Fatalf("%s: %d values, want %d", name, got.Len(), len(want))
	}
	for i, w := range want {
		if math.Abs(float64(got.data[i])-w) > tol*math.Max(1, math.Abs(w)) {
			t.Fatalf("%s[%d] = %v, want %v", name, i, got.data[i], w)
		}
	}
}

// MatMul in every layout, batched and with a shared right operand, against
// a float64 triple loop.
func TestMatMul(t *testing.T) {
	rng := NewRNG(1)
	for _, c := range []struct{ batch, m, n, k int }{{1, 1, 1, 1}, {1, 5, 17, 3}, {3, 7, 9, 33}, {2, 64, 65, 31}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, shared := range []bool{false, true} {
					ash := []int{c.batch, c.m, c.k}
					if ta {
						ash = []int{c.batch, c.k, c.m}
					}
					bsh := []int{c.batch, c.k, c.n}
					if tb {
						bsh = []int{c.batch, c.n, c.k}
					}
					if shared {
						bsh = bsh[1:]
					}
					a, b := randT(rng, ash...), randT(rng, bsh...)
					got := MatMul(a, b, ta, tb)
					want := make([]float64, 0, c.batch*c.m*c.n)
					for bi := 0; bi < c.batch; bi++ {
						for i := 0; i < c.m; i++ {
							for j := 0; j < c.n; j++ {
								var s float64
								for p := 0; p < c.k; p++ {
									av := a.data[bi*c.m*c.k+i*c.k+p]
									if ta {
										av = a.data[bi*c.m*c.k+p*c.m+i]
									}
									bo := bi * c.k * c.n
									if shared {
										bo = 0
									}
									bv := b.data[bo+p*c.n+j]
									if tb {
										bv = b.data[bo+j*c.k+p]
									}
									s += float64(av) * float64(bv)
								}
								want = append(want, s)
							}
						}
					}
					near(t, "matmul", got, want, 1e-4)
				}
			}
		}
	}
}

func TestReductionsAndRows(t *testing.T) {
	x := From([]float32{1, 5, 2, -1, 0, 3}, 2, 3)
	cases := []struct {
		name string
		got  *Tensor
		want []float64
	}{
		{"sum axis 0", Sum(x, 0, false), []float64{0, 5, 5}},
		{"sum axis 1", Sum(x, 1, true), []float64{8, 2}},
		{"mean axis 1", Mean(x, -1, false), []float64{8.0 / 3, 2.0 / 3}},
		{"max axis 1", Max(x, 1, false), []float64{5, 3}},
		{"max axis 0", Max(x, 0, false), []float64{1, 5, 3}},
		{"logsumexp", LogSumExp(x, 1, false), []float64{math.Log(math.E + math.Exp(5) + math.Exp(2)), math.Log(math.Exp(-1) + 1 + math.Exp(3))}},
		{"softmax", Softmax(From([]float32{0, math.Ln2}, 1, 2)), []float64{1.0 / 3, 2.0 / 3}},
		{"log softmax", LogSoftmax(From([]float32{0, math.Ln2}, 1, 2)), []float64{math.Log(1.0 / 3), math.Log(2.0 / 3)}},
		{"concat", Concat(1, x, From([]float32{9, 8}, 2, 1)), []float64{1, 5, 2, 9, -1, 0, 3, 8}},
		{"split", Split(x, 1, 1, 2)[1], []float64{5, 2, 0, 3}},
		{"gather", GatherLast(x, []int32{2, 0}), []float64{2, -1}},
		{"transpose", Transpose(x), []float64{1, -1, 5, 0, 2, 3}},
		{"broadcast add", Add(x, From([]float32{10, 20}, 2, 1)), []float64{11, 15, 12, 19, 20, 23}},
		{"broadcast mul", Mul(x, From([]float32{1, 2, 3}, 3)), []float64{1, 10, 6, -1, 0, 9}},
		{"reduce to", ReduceTo(x, []int{1, 3}), []float64{0, 5, 5}},
		{"rows view", x.Rows(1, 2), []float64{-1, 0, 3}},
		{"gelu", GELU(From([]float32{-1, 0, 2}, 3)), []float64{-0.15880800939172324, 0, 1.9545976940871754}},
	}
	for _, c := range cases {
		near(t, c.name, c.got, c.want, 1e-6)
	}
	if a := Argmax(x); a[0] != 1 || a[1] != 2 {
		t.Errorf("argmax %v", a)
	}
	if l, n := CrossEntropy(From([]float32{0, math.Ln2, 0, 0}, 2, 2), []int32{1, -1}); n != 1 || math.Abs(l-math.Log(1.5)) > 1e-6 {
		t.Errorf("cross entropy %v over %d rows", l, n)
	}
}

func TestLayerNormAndRotary(t *testing.T) {
	x := From([]float32{1, 2, 3, 4}, 1, 4)
	y, _, _ := LayerNorm(x, From([]float32{1, 1, 2, 1}, 4), 0)
	s := math.Sqrt(1.25)
	near(t, "layernorm", y, []float64{-1.5 / s, -0.5 / s, 2 * 0.5 / s, 1.5 / s}, 1e-6)

	// One head of size 2 at position 1 rotates (q0, q1) by angle 1; v is untouched.
	r := NewRotary(2, 2, 10000)
	qkv := From([]float32{1, 0, 1, 0, 7, 8, 0, 1, 0, 1, 7, 8}, 1, 2, 6)
	out := r.Apply(qkv, 1, false)
	c, sn := math.Cos(1), math.Sin(1)
	near(t, "rotary", out, []float64{1, 0, 1, 0, 7, 8, -sn, c, -sn, c, 7, 8}, 1e-6)
	back := r.Apply(out, 1, true)
	near(t, "rotary inverse", back, []float64{1, 0, 1, 0, 7, 8, 0, 1, 0, 1, 7, 8}, 1e-6)
}

func TestRNGStateRoundTrip(t *testing.T) {
	g := NewRNG(3)
	g.Float64()
	st := g.State()
	a := randT(g, 5)
	if err := g.SetState(st); err != nil {
		t.Fatal(err)
	}
	b := randT(g, 5)
	for i := range a.data {
		if a.data[i] != b.data[i] {
			t.Fatal("restored RNG draws differ")
		}
	}
	if err := g.SetState([]byte("junk")); err == nil {
		t.Error("bad RNG state accepted")
	}
}
