// Package backendtest is the conformance suite of package tensor's
// operations: every operation that a Backend runs, forward and backward,
// on awkward shapes, against float64 references written from the
// operations' definitions. Run it with a backend (tensor.CPU(), package
// vk's), and with CoreOnly of it for the compositions that stand in for
// the fused groups; the same cases, the same tolerances.
//
// It is a test helper package (like testing/fstest): production code never
// imports it.
package backendtest

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/duo-go/duo/tensor"
)

// Case is one named check of the suite.
type Case struct {
	Name string
	Run  func(t *testing.T)
}

// Run runs every case with b as the tensor backend (nil: the CPU), and
// restores the backend that was set before.
func Run(t *testing.T, b tensor.Backend) {
	prev := tensor.CurrentBackend()
	tensor.SetBackend(b)
	defer tensor.SetBackend(prev)
	for _, c := range Cases() {
		t.Run(c.Name, c.Run)
	}
}

// CoreOnly returns be with only the core Backend methods visible: the
// optional fused groups are hidden, so every fused operation runs its
// composition of core operations (tensor's fallback.go). A backend that
// passes Run(t, CoreOnly(be)) works from its core alone.
func CoreOnly(be tensor.Backend) tensor.Backend { return coreOnly{be} }

// coreOnly embeds the Backend interface, so only its methods are promoted.
type coreOnly struct{ tensor.Backend }

// Cases returns the suite.
func Cases() []Case {
	return []Case{
		{"binary", testBinary},
		{"reduceto", testReduceTo},
		{"unary", testUnary},
		{"unarybackward", testUnaryBackward},
		{"reduce", testReduce},
		{"softmax", testSoftmax},
		{"matmul", testMatMul},
		{"linear", testLinear},
		{"layernorm", testLayerNorm},
		{"embedding", testEmbedding},
		{"gather", testGather},
		{"crossentropy", testCrossEntropy},
		{"concatsplit", testConcatSplit},
		{"rotary", testRotary},
		{"attention", testAttention},
		{"adaln", testAdaLN},
		{"optimiser", testOptimiser},
		{"usdmloss", testUSDMLoss},
		{"views", testViews},
	}
}

// shapes of the broadcasting cases: equal, a row, a column, a scalar, and
// odd sizes that leave tails in any vector width.
var binaryShapes = [][2][]int{
	{{2, 3, 7}, {2, 3, 7}},
	{{2, 3, 7}, {7}},
	{{2, 3, 7}, {2, 1, 7}},
	{{2, 1, 7}, {2, 3, 7}},
	{{2, 3, 7}, {2, 3, 1}},
	{{2, 3, 4, 5, 2}, {1, 1, 4, 5, 2}},
	{{3, 1}, {1, 5}},
	{{5, 33}, {1}},
	{{1}, {4, 9}},
}

func testBinary(t *testing.T) {
	g := newGen(1)
	ops := []struct {
		name string
		f    func(a, b *tensor.Tensor) *tensor.Tensor
		ref  func(x, y float64) float64
	}{
		{"add", tensor.Add, func(x, y float64) float64 { return x + y }},
		{"sub", tensor.Sub, func(x, y float64) float64 { return x - y }},
		{"mul", tensor.Mul, func(x, y float64) float64 { return x * y }},
		{"div", tensor.Div, func(x, y float64) float64 { return x / y }},
	}
	for _, s := range binaryShapes {
		a, ar := g.normal(1, s[0]...)
		b, br := g.positive(0.5, s[1]...)
		for _, op := range ops {
			expect(t, op.name+shapeName(s[0], s[1]), op.f(a, b), binaryRef(ar, br, op.ref), f32)
		}
	}
}

func shapeName(a, b []int) string {
	return "(" + dims(a) + "," + dims(b) + ")"
}

func dims(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, "x")
}

func testReduceTo(t *testing.T) {
	g := newGen(2)
	x, xr := g.normal(1, 2, 3, 7)
	for _, shape := range [][]int{{7}, {2, 1, 7}, {3, 1}, {1}, {2, 3, 7}} {
		expect(t, "reduceto "+dims(shape), tensor.ReduceTo(x, shape), reduceToRef(xr, shape), f32)
	}
}

func testUnary(t *testing.T) {
	g := newGen(3)
	x, xr := g.normal(2, 3, 37)
	p, pr := g.positive(0.1, 3, 37)
	s := tensor.From([]float32{0.75}, 1)
	for _, c := range []struct {
		name string
		got  *tensor.Tensor
		want data
	}{
		{"scale", tensor.Scale(x, 3), mapRef(xr, func(v float64) float64 { return 3 * v })},
		{"addscalar", tensor.AddScalar(x, -2), mapRef(xr, func(v float64) float64 { return v - 2 })},
		{"scaleby", tensor.ScaleBy(x, s, 0.5), mapRef(xr, func(v float64) float64 { return float64(float32(0.375)) * v })},
		{"exp", tensor.Exp(x), mapRef(xr, math.Exp)},
		{"log", tensor.Log(p), mapRef(pr, math.Log)},
		{"sigmoid", tensor.Sigmoid(x), mapRef(xr, sigmoid)},
		{"silu", tensor.SiLU(x), mapRef(xr, func(v float64) float64 { return v * sigmoid(v) })},
		{"gelu", tensor.GELU(x), mapRef(xr, gelu)},
	} {
		expect(t, c.name, c.got, c.want, f32)
	}
}

func testUnaryBackward(t *testing.T) {
	g := newGen(4)
	x, xr := g.normal(2, 3, 37)
	up, upr := g.normal(1, 3, 37)
	silu := func(v float64) float64 { return v * sigmoid(v) }
	y := tensor.Sigmoid(x)
	want := func(f func(float64) float64) data {
		return binaryRef(upr, xr, func(gv, xv float64) float64 { return gv * derivative(f, xv) })
	}
	expect(t, "silu backward", tensor.SiLUBackward(up, x), want(silu), f32)
	expect(t, "gelu backward", tensor.GELUBackward(up, x), want(gelu), f32)
	expect(t, "sigmoid backward", tensor.SigmoidBackward(up, y), want(sigmoid), f32)
}

func testReduce(t *testing.T) {
	g := newGen(5)
	for _, shape := range [][]int{{2, 5, 19}, {2, 1000}, {600, 3}} {
		testReduceShape(t, g, shape)
	}
	// SumAll of a result (on the device when there is one) and of an input,
	// short and long enough for several passes.
	for _, n := range []int{1, 255, 1000, 100000} {
		x, xr := g.normal(1, n)
		for i, in := range []*tensor.Tensor{tensor.Scale(x, 1), x} {
			if got, want := tensor.SumAll(in), sum(xr.v); math.Abs(got-want) > 1e-5*(1+math.Abs(want))+1e-6*float64(n) {
				t.Errorf("sumall n%d (%d): %g, want %g", n, i, got, want)
			}
		}
	}
}

func testReduceShape(t *testing.T, g *gen, shape []int) {
	x, xr := g.normal(1, shape...)
	for axis := range shape {
		for _, keep := range []bool{false, true} {
			n := dims(shape) + " axis" + strconv.Itoa(axis)
			if keep {
				n += " keep"
			}
			expect(t, "sum "+n, tensor.Sum(x, axis, keep), reduceRef(xr, axis, keep, sum), f32)
			expect(t, "mean "+n, tensor.Mean(x, axis, keep), reduceRef(xr, axis, keep, func(v []float64) float64 { return sum(v) / float64(len(v)) }), f32)
			expect(t, "max "+n, tensor.Max(x, axis, keep), reduceRef(xr, axis, keep, maxOf), f32)
			expect(t, "logsumexp "+n, tensor.LogSumExp(x, axis, keep), reduceRef(xr, axis, keep, logSumExp), f32)
		}
		// Backward of Max: g to the first maximum of each lane; of Sum and
		// Mean: g broadcast back, times a scale.
		up, upr := g.normal(1, reduceRef(xr, axis, false, sum).shape...)
		want := data{make([]float64, len(xr.v)), xr.shape}
		k := 0
		lanes(xr.shape, axis, func(lane []int) {
			best := lane[0]
			for _, i := range lane {
				if xr.v[i] > xr.v[best] {
					best = i
				}
			}
			want.v[best] = upr.v[k]
			k++
		})
		expect(t, "maxbackward axis"+strconv.Itoa(axis), tensor.MaxBackward(up, x, axis), want, f32)
		exp := data{make([]float64, len(xr.v)), xr.shape}
		k = 0
		lanes(xr.shape, axis, func(lane []int) {
			for _, i := range lane {
				exp.v[i] = 0.5 * upr.v[k]
			}
			k++
		})
		expect(t, "expandaxis axis"+strconv.Itoa(axis), tensor.ExpandAxis(up, x, axis, 0.5), exp, f32)
	}
}

func testSoftmax(t *testing.T) {
	g := newGen(6)
	for _, n := range []int{1, 7, 64, 257, 1000} {
		x, xr := g.normal(3, 3, n)
		up, upr := g.normal(1, 3, n)
		sm := rowsRef(xr, softmaxRow)
		lsm := rowsRef(xr, logSoftmaxRow)
		expect(t, "softmax n"+strconv.Itoa(n), tensor.Softmax(x), sm, f32)
		expect(t, "logsoftmax n"+strconv.Itoa(n), tensor.LogSoftmax(x), lsm, f32)
		fs := func(v []float64) []float64 { return rowsRef(data{v, xr.shape}, softmaxRow).v }
		fl := func(v []float64) []float64 { return rowsRef(data{v, xr.shape}, logSoftmaxRow).v }
		expect(t, "softmax backward n"+strconv.Itoa(n), tensor.SoftmaxBackward(up, tensor.Softmax(x)), data{vjp(fs, xr.v, upr.v), xr.shape}, tol{5e-5, 5e-5})
		expect(t, "logsoftmax backward n"+strconv.Itoa(n), tensor.LogSoftmaxBackward(up, tensor.LogSoftmax(x)), data{vjp(fl, xr.v, upr.v), xr.shape}, tol{5e-5, 5e-5})
	}
}

func testMatMul(t *testing.T) {
	g := newGen(7)
	for _, c := range []struct {
		a, b           []int
		transA, transB bool
	}{
		{[]int{5, 3}, []int{3, 4}, false, false},
		{[]int{2, 3, 7}, []int{5, 7}, false, true},
		{[]int{2, 7, 3}, []int{2, 7, 5}, true, false},
		{[]int{2, 3, 7}, []int{2, 5, 3}, true, true},
		{[]int{1, 1}, []int{1, 9}, false, false},
		{[]int{33, 17}, []int{17, 65}, false, false},
		{[]int{2, 64, 32}, []int{2, 32, 68}, false, false}, // aligned: vector loads
		{[]int{2, 32, 64}, []int{2, 68, 32}, true, true},
		{[]int{3, 24, 70}, []int{24, 20}, true, false}, // a shared right operand with transA
		{[]int{130, 16}, []int{16, 66}, false, false},  // several tiles
	} {
		a, ar := g.normal(1, c.a...)
		b, br := g.normal(1, c.b...)
		name := shapeName(c.a, c.b)
		if c.transA {
			name += " tA"
		}
		if c.transB {
			name += " tB"
		}
		want := matmulRef(ar, br, c.transA, c.transB)
		expect(t, "matmul "+name, tensor.MatMul(a, b, c.transA, c.transB), want, tol{1e-5, 1e-5})
		out, or := g.normal(1, want.shape...)
		tensor.MatMulInto(out, a, b, c.transA, c.transB, 0.5)
		expect(t, "matmulinto beta 0.5 "+name, out, binaryRef(want, or, func(x, y float64) float64 { return x + 0.5*y }), tol{1e-5, 1e-5})
	}
	for _, s := range [][3]int{{2, 3, 7}, {3, 37, 45}} {
		B, R, C := s[0], s[1], s[2]
		x, xr := g.normal(1, B, R, C)
		want := data{make([]float64, B*R*C), []int{B, C, R}}
		for b := range B {
			for i := range R {
				for j := range C {
					want.v[b*R*C+j*R+i] = xr.v[b*R*C+i*C+j]
				}
			}
		}
		expect(t, "transpose "+dims(s[:]), tensor.Transpose(x), want, tol{0, 0})
	}
}

func testLinear(t *testing.T) {
	g := newGen(8)
	x, xr := g.normal(1, 2, 3, 7)
	w, wr := g.normal(0.5, 5, 7)
	bias, br := g.normal(0.5, 5)
	y := matmulRef(xr, wr, false, true)
	expect(t, "linear", tensor.Linear(x, w, nil), y, tol{1e-5, 1e-5})
	expect(t, "linear bias", tensor.Linear(x, w, bias), binaryRef(y, br, func(a, b float64) float64 { return a + b }), tol{1e-5, 1e-5})
	up, upr := g.normal(1, 2, 3, 5)
	dw, dwr := g.normal(1, 5, 7) // accumulated into
	db, dbr := g.normal(1, 5)
	dx := tensor.LinearBackward(up, x, w, dw, db, true)
	g2 := data{upr.v, []int{6, 5}}
	x2 := data{xr.v, []int{6, 7}}
	expect(t, "linear backward dx", dx, matmulRef(upr, wr, false, false), tol{1e-5, 1e-5})
	expect(t, "linear backward dw", dw, binaryRef(dwr, matmulRef(g2, x2, true, false), func(a, b float64) float64 { return a + b }), tol{1e-5, 1e-5})
	expect(t, "linear backward db", db, binaryRef(dbr, reduceRef(g2, 0, false, sum), func(a, b float64) float64 { return a + b }), tol{1e-5, 1e-5})
	if tensor.LinearBackward(up, x, w, tensor.New(5, 7), nil, false) != nil {
		t.Error("linear backward without dx returned one")
	}
}

func layerNormRef(x, w []float64, n int, eps float64) (y, mean, rstd []float64) {
	for r := 0; r < len(x); r += n {
		row := x[r : r+n]
		m := sum(row) / float64(n)
		var v float64
		for _, a := range row {
			v += (a - m) * (a - m)
		}
		rs := 1 / math.Sqrt(v/float64(n)+eps)
		for i, a := range row {
			y = append(y, (a-m)*rs*w[i])
		}
		mean, rstd = append(mean, m), append(rstd, rs)
	}
	return y, mean, rstd
}

func testLayerNorm(t *testing.T) {
	g := newGen(9)
	for _, n := range []int{1, 7, 64, 130} {
		x, xr := g.normal(2, 2, 3, n)
		w, wr := g.normal(1, n)
		y, mean, rstd := tensor.LayerNorm(x, w, 1e-5)
		yr, mr, rr := layerNormRef(xr.v, wr.v, n, 1e-5)
		tl := tol{2e-5, 2e-5}
		if n == 1 { // 1/std = 1/sqrt(eps): large and rounding-sensitive
			tl = tol{1e-4, 1e-4}
		}
		expect(t, "layernorm y n"+strconv.Itoa(n), y, data{yr, xr.shape}, tl)
		expect(t, "layernorm mean n"+strconv.Itoa(n), mean, data{mr, []int{6}}, tl)
		expect(t, "layernorm rstd n"+strconv.Itoa(n), rstd, data{rr, []int{6}}, tl)
		if n == 1 {
			continue
		}
		up, upr := g.normal(1, 2, 3, n)
		dw, dwr := g.normal(1, n)
		dx := tensor.LayerNormBackward(up, x, w, mean, rstd, dw)
		fx := func(v []float64) []float64 { y, _, _ := layerNormRef(v, wr.v, n, 1e-5); return y }
		fw := func(v []float64) []float64 { y, _, _ := layerNormRef(xr.v, v, n, 1e-5); return y }
		expect(t, "layernorm dx n"+strconv.Itoa(n), dx, data{vjp(fx, xr.v, upr.v), xr.shape}, tol{1e-4, 1e-4})
		dwWant := vjp(fw, wr.v, upr.v)
		for i := range dwWant {
			dwWant[i] += dwr.v[i]
		}
		expect(t, "layernorm dw n"+strconv.Itoa(n), dw, data{dwWant, []int{n}}, tol{1e-4, 1e-4})
	}
}

func testEmbedding(t *testing.T) {
	g := newGen(10)
	for _, c := range []struct{ K, D, n int }{{10, 8, 30}, {50, 300, 12}, {3, 5, 600}} {
		table, tr := g.normal(1, c.K, c.D)
		ids := g.ids(c.n, c.K)
		want := data{nil, []int{c.n, c.D}}
		for _, id := range ids {
			want.v = append(want.v, tr.v[int(id)*c.D:int(id+1)*c.D]...)
		}
		name := dims([]int{c.K, c.D, c.n})
		expect(t, "embedding "+name, tensor.Embedding(table, ids), want, tol{0, 0})
		up, upr := g.normal(1, c.n, c.D)
		dt, dtr := g.normal(1, c.K, c.D)
		tensor.EmbeddingBackward(up, ids, dt)
		for p, id := range ids {
			for j := range c.D {
				dtr.v[int(id)*c.D+j] += upr.v[p*c.D+j]
			}
		}
		expect(t, "embedding backward "+name, dt, dtr, tol{1e-5, 1e-5})
	}
	const K, D = 6, 9
	table, tr := g.normal(1, K, D)

	// Weighted sums of n rows per position, a repeated id included.
	mixIDs := []int32{0, 5, 2, 2, 4, 1}
	mixW := []float32{0.25, 0.75, 0.5, 0.5, -1, 2}
	mix := data{make([]float64, 3*D), []int{3, D}}
	for p := range 3 {
		for j := range 2 {
			id, w := int(mixIDs[p*2+j]), float64(mixW[p*2+j])
			for c := range D {
				mix.v[p*D+c] += w * tr.v[id*D+c]
			}
		}
	}
	expect(t, "embeddingmix", tensor.EmbeddingMix(table, mixIDs, mixW, 2), mix, f32)
	mg, mgr := g.normal(1, 3, D)
	dm, dmr := g.normal(1, K, D)
	tensor.EmbeddingMixBackward(mg, mixIDs, mixW, 2, dm)
	for p := range 3 {
		for j := range 2 {
			id, w := int(mixIDs[p*2+j]), float64(mixW[p*2+j])
			for c := range D {
				dmr.v[id*D+c] += w * mgr.v[p*D+c]
			}
		}
	}
	expect(t, "embeddingmix backward", dm, dmr, f32)
}

func testGather(t *testing.T) {
	g := newGen(11)
	const R, N = 5, 11
	x, xr := g.normal(1, R, N)
	idx := []int32{0, 10, 3, 3, 7}
	want := data{nil, []int{R}}
	for r, j := range idx {
		want.v = append(want.v, xr.v[r*N+int(j)])
	}
	expect(t, "gatherlast", tensor.GatherLast(x, idx), want, tol{0, 0})
	up, upr := g.normal(1, R)
	back := data{make([]float64, R*N), []int{R, N}}
	for r, j := range idx {
		back.v[r*N+int(j)] = upr.v[r]
	}
	expect(t, "gatherlast backward", tensor.GatherLastBackward(up, idx, []int{R, N}), back, tol{0, 0})
	am := tensor.Argmax(x)
	for r := range R {
		best := 0
		for j := range N {
			if xr.v[r*N+j] > xr.v[r*N+best] {
				best = j
			}
		}
		if int(am[r]) != best {
			t.Errorf("argmax row %d: %d, want %d", r, am[r], best)
		}
	}
}

func testCrossEntropy(t *testing.T) {
	g := newGen(12)
	const R, N = 7, 13
	x, xr := g.normal(2, R, N)
	targets := []int32{1, 12, -1, 0, 5, -1, 5}
	ce := func(v []float64) []float64 {
		var s float64
		var n int
		for r, tg := range targets {
			if tg >= 0 {
				s -= v[r*N+int(tg)] - logSumExp(v[r*N:(r+1)*N])
				n++
			}
		}
		return []float64{s / float64(n)}
	}
	loss, count := tensor.CrossEntropy(x, targets)
	want := ce(xr.v)[0]
	if count != 5 || math.Abs(loss-want) > 1e-5*(1+math.Abs(want)) {
		t.Errorf("crossentropy %g over %d rows, want %g over 5", loss, count, want)
	}
	stats := tensor.CrossEntropyStats(x, targets)
	expect(t, "crossentropy stats", stats, data{[]float64{want, 5}, []int{2}}, f32)
	dx := data{vjp(ce, xr.v, []float64{0.5}), []int{R, N}}
	expect(t, "crossentropy backward", tensor.CrossEntropyBackward(x, targets, count, 0.5), dx, f32)
	expect(t, "crossentropy grad", tensor.CrossEntropyGrad(x, targets, stats, tensor.From([]float32{0.5}, 1)), dx, f32)
}

func testConcatSplit(t *testing.T) {
	g := newGen(13)
	x, xr := g.normal(1, 2, 3, 8)
	parts := tensor.Split(x, -1, 3, 5)
	for k, c := range []struct{ lo, n int }{{0, 3}, {3, 5}} {
		want := data{nil, []int{2, 3, c.n}}
		for r := range 6 {
			want.v = append(want.v, xr.v[r*8+c.lo:r*8+c.lo+c.n]...)
		}
		expect(t, "split "+strconv.Itoa(k), parts[k], want, tol{0, 0})
	}
	swapped := data{nil, []int{2, 3, 8}}
	for r := range 6 {
		swapped.v = append(swapped.v, xr.v[r*8+3:r*8+8]...)
		swapped.v = append(swapped.v, xr.v[r*8:r*8+3]...)
	}
	expect(t, "concat last", tensor.Concat(-1, parts[1], parts[0]), swapped, tol{0, 0})
	doubled := data{nil, []int{2, 6, 8}}
	for b := range 2 {
		doubled.v = append(doubled.v, xr.v[b*24:(b+1)*24]...)
		doubled.v = append(doubled.v, xr.v[b*24:(b+1)*24]...)
	}
	expect(t, "concat middle", tensor.Concat(1, x, x), doubled, tol{0, 0})
}

// rotaryRef rotates the q and k heads of qkv (B, L, 3*H*d) by position,
// "rotate half": (a, b) -> (a cos - b sin, b cos + a sin), angle p
// base^(-2j/d); sign -1 rotates back.
func rotaryRef(qkv []float64, B, L, H, d int, sign float64) []float64 {
	out := append([]float64(nil), qkv...)
	W, h := 3*H*d, d/2
	for bl := range B * L {
		p := float64(bl % L)
		for off := 0; off < 2*H*d; off += d {
			row := qkv[bl*W+off:]
			dst := out[bl*W+off:]
			for j := range h {
				ang := p * math.Pow(10000, -float64(2*j)/float64(d))
				c, s := math.Cos(ang), sign*math.Sin(ang)
				a, b := row[j], row[h+j]
				dst[j], dst[h+j] = a*c-b*s, b*c+a*s
			}
		}
	}
	return out
}

func testRotary(t *testing.T) {
	g := newGen(14)
	const B, L, H, d = 2, 5, 2, 6
	qkv, qr := g.normal(1, B, L, 3*H*d)
	rot := tensor.NewRotary(8, d, 10000)
	expect(t, "rotary", rot.Apply(qkv, H, false), data{rotaryRef(qr.v, B, L, H, d, 1), qr.shape}, f32)
	expect(t, "rotary inverse", rot.Apply(qkv, H, true), data{rotaryRef(qr.v, B, L, H, d, -1), qr.shape}, f32)
}

// attentionRef is softmax(q k^T / sqrt(d)) v per head of qkv (B, L, 3*H*d),
// with the rows' log-sum-exp (B, H, L).
func attentionRef(qkv []float64, B, L, H, d int, causal bool) (out, lse []float64) {
	D := H * d
	out, lse = make([]float64, B*L*D), make([]float64, B*H*L)
	s := make([]float64, L)
	for b := range B {
		for h := range H {
			for i := range L {
				n := L
				if causal {
					n = i + 1
				}
				for j := range n {
					var dot float64
					for c := range d {
						dot += qkv[(b*L+i)*3*D+h*d+c] * qkv[(b*L+j)*3*D+D+h*d+c]
					}
					s[j] = dot / math.Sqrt(float64(d))
				}
				l := logSumExp(s[:n])
				lse[(b*H+h)*L+i] = l
				for j := range n {
					p := math.Exp(s[j] - l)
					for c := range d {
						out[(b*L+i)*D+h*d+c] += p * qkv[(b*L+j)*3*D+2*D+h*d+c]
					}
				}
			}
		}
	}
	return out, lse
}

// attentionGradRef is the gradient of sum(g * attention(qkv)) with
// respect to qkv: with P = softmax(S), S = q k^T / sqrt(d), dV = P^T dO,
// dP = dO V^T, dS = P (dP - rowsum(dP P)), dQ = dS K / sqrt(d),
// dK = dS^T Q / sqrt(d). TestAttention checks it against central
// differences on the small cases.
func attentionGradRef(qkv, g []float64, B, L, H, d int, causal bool) []float64 {
	D := H * d
	dq := make([]float64, len(qkv))
	sc := 1 / math.Sqrt(float64(d))
	p := make([]float64, L*L)
	for b := range B {
		for h := range H {
			q := func(i, c int) float64 { return qkv[(b*L+i)*3*D+h*d+c] }
			k := func(j, c int) float64 { return qkv[(b*L+j)*3*D+D+h*d+c] }
			v := func(j, c int) float64 { return qkv[(b*L+j)*3*D+2*D+h*d+c] }
			do := func(i, c int) float64 { return g[(b*L+i)*D+h*d+c] }
			for i := range L {
				n := L
				if causal {
					n = i + 1
				}
				row := p[i*L : i*L+L]
				clear(row)
				for j := range n {
					for c := range d {
						row[j] += q(i, c) * k(j, c) * sc
					}
				}
				softmaxRow(row[:n], row[:n])
			}
			for i := range L {
				row := p[i*L : i*L+L]
				dp := make([]float64, L)
				var rs float64
				for j := range L {
					for c := range d {
						dp[j] += do(i, c) * v(j, c)
					}
					rs += dp[j] * row[j]
				}
				for j := range L {
					ds := row[j] * (dp[j] - rs) * sc
					for c := range d {
						dq[(b*L+i)*3*D+h*d+c] += ds * k(j, c)
						dq[(b*L+j)*3*D+D+h*d+c] += ds * q(i, c)
						dq[(b*L+j)*3*D+2*D+h*d+c] += row[j] * do(i, c)
					}
				}
			}
		}
	}
	return dq
}

func testAttention(t *testing.T) {
	g := newGen(15)
	for _, c := range []struct{ B, L, H, d int }{{2, 5, 2, 4}, {1, 1, 1, 8}, {1, 9, 3, 6}, {1, 70, 2, 16}, {1, 40, 1, 64}} {
		qkv, qr := g.normal(1, c.B, c.L, 3*c.H*c.d)
		for _, causal := range []bool{false, true} {
			name := strconv.Itoa(c.B) + "x" + strconv.Itoa(c.L) + " " + strconv.Itoa(c.H) + " heads of " + strconv.Itoa(c.d)
			if causal {
				name += " causal"
			}
			out, lse := tensor.Attention(qkv, c.H, causal)
			or, lr := attentionRef(qr.v, c.B, c.L, c.H, c.d, causal)
			expect(t, "attention "+name, out, data{or, []int{c.B, c.L, c.H * c.d}}, f32)
			expect(t, "attention lse "+name, lse, data{lr, []int{c.B, c.H, c.L}}, f32)
			up, upr := g.normal(1, c.B, c.L, c.H*c.d)
			want := attentionGradRef(qr.v, upr.v, c.B, c.L, c.H, c.d, causal)
			if len(qr.v) <= 500 {
				f := func(v []float64) []float64 { o, _ := attentionRef(v, c.B, c.L, c.H, c.d, causal); return o }
				for i, w := range vjp(f, qr.v, upr.v) {
					if math.Abs(w-want[i]) > 1e-6*(1+math.Abs(w)) {
						t.Fatalf("the reference gradient of attention %s disagrees with central differences at %d: %g, %g", name, i, want[i], w)
					}
				}
			}
			expect(t, "attention backward "+name, tensor.AttentionBackward(up, qkv, out, lse, nil, c.H, causal),
				data{want, qr.shape}, tol{5e-5, 5e-5})
		}
	}
}

func testAdaLN(t *testing.T) {
	g := newGen(16)
	for _, s := range [][3]int{{1, 1, 1}, {2, 3, 9}, {3, 17, 64}} {
		testAdaLNShape(t, g, s[0], s[1], s[2])
	}
}

func testAdaLNShape(t *testing.T, g *gen, B, L, D int) {
	x, xr := g.normal(1, B, L, D)
	h, hr := g.normal(1, B, L, D)
	shift, sr := g.normal(0.5, B, D)
	scale, cr := g.normal(0.5, B, D)
	gate, gr := g.normal(0.5, B, D)
	modulate := func(x, shift, scale []float64) []float64 {
		out := make([]float64, len(x))
		for i := range x {
			bd := (i/(L*D))*D + i%D
			out[i] = x[i]*(1+scale[bd]) + shift[bd]
		}
		return out
	}
	gated := func(h, y, gate []float64) []float64 {
		out := make([]float64, len(h))
		for i := range h {
			out[i] = h[i] + gate[(i/(L*D))*D+i%D]*y[i]
		}
		return out
	}
	expect(t, "modulate", tensor.Modulate(x, shift, scale), data{modulate(xr.v, sr.v, cr.v), xr.shape}, f32)
	expect(t, "gatedadd", tensor.GatedAdd(h, x, gate), data{gated(hr.v, xr.v, gr.v), xr.shape}, f32)
	up, upr := g.normal(1, B, L, D)
	dx, dshift, dscale := tensor.ModulateBackward(up, x, scale)
	expect(t, "modulate dx", dx, data{vjp(func(v []float64) []float64 { return modulate(v, sr.v, cr.v) }, xr.v, upr.v), xr.shape}, f32)
	expect(t, "modulate dshift", dshift, data{vjp(func(v []float64) []float64 { return modulate(xr.v, v, cr.v) }, sr.v, upr.v), sr.shape}, tol{5e-5, 5e-5})
	expect(t, "modulate dscale", dscale, data{vjp(func(v []float64) []float64 { return modulate(xr.v, sr.v, v) }, cr.v, upr.v), cr.shape}, tol{5e-5, 5e-5})
	dy, dgate := tensor.GatedAddBackward(up, x, gate)
	expect(t, "gatedadd dy", dy, data{vjp(func(v []float64) []float64 { return gated(hr.v, v, gr.v) }, xr.v, upr.v), xr.shape}, f32)
	expect(t, "gatedadd dgate", dgate, data{vjp(func(v []float64) []float64 { return gated(hr.v, xr.v, v) }, gr.v, upr.v), gr.shape}, tol{5e-5, 5e-5})
}

func testOptimiser(t *testing.T) {
	g := newGen(17)
	a, ar := g.normal(1, 5, 37)
	b, br := g.normal(1, 5, 37)
	tensor.AddScaled(a, b, -0.5)
	expect(t, "addscaled", a, binaryRef(ar, br, func(x, y float64) float64 { return x - 0.5*y }), f32)

	// AdamW, two steps (torch.optim.AdamW's update).
	w, wr := g.normal(1, 5, 37)
	gr0, grr := g.normal(0.1, 5, 37)
	m, v := tensor.New(5, 37), tensor.New(5, 37)
	p := tensor.AdamWParams{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}
	mr, vr := make([]float64, len(wr.v)), make([]float64, len(wr.v))
	for step := 1; step <= 2; step++ {
		p.Step = step
		tensor.AdamWStep(w, gr0, m, v, p)
		bc1, bc2 := 1-math.Pow(p.Beta1, float64(step)), 1-math.Pow(p.Beta2, float64(step))
		for i := range wr.v {
			wr.v[i] *= 1 - p.LR*p.WeightDecay
			mr[i] = p.Beta1*mr[i] + (1-p.Beta1)*grr.v[i]
			vr[i] = p.Beta2*vr[i] + (1-p.Beta2)*grr.v[i]*grr.v[i]
			wr.v[i] -= p.LR / bc1 * mr[i] / (math.Sqrt(vr[i])/math.Sqrt(bc2) + p.Eps)
		}
	}
	expect(t, "adamw w", w, wr, tol{1e-6, 1e-5})
	expect(t, "adamw m", m, data{mr, wr.shape}, tol{1e-7, 1e-5})
	expect(t, "adamw v", v, data{vr, wr.shape}, tol{1e-9, 1e-5})

	sh, shr := g.normal(1, 5, 37)
	tensor.EMAStep(sh, b, 0.25)
	expect(t, "ema", sh, binaryRef(shr, br, func(s, w float64) float64 { return s - 0.25*(s-w) }), f32)

	x, xr := g.normal(1, 3, 7)
	y, yr := g.normal(1, 33)
	sq := func(vs ...[]float64) float64 {
		var s float64
		for _, v := range vs {
			for _, e := range v {
				s += e * e
			}
		}
		return s
	}
	total := sq(xr.v, yr.v)
	expect(t, "sumsquares", tensor.SumSquares(x, nil, y), data{[]float64{total}, []int{}}, f32)
	for _, maxNorm := range []float64{1, 100} {
		cx, cy := x.Clone(), y.Clone()
		ss := tensor.ClipByGlobalNorm([]*tensor.Tensor{cx, nil, cy}, maxNorm)
		expect(t, "clip sumsq", ss, data{[]float64{total}, []int{}}, f32)
		k := 1.0
		if n := math.Sqrt(total); n > maxNorm {
			k = maxNorm / (n + 1e-6)
		}
		scale := func(v float64) float64 { return k * v }
		expect(t, "clip x max "+strconv.Itoa(int(maxNorm)), cx, mapRef(xr, scale), f32)
		expect(t, "clip y max "+strconv.Itoa(int(maxNorm)), cy, mapRef(yr, scale), f32)
	}
}

// usdmRef is the per-token loss of Eq. 17 in the spec's literal form
// (section 2) for one row of logits.
func usdmRef(logits []float64, zt, m int, a, ap float64) float64 {
	K := float64(len(logits))
	lsm := make([]float64, len(logits))
	logSoftmaxRow(lsm, logits)
	xbar := func(v int) float64 { return K*a*math.Exp(lsm[v]) + 1 - a }
	e := 0.0
	if zt == m {
		e = 1
	}
	xi := 1 - a + K*a*e
	kappa := (1 - a) / (K*a + 1 - a)
	var sl float64
	for v := range logits {
		sl += math.Log(xbar(v))
	}
	term1 := K * (1/xi - 1/xbar(zt))
	term2 := -(kappa*e+1-e)*(sl-K*math.Log(xbar(zt))) -
		K*a/(1-a)*(1-e)*(math.Log(xbar(m))-math.Log(xbar(zt))) +
		((K-1)*kappa*e-(1-e)/kappa)*math.Log(kappa)
	return ap / (K * a) * (term1 - term2)
}

func testUSDMLoss(t *testing.T) {
	g := newGen(18)
	const B, L, K = 2, 3, 11
	x, xr := g.normal(2, B*L, K)
	zt := []int32{3, 0, 7, 7, 10, 2}
	x0 := []int32{3, 5, 7, 1, 10, 9} // z_t = x at rows 0, 2, 4
	alpha, alphaPrime := []float64{0.3, 0.8}, []float64{-0.999, -0.999}
	tg := tensor.USDMTargets{Zt: zt, X0: x0, Alpha: alpha, AlphaPrime: alphaPrime}
	grad := tensor.New(B*L, K)
	losses := tensor.USDMLoss(x, tg, grad)
	want := make([]float64, B*L)
	dwant := make([]float64, B*L*K)
	for r := range B * L {
		row := xr.v[r*K : (r+1)*K]
		a, ap := alpha[r/L], alphaPrime[r/L]
		f := func(v []float64) []float64 { return []float64{usdmRef(v, int(zt[r]), int(x0[r]), a, ap)} }
		want[r] = f(row)[0]
		copy(dwant[r*K:], vjp(f, row, []float64{1}))
	}
	got := make([]float32, len(losses))
	for i, l := range losses {
		got[i] = float32(l)
	}
	expectVals(t, "usdm loss", got, want, tol{1e-5, 1e-4})
	expect(t, "usdm grad", grad, data{dwant, []int{B * L, K}}, tol{1e-5, 1e-4})
	mean, mgrad := tensor.USDMLossMean(x, tg, true)
	expect(t, "usdm mean", mean, data{[]float64{sum(want) / float64(B*L)}, []int{}}, tol{1e-5, 1e-4})
	expect(t, "usdm mean grad", mgrad, data{dwant, []int{B * L, K}}, tol{1e-5, 1e-4})
}

// Views share storage: a block of rows reads and writes its parent, in
// place and whole, and Clone, CopyFrom and Fill keep host and device
// copies coherent.
func testViews(t *testing.T) {
	g := newGen(19)
	x, xr := g.normal(1, 6, 8)
	row, rr := g.normal(1, 1, 8)
	base := x.Clone()
	mid := base.Rows(2, 5)
	expect(t, "rows read", tensor.Scale(mid, 2), mapRef(data{xr.v[16:40], []int{3, 8}}, func(v float64) float64 { return 2 * v }), f32)
	tensor.AddScaled(mid, tensor.Full(1, 3, 8), 1)
	base.Rows(0, 1).CopyFrom(row)
	base.Rows(5, 6).Fill(7)
	want := append([]float64(nil), xr.v...)
	copy(want[:8], rr.v)
	for i := 16; i < 40; i++ {
		want[i]++
	}
	for i := 40; i < 48; i++ {
		want[i] = 7
	}
	expect(t, "views parent", base, data{want, []int{6, 8}}, f32)
	expect(t, "views block", mid, data{want[16:40], []int{3, 8}}, f32)
	expect(t, "clone untouched", x, xr, tol{0, 0})
}
