package plot

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func rgba(img image.Image, x, y int) color.RGBA {
	return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
}

// colourCounts counts the pixels of each exact colour.
func colourCounts(img image.Image) map[color.RGBA]int {
	m := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			m[rgba(img, x, y)]++
		}
	}
	return m
}

func TestRenderTwoSeries(t *testing.T) {
	c := &Chart{
		Title: "loss", XLabel: "step", YLabel: "nats", Width: 640, Height: 400,
		Series: []Series{
			{Name: "train", X: []float64{0, 1, 2, 3}, Y: []float64{4, 3, 2.5, 2.2}},
			{Name: "valid", X: []float64{0, 1, 2, 3}, Y: []float64{4.2, 3.3, 2.9, 2.8}},
		},
	}
	img, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, 640, 400) {
		t.Fatalf("bounds %v, want 640x400", got)
	}
	counts := colourCounts(img)
	for i, col := range []color.RGBA{Palette[0], Palette[1], TextColor} {
		if counts[col] < 20 {
			t.Errorf("colour %d %v: %d pixels, want many", i, col, counts[col])
		}
	}
	if counts[Palette[2]] != 0 {
		t.Errorf("unused palette colour drawn")
	}

	c.Width, c.Height = 0, 0
	img, err = c.Render()
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds(); got.Dx() != DefaultWidth || got.Dy() != DefaultHeight {
		t.Fatalf("default size %v", got)
	}
}

func TestExamplesRender(t *testing.T) {
	for name, c := range exampleCharts() {
		img, err := c.Render()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		counts := colourCounts(img)
		for i := range c.Series {
			if counts[Palette[i]] == 0 {
				t.Errorf("%s: series %d colour missing", name, i)
			}
		}
	}
}

func TestGapsAndInfSkipped(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	c := &Chart{Series: []Series{{X: []float64{0, 1, 2, 3, 4, inf}, Y: []float64{1, 1, nan, 1, 1, 1}}}}
	img, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	// Take the row with the most series pixels (the horizontal line) and
	// check the line is interrupted around x=2 (the middle of the plot).
	b := img.Bounds()
	row, best, first, last := -1, 0, -1, -1
	for y := 0; y < b.Dy(); y++ {
		n := 0
		for x := 0; x < b.Dx(); x++ {
			if rgba(img, x, y) == Palette[0] {
				n++
			}
		}
		if n > best {
			row, best = y, n
		}
	}
	if row < 0 {
		t.Fatal("series not drawn")
	}
	var runs int
	prev := false
	for x := 0; x < b.Dx(); x++ {
		on := rgba(img, x, row) == Palette[0]
		if on {
			if first < 0 {
				first = x
			}
			last = x
		}
		if on && !prev {
			runs++
		}
		prev = on
	}
	if runs != 2 {
		t.Errorf("line at row %d has %d runs, want 2 (a gap at the NaN)", row, runs)
	}
	mid := (first + last) / 2
	if rgba(img, mid, row) == Palette[0] {
		t.Errorf("pixel at the NaN gap is inked")
	}
}

func TestErrors(t *testing.T) {
	nan := math.NaN()
	cases := map[string]*Chart{
		"no series":   {},
		"no points":   {Series: []Series{{Name: "a"}}},
		"mismatch":    {Series: []Series{{X: []float64{1, 2}, Y: []float64{1}}}},
		"all NaN":     {Series: []Series{{X: []float64{1, nan}, Y: []float64{nan, 2}}}},
		"log x zero":  {LogX: true, Series: []Series{{X: []float64{0, 1}, Y: []float64{1, 2}}}},
		"log y neg":   {LogY: true, Series: []Series{{X: []float64{0, 1}, Y: []float64{1, -2}}}},
		"tiny image":  {Width: 50, Height: 40, Series: []Series{{X: []float64{0, 1}, Y: []float64{1, 2}}}},
		"huge range":  {Series: []Series{{X: []float64{-1e308, 1e308}, Y: []float64{1, 2}}}},
		"neg size":    {Width: -800, Series: []Series{{X: []float64{0, 1}, Y: []float64{1, 2}}}},
		"second bad":  {Series: []Series{{X: []float64{1}, Y: []float64{1}}, {X: []float64{1}, Y: nil}}},
		"log NaN bad": {LogY: true, Series: []Series{{X: []float64{1, 2}, Y: []float64{nan, 0}}}},
	}
	for name, c := range cases {
		if _, err := c.Render(); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.HasPrefix(err.Error(), "plot: ") {
			t.Errorf("%s: error %q lacks package prefix", name, err)
		}
		if err := c.WritePNG(filepath.Join(t.TempDir(), "x.png")); err == nil {
			t.Errorf("%s: WritePNG: no error", name)
		}
	}
	// Non-positive values are fine when they are not on the log axis, and
	// NaNs are fine on it.
	ok := &Chart{LogX: true, Series: []Series{{X: []float64{1, 10, nan}, Y: []float64{-1, 0, 5}}}}
	if _, err := ok.Render(); err != nil {
		t.Errorf("valid log chart: %v", err)
	}
}

func labels(ts []tick) []string {
	var s []string
	for _, t := range ts {
		s = append(s, t.label)
	}
	return s
}

func TestLogTicks(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		n        int
		want     string
	}{
		{1, 1000, 8, "1 10 100 1000"},
		{1, 1024, 8, "1 10 100 1000"},
		{1e-6, 1e6, 4, "1e-4 1 10000"},
		{3e-7, 2e-5, 8, "5e-7 1e-6 2e-6 5e-6 1e-5 2e-5"},
		{40, 1500, 6, "50 100 200 500 1000"},
		{2, 8, 6, "2 5"},
		{1e5, 1e8, 8, "1e5 1e6 1e7 1e8"},
	} {
		a := newAxis(tc.min, tc.max, true, tc.n)
		if got := strings.Join(labels(a.major), " "); got != tc.want {
			t.Errorf("log ticks %g..%g: %q, want %q", tc.min, tc.max, got, tc.want)
		}
		for _, tk := range a.major {
			if u := a.t(tk.v); u < 0 || u > 1 {
				t.Errorf("tick %s outside axis", tk.label)
			}
		}
	}
	// Less than a decade with no 1-2-5 multiple: linear ticks, still positive.
	a := newAxis(3, 4, true, 5)
	if len(a.major) < 2 {
		t.Fatalf("narrow log axis: %v", labels(a.major))
	}
	for _, tk := range a.major {
		if tk.v <= 0 || a.t(tk.v) < 0 || a.t(tk.v) > 1 {
			t.Errorf("narrow log axis tick %v", tk)
		}
	}
	// Decade labels never fall to one.
	for lo := -9.0; lo < 0; lo++ {
		for n := 2; n < 8; n++ {
			a := newAxis(math.Pow(10, lo), math.Pow(10, lo+float64(n)+0.5), true, 2)
			if len(a.major) < 2 {
				t.Errorf("decades from 1e%g over %d: labels %v", lo, n, labels(a.major))
			}
		}
	}
}

func TestLinearTicks(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		n        int
		want     string
	}{
		{0, 1, 6, "0.0 0.2 0.4 0.6 0.8 1.0"},
		{0, 1, 5, "0.0 0.5 1.0"},
		{2.1, 9.8, 9, "2 3 4 5 6 7 8 9 10"},
		{2.1, 9.8, 8, "2 4 6 8 10"},
		{0, 20000, 8, "0 5000 10000 15000 20000"},
		{-3, 3, 6, "-2 0 2"},
		{-0.3, 0.1, 5, "-0.3 -0.2 -0.1 0.0 0.1"},
		{0, 3e6, 4, "0 1e6 2e6 3e6"},
		{0, 2.5e6, 6, "0 0.5e6 1.0e6 1.5e6 2.0e6 2.5e6"},
		{1e-5, 4e-5, 4, "1e-5 2e-5 3e-5 4e-5"},
		{-1e-4, 1e-4, 5, "-1.0e-4 -0.5e-4 0 0.5e-4 1.0e-4"},
		{1e9, 1e9 + 4, 5, "1.000000000e9 1.000000001e9 1.000000002e9 1.000000003e9 1.000000004e9"},
		{5, 5, 4, "4.5 5.0 5.5"},
	} {
		a := newAxis(tc.min, tc.max, false, tc.n)
		if got := strings.Join(labels(a.major), " "); got != tc.want {
			t.Errorf("ticks %g..%g: %q, want %q", tc.min, tc.max, got, tc.want)
		}
	}
	for rough, want := range map[float64]float64{0.13: 0.2, 3: 5, 7: 10, 1: 1, 200: 200, 0.0004: 0.0005} {
		if got := niceStep(rough); math.Abs(got-want) > 1e-12*want {
			t.Errorf("niceStep(%g) = %g, want %g", rough, got, want)
		}
	}
}

func TestLogChartRenders(t *testing.T) {
	c := &Chart{LogX: true, LogY: true, Series: []Series{{Name: "a", X: []float64{1, 10, 100}, Y: []float64{0.5, 0.05, 0.005}}}}
	img, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	counts := colourCounts(img)
	if counts[Palette[0]] == 0 || counts[minorColor] == 0 {
		t.Errorf("log chart lacks series or minor grid pixels")
	}
}

func TestLegendAvoidsData(t *testing.T) {
	// A diagonal from bottom-left to top-right leaves the top-left corner free.
	var xs, ys []float64
	for i := 0; i <= 100; i++ {
		xs, ys = append(xs, float64(i)), append(ys, float64(i))
	}
	c := &Chart{Series: []Series{{Name: "diagonal", X: xs, Y: ys}}}
	img, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	minX, minY, maxX, maxY := b.Dx(), b.Dy(), 0, 0
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if rgba(img, x, y) == boxColor {
				minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
			}
		}
	}
	if maxX == 0 {
		t.Fatal("no legend box")
	}
	if cx, cy := (minX+maxX)/2, (minY+maxY)/2; cx > b.Dx()/2 && cy < b.Dy()/2 {
		t.Errorf("legend at (%d,%d) sits on the data in the top right", cx, cy)
	}
	// A single unnamed series gets no legend.
	c.Series[0].Name = ""
	img, _ = c.Render()
	if colourCounts(img)[boxColor] != 0 {
		t.Errorf("legend drawn for a single unnamed series")
	}
}

func TestWritePNGRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "chart.png")
	c := exampleCharts()["steps"]
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.WritePNG(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := c.Render()
	if got.Bounds() != want.Bounds() {
		t.Fatalf("decoded bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	for y := 0; y < want.Bounds().Dy(); y++ {
		for x := 0; x < want.Bounds().Dx(); x++ {
			if rgba(got, x, y) != rgba(want, x, y) {
				t.Fatalf("pixel (%d,%d) differs after round trip", x, y)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the PNG", len(entries))
	}
	// A failed render leaves the existing file alone.
	if err := (&Chart{}).WritePNG(path); err == nil {
		t.Fatal("empty chart written")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

func TestFont(t *testing.T) {
	for i, g := range font {
		r := rune(fontMin + i)
		ink := 0
		for _, row := range g {
			if row >= 1<<glyphW {
				t.Errorf("glyph %q wider than %d", r, glyphW)
			}
			if row != 0 {
				ink++
			}
		}
		if (ink == 0) != (r == ' ') {
			t.Errorf("glyph %q has %d inked rows", r, ink)
		}
	}
	if textWidth("ab", 2) != (2*cellW-1)*2 || textWidth("", 1) != 0 {
		t.Error("textWidth")
	}
	if s := fitText("a long title", 1, textWidth("a lo...", 1)); s != "a lo..." {
		t.Errorf("fitText = %q", s)
	}
	if glyph('é') != glyph('?') {
		t.Error("non-ASCII rune not replaced by '?'")
	}
}
