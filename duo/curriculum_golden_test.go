package duo

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/internal/safetensors"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// One curriculum step — Gaussian latents, z_t = argmax, soft input, alpha =
// T, alpha' = dT/dt, the network and the Eq. 17 loss — must reproduce
// PyTorch (tools/golden/curriculum_golden.py): latents exactly, the rest to
// 1e-4 relative, every parameter gradient included.
func TestCurriculumStepMatchesPyTorch(t *testing.T) {
	model, err := safetensors.Open("../testdata/dit_golden.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	gold, err := safetensors.Open("../testdata/curriculum_golden.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer gold.Close()
	cfg := nn.Config{MLPRatio: 4}
	var batch struct{ Batch int }
	json.Unmarshal([]byte(model.Metadata["config"]), &cfg)
	json.Unmarshal([]byte(model.Metadata["config"]), &batch)
	m, err := nn.NewDiT(cfg, tensor.NewRNG(0))
	if err != nil {
		t.Fatal(err)
	}
	var extra []string
	for _, n := range model.Names() {
		if strings.Contains(n, "grad.") || strings.HasPrefix(n, "out.") || strings.HasPrefix(n, "input.") || strings.HasPrefix(n, "loss.") {
			extra = append(extra, n)
		}
	}
	if err := nn.LoadParams(model, "", m.Params(), extra...); err != nil {
		t.Fatal(err)
	}
	f32 := func(f *safetensors.File, name string) []float32 {
		tt, ok := f.Get(name)
		if !ok {
			t.Fatalf("golden file lacks %s", name)
		}
		v, err := tt.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	i64 := func(f *safetensors.File, name string) []int64 {
		tt, _ := f.Get(name)
		v, err := tt.Int64s()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var x []int32
	for _, v := range i64(model, "input.ids") {
		x = append(x, int32(v))
	}
	B, K := batch.Batch, cfg.Vocab
	meta := func(k string) float64 { v, _ := strconv.ParseFloat(gold.Metadata[k], 64); return v }
	c := Curriculum{Gamma: GammaSchedule{Min: meta("gamma_min"), Max: meta("gamma_max")}, Log10Tau: meta("log10_tau")}
	times := f32(gold, "t")
	tt := make([]float64, B)
	for b := range tt {
		tt[b] = float64(times[b])
	}
	eps := f32(gold, "eps")
	L := len(x) / B
	nb := c.noise(x, B, K, tt, func(b int) func() float64 {
		i := b * L * K
		return func() float64 { i++; return float64(eps[i-1]) }
	})
	for i, z := range i64(gold, "z_t") {
		if int64(nb.Zt[i]) != z {
			t.Fatalf("z_t[%d] = %d, want %d", i, nb.Zt[i], z)
		}
	}
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for b := 0; b < B; b++ {
		near("alpha", nb.Alpha[b], float64(f32(gold, "alpha")[b]))
		near("alpha'", nb.AlphaPrime[b], float64(f32(gold, "alpha_prime")[b]))
		near("sigma", float64(nb.Sigma[b]), float64(f32(gold, "sigma")[b]))
	}
	tp := autograd.NewTape()
	logits, err := m.Forward(tp, nn.Input{Batch: B, Soft: autograd.Const(nb.Soft), Sigma: nb.Sigma})
	if err != nil {
		t.Fatal(err)
	}
	relErr := func(name string, got []float32, want []float32) {
		var rms float64
		for _, w := range want {
			rms += float64(w) * float64(w)
		}
		rms = math.Sqrt(rms / float64(len(want)))
		for i, w := range want {
			if e := math.Abs(float64(got[i]-w)) / (math.Abs(float64(w)) + rms); e > 1e-4 {
				t.Errorf("%s[%d] = %v, want %v", name, i, got[i], w)
				return
			}
		}
	}
	relErr("logits", logits.Value.Data(), f32(gold, "logits"))
	loss := NELBO(tp, logits, nb)
	near("loss", float64(loss.Value.Item()), float64(f32(gold, "loss")[0]))
	if err := tp.Backward(loss); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		relErr("grad."+p.Name, p.Grad.Data(), f32(gold, "grad."+p.Name))
	}
}
