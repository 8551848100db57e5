package nn

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/internal/safetensors"
	"github.com/duo-go/duo/tensor"
)

// The DiT must reproduce an independent PyTorch implementation of dit.md
// (tools/golden/dit_golden.py, all weights random and non-zero): logits for
// token and soft inputs, the loss, every parameter gradient and the
// gradient of the soft input, to 1e-4 relative.
func TestDiTMatchesPyTorch(t *testing.T) {
	for _, file := range []string{"dit_golden.safetensors", "dit_golden_causal.safetensors"} {
		t.Run(file, func(t *testing.T) { checkGolden(t, "../testdata/"+file) })
	}
}

func checkGolden(t *testing.T, path string) {
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := Config{MLPRatio: 4}
	var meta struct {
		Batch int `json:"batch"`
	}
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &cfg); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(f.Metadata["config"]), &meta)
	m, err := NewDiT(cfg, tensor.NewRNG(0))
	if err != nil {
		t.Fatal(err)
	}
	params := m.Params()
	// Everything that is not a parameter is an input, output or gradient.
	var extra []string
	for _, n := range f.Names() {
		if len(n) > 5 && (n[:5] == "grad." || n[:4] == "out." || n[:6] == "input." || n[:5] == "loss.") {
			extra = append(extra, n)
		}
	}
	if err := LoadParams(f, "", params, extra...); err != nil {
		t.Fatal(err)
	}
	get := func(name string) *tensor.Tensor { return goldenF32(t, f, name) }
	ids := goldenIDs(t, f, "input.ids")
	sigma := get("input.sigma").Data()
	weights := autograd.Const(get("loss.weights"))
	B := meta.Batch
	L := len(ids) / B
	lossOf := func(tp *autograd.Tape, logits *autograd.Var) *autograd.Var {
		return tp.Scale(tp.SumAll(tp.Mul(tp.LogSoftmax(logits), weights)), 1/float32(B*L))
	}

	tp := autograd.NewTape()
	logits, err := m.Forward(tp, Input{Batch: B, IDs: ids, Sigma: sigma})
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "logits", logits.Value, get("out.logits"))
	loss := lossOf(tp, logits)
	closeTo(t, "loss", loss.Value, get("out.loss"))
	if err := tp.Backward(loss); err != nil {
		t.Fatal(err)
	}
	for _, p := range params {
		closeTo(t, "grad."+p.Name, p.Grad, get("grad."+p.Name))
	}

	if cfg.Causal {
		return
	}
	ZeroGrad(params)
	soft := autograd.Param(get("input.soft"))
	tp = autograd.NewTape()
	logits, err = m.Forward(tp, Input{Batch: B, Soft: soft, Sigma: sigma})
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "logits_soft", logits.Value, get("out.logits_soft"))
	loss = lossOf(tp, logits)
	if err := tp.Backward(loss); err != nil {
		t.Fatal(err)
	}
	closeTo(t, "grad.input.soft", soft.Grad, get("grad.input.soft"))
}

// goldenF32 reads a float tensor of a golden file.
func goldenF32(t *testing.T, f *safetensors.File, name string) *tensor.Tensor {
	t.Helper()
	tt, ok := f.Get(name)
	if !ok {
		t.Fatalf("golden file lacks %s", name)
	}
	v, err := tt.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return tensor.From(v, tt.Shape...)
}

// goldenIDs reads an integer tensor of a golden file as token ids.
func goldenIDs(t *testing.T, f *safetensors.File, name string) []int32 {
	t.Helper()
	tt, ok := f.Get(name)
	if !ok {
		t.Fatalf("golden file lacks %s", name)
	}
	v, err := tt.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int32, len(v))
	for i, x := range v {
		ids[i] = int32(x)
	}
	return ids
}

// closeTo checks |got - want| <= 1e-4 * (|want| + scale), where scale is the
// tensor's RMS, so near-zero entries are judged against the tensor's size.
func closeTo(t *testing.T, name string, got, want *tensor.Tensor) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no value", name)
		return
	}
	if got.Len() != want.Len() {
		t.Errorf("%s: %d values, want %d", name, got.Len(), want.Len())
		return
	}
	var rms float64
	for _, w := range want.Data() {
		rms += float64(w) * float64(w)
	}
	rms = math.Sqrt(rms / float64(max(1, want.Len())))
	worst, at := 0.0, 0
	for i, w := range want.Data() {
		e := math.Abs(float64(got.Data()[i]-w)) / (math.Abs(float64(w)) + rms)
		if e > worst {
			worst, at = e, i
		}
	}
	if worst > 1e-4 {
		t.Errorf("%s: relative error %.2g at %d (got %v, want %v)", name, worst, at, got.Data()[at], want.Data()[at])
	}
}
