package plot

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// exampleCharts are realistic charts used by the tests and, with
// PLOT_EXAMPLE_DIR set, written out for inspection.
func exampleCharts() map[string]*Chart {
	rng := rand.New(rand.NewSource(1))
	var steps, duo, mdlm []float64
	for i := 0; i <= 20000; i += 20 {
		s := float64(i)
		steps = append(steps, s)
		duo = append(duo, 3.1+5.2*math.Exp(-s/1800)+0.08*rng.NormFloat64())
		mdlm = append(mdlm, 3.3+5.0*math.Exp(-s/2600)+0.08*rng.NormFloat64())
	}
	mdlm[400] = math.NaN() // a gap
	mdlm[401] = math.Inf(1)
	nfe := []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}
	var ppl1, ppl2, ppl3 []float64
	for _, n := range nfe {
		l := math.Log2(n)
		ppl1 = append(ppl1, 40+900*math.Exp(-0.9*l))
		ppl2 = append(ppl2, 45+1500*math.Exp(-0.55*l))
		ppl3 = append(ppl3, 38+300*math.Exp(-1.4*l))
	}
	var many []Series
	for i := range 10 {
		var xs, ys []float64
		for j := 0; j < 200; j++ {
			xs = append(xs, float64(j))
			ys = append(ys, float64(i)+math.Sin(float64(j)/20+float64(i)))
		}
		many = append(many, Series{Name: "run " + string(rune('A'+i)), X: xs, Y: ys})
	}
	return map[string]*Chart{
		"small": {
			Title: "A rather long title that cannot possibly fit in a small chart", XLabel: "x", YLabel: "y",
			Width: 200, Height: 150,
			Series: []Series{{Name: "one point", X: []float64{3}, Y: []float64{7}}},
		},
		"many": {Title: "Ten series", Series: many, LogX: false, Width: 640, Height: 400},
		"logloss": {
			Title: "Validation loss (log-log)", XLabel: "step", YLabel: "loss",
			LogX: true, LogY: true,
			Series: []Series{{Name: "val", X: steps[1:], Y: duo[1:]}},
		},
		"loss": {
			Title:  "Training loss (OpenWebText)",
			XLabel: "training step",
			YLabel: "cross-entropy loss (nats/token)",
			Series: []Series{{Name: "Duo", X: steps, Y: duo}, {Name: "MDLM baseline", X: steps, Y: mdlm}},
		},
		"steps": {
			Title:  "Sample quality vs sampling steps",
			XLabel: "sampling steps (NFE)",
			YLabel: "Gen. perplexity (GPT-2 large)",
			LogX:   true, LogY: true,
			Series: []Series{
				{Name: "Duo (ancestral)", X: nfe, Y: ppl1},
				{Name: "MDLM", X: nfe, Y: ppl2},
				{Name: "Duo + DCD (distilled)", X: nfe, Y: ppl3},
			},
		},
	}
}

func TestWriteExamples(t *testing.T) {
	dir := os.Getenv("PLOT_EXAMPLE_DIR")
	if dir == "" {
		t.Skip("set PLOT_EXAMPLE_DIR to write example charts")
	}
	for name, c := range exampleCharts() {
		if err := c.WritePNG(filepath.Join(dir, "plot_"+name+".png")); err != nil {
			t.Fatal(err)
		}
	}
}
