// Package plot renders small line charts (training-loss curves, quality
// versus sampling steps, ...) to PNG using only the standard library. Text is
// drawn with a built-in 5x9 bitmap font, so output is identical everywhere;
// it covers printable ASCII and draws any other character as '?'.
package plot

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"

	"github.com/duo-go/duo/internal/atomicfile"
)

// Default and minimum image sizes in pixels.
const (
	DefaultWidth  = 800
	DefaultHeight = 500
	minWidth      = 200
	minHeight     = 150
)

// MarkerLimit is the point count below which a series also gets a dot
// marker at every finite point.
const MarkerLimit = 30

// Palette holds the series colours (Tableau 10); series i is drawn in
// Palette[i%len(Palette)].
var Palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, // blue
	{0xff, 0x7f, 0x0e, 0xff}, // orange
	{0x2c, 0xa0, 0x2c, 0xff}, // green
	{0xd6, 0x27, 0x28, 0xff}, // red
	{0x94, 0x67, 0xbd, 0xff}, // purple
	{0x8c, 0x56, 0x4b, 0xff}, // brown
	{0xe3, 0x77, 0xc2, 0xff}, // pink
	{0x7f, 0x7f, 0x7f, 0xff}, // grey
	{0xbc, 0xbd, 0x22, 0xff}, // olive
	{0x17, 0xbe, 0xcf, 0xff}, // cyan
}

// TextColor is the colour of the title, axis labels, tick labels and legend
// text.
var TextColor = color.RGBA{0x26, 0x26, 0x26, 0xff}

// Fixed colours of the rest of the chart furniture.
var (
	background = color.RGBA{0xff, 0xff, 0xff, 0xff}
	frameColor = color.RGBA{0x55, 0x55, 0x55, 0xff}
	gridColor  = color.RGBA{0xe3, 0xe3, 0xe3, 0xff}
	minorColor = color.RGBA{0xf2, 0xf2, 0xf2, 0xff}
	boxColor   = color.RGBA{0xc8, 0xc8, 0xc8, 0xff}
)

// Stroke geometry in pixels.
const (
	lineHalfWidth = 1.1 // series lines are 2.2 px wide
	markerRadius  = 3.2
	tickLen       = 5
)

// Series is one named line. X and Y must have equal lengths; points where
// either coordinate is NaN or ±Inf are skipped and break the line.
type Series struct {
	Name string
	X, Y []float64
}

// Chart describes a line chart. Width and Height default to DefaultWidth and
// DefaultHeight when zero. LogX and LogY select base-10 logarithmic axes,
// which require every finite value on them to be positive.
type Chart struct {
	Title, XLabel, YLabel string
	Series                []Series
	LogX, LogY            bool
	Width, Height         int
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// bounds validates the data and returns the range of the finite points.
func (c *Chart) bounds() (xmin, xmax, ymin, ymax float64, err error) {
	if len(c.Series) == 0 {
		return 0, 0, 0, 0, errors.New("plot: chart has no series")
	}
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	total, good := 0, 0
	for i, s := range c.Series {
		if len(s.X) != len(s.Y) {
			return 0, 0, 0, 0, fmt.Errorf("plot: series %d (%q) has %d X values but %d Y values", i, s.Name, len(s.X), len(s.Y))
		}
		total += len(s.X)
		for j, x := range s.X {
			y := s.Y[j]
			if c.LogX && finite(x) && x <= 0 {
				return 0, 0, 0, 0, fmt.Errorf("plot: series %d (%q): X value %g at index %d on a log axis", i, s.Name, x, j)
			}
			if c.LogY && finite(y) && y <= 0 {
				return 0, 0, 0, 0, fmt.Errorf("plot: series %d (%q): Y value %g at index %d on a log axis", i, s.Name, y, j)
			}
			if finite(x) && finite(y) {
				good++
				xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
				ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
			}
		}
	}
	switch {
	case total == 0:
		err = errors.New("plot: chart has no data points")
	case good == 0:
		err = errors.New("plot: chart has no finite data points")
	case !finite(xmax-xmin) || !finite(ymax-ymin):
		err = errors.New("plot: data range too large")
	}
	return xmin, xmax, ymin, ymax, err
}

// Render draws the chart: a framed plot area with 1-2-5 (or power-of-ten)
// ticks and grid lines, a title, axis labels and a legend placed in the
// corner of the plot area covering the least data. It fails on a chart
// without series or finite points, on series whose X and Y lengths differ,
// and on non-positive values on a log axis.
func (c *Chart) Render() (image.Image, error) {
	W, H := c.Width, c.Height
	if W == 0 {
		W = DefaultWidth
	}
	if H == 0 {
		H = DefaultHeight
	}
	if W < minWidth || H < minHeight {
		return nil, fmt.Errorf("plot: image size %dx%d below the minimum %dx%d", W, H, minWidth, minHeight)
	}
	xmin, xmax, ymin, ymax, err := c.bounds()
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fillRect(img, img.Rect, background)

	// Layout: the frame occupies columns L..R and rows T..B.
	const margin = 12
	title, titleScale := c.Title, 2
	T := 16
	if title != "" {
		if textWidth(title, 2) > W-2*margin {
			titleScale = 1
		}
		title = fitText(title, titleScale, W-2*margin)
		T = 14 + capH*titleScale + 14
	}
	B := H - 1 - (tickLen + 5 + capH + margin)
	if c.XLabel != "" {
		B -= lineH + 6
	}
	yax := newAxis(ymin, ymax, c.LogY, max(2, (B-T)/50))
	ylw := 0
	for _, tk := range yax.major {
		ylw = max(ylw, textWidth(tk.label, 1))
	}
	L := margin + ylw + 5 + tickLen
	if c.YLabel != "" {
		L += glyphH + 10
	}
	R := W - 1 - 2*margin
	var xax axis
	for n := max(2, (R-L)/90); ; n-- {
		xax = newAxis(xmin, xmax, c.LogX, n)
		if n <= 2 || xLabelsFit(&xax, R-L) {
			break
		}
	}
	xpix := func(v float64) float64 { return float64(L) + 0.5 + xax.t(v)*float64(R-L) }
	ypix := func(v float64) float64 { return float64(B) + 0.5 - yax.t(v)*float64(B-T) }
	inside := func(t float64) bool { return t >= -1e-9 && t <= 1+1e-9 }

	// Grid.
	for _, v := range xax.minor {
		if inside(xax.t(v)) {
			vline(img, int(xpix(v)), T, B, minorColor)
		}
	}
	for _, v := range yax.minor {
		if inside(yax.t(v)) {
			hline(img, L, R, int(ypix(v)), minorColor)
		}
	}
	for _, tk := range xax.major {
		if inside(xax.t(tk.v)) {
			vline(img, int(xpix(tk.v)), T, B, gridColor)
		}
	}
	for _, tk := range yax.major {
		if inside(yax.t(tk.v)) {
			hline(img, L, R, int(ypix(tk.v)), gridColor)
		}
	}

	// Series.
	cov := newCoverage(image.Rect(L+1, T+1, R, B))
	ink := make([]bool, len(cov.a))
	for i, s := range c.Series {
		cov.clear()
		markers := countFinite(s) < MarkerLimit
		var px, py float64
		run := 0
		for j := 0; j <= len(s.X); j++ {
			if j == len(s.X) || !finite(s.X[j]) || !finite(s.Y[j]) {
				if run == 1 { // an isolated point: show it as a dot
					cov.disc(px, py, lineHalfWidth+0.6)
				}
				run = 0
				continue
			}
			x, y := xpix(s.X[j]), ypix(s.Y[j])
			if run > 0 {
				cov.line(px, py, x, y, lineHalfWidth)
			}
			if markers {
				cov.disc(x, y, markerRadius)
			}
			px, py, run = x, y, run+1
		}
		cov.paint(img, Palette[i%len(Palette)], ink)
	}

	// Frame, ticks and tick labels.
	strokeRect(img, image.Rect(L, T, R+1, B+1), frameColor)
	for _, tk := range xax.major {
		if t := xax.t(tk.v); inside(t) {
			x := int(xpix(tk.v))
			vline(img, x, B+1, B+tickLen, frameColor)
			w := textWidth(tk.label, 1)
			lx := min(max(x-w/2, 2), W-2-w)
			drawText(img, lx, B+tickLen+5, tk.label, 1, TextColor, false)
		}
	}
	for _, tk := range yax.major {
		if t := yax.t(tk.v); inside(t) {
			y := int(ypix(tk.v))
			hline(img, L-tickLen, L-1, y, frameColor)
			drawText(img, L-tickLen-5-textWidth(tk.label, 1), y-capH/2, tk.label, 1, TextColor, false)
		}
	}

	// Title and axis labels, centred on the plot area.
	center := func(s string, scale int) int {
		w := textWidth(s, scale)
		return min(max((L+R)/2-w/2, margin), W-margin-w)
	}
	if title != "" {
		drawText(img, center(title, titleScale), 14, title, titleScale, TextColor, false)
	}
	if c.XLabel != "" {
		s := fitText(c.XLabel, 1, W-2*margin)
		drawText(img, center(s, 1), B+tickLen+5+capH+12, s, 1, TextColor, false)
	}
	if c.YLabel != "" {
		s := fitText(c.YLabel, 1, H-2*margin)
		w := textWidth(s, 1)
		y := min(max((T+B)/2+w/2, margin+w), H-margin)
		drawText(img, margin, y, s, 1, TextColor, true)
	}

	c.drawLegend(img, cov.r, ink)
	return img, nil
}

// xLabelsFit reports whether the x tick labels leave a clear gap between
// neighbours when the axis spans w pixels.
func xLabelsFit(a *axis, w int) bool {
	for i := 1; i < len(a.major); i++ {
		p, q := a.major[i-1], a.major[i]
		gap := (a.t(q.v) - a.t(p.v)) * float64(w)
		if gap < float64(textWidth(p.label, 1)+textWidth(q.label, 1))/2+16 {
			return false
		}
	}
	return true
}

func countFinite(s Series) int {
	n := 0
	for j, x := range s.X {
		if finite(x) && finite(s.Y[j]) {
			n++
		}
	}
	return n
}

// drawLegend draws the legend inside the plot area r, choosing among the
// corners and edge centres the spot that hides the fewest inked pixels.
// It is omitted for a single unnamed series.
func (c *Chart) drawLegend(img *image.RGBA, r image.Rectangle, ink []bool) {
	names := make([]string, len(c.Series))
	named := len(c.Series) > 1
	tw := 0
	for i, s := range c.Series {
		names[i] = s.Name
		if s.Name == "" {
			names[i] = "series " + strconv.Itoa(i+1)
		} else {
			named = true
		}
		names[i] = fitText(names[i], 1, max(r.Dx()-60, 20))
		tw = max(tw, textWidth(names[i], 1))
	}
	if !named {
		return
	}
	const inset, pad, sample, rowH = 10, 8, 24, 16
	w, h := pad+sample+6+tw+pad, 2*pad+len(names)*rowH-(rowH-capH)
	x0, x1 := r.Min.X+inset, r.Max.X-inset-w
	y0, y1 := r.Min.Y+inset, r.Max.Y-inset-h
	xm, ym := (x0+x1)/2, (y0+y1)/2
	cands := []image.Point{{x1, y0}, {x0, y0}, {x1, y1}, {x0, y1}, {xm, y0}, {xm, y1}, {x1, ym}, {x0, ym}}
	best, bestScore := cands[0], -1
	for _, p := range cands {
		box := image.Rect(p.X-4, p.Y-4, p.X+w+4, p.Y+h+4).Intersect(r)
		score := 0
		for y := box.Min.Y; y < box.Max.Y; y++ {
			for x := box.Min.X; x < box.Max.X; x++ {
				if ink[(y-r.Min.Y)*r.Dx()+x-r.Min.X] {
					score++
				}
			}
		}
		if bestScore < 0 || score < bestScore {
			best, bestScore = p, score
		}
	}
	box := image.Rect(best.X, best.Y, best.X+w, best.Y+h)
	fillRect(img, box, background)
	strokeRect(img, box, boxColor)
	sw := newCoverage(box.Inset(1))
	for i, s := range c.Series {
		cy := box.Min.Y + pad + i*rowH + capH/2
		sw.clear()
		sw.line(float64(box.Min.X+pad)+0.5, float64(cy)+0.5, float64(box.Min.X+pad+sample)+0.5, float64(cy)+0.5, lineHalfWidth)
		if countFinite(s) < MarkerLimit {
			sw.disc(float64(box.Min.X+pad+sample/2)+0.5, float64(cy)+0.5, markerRadius)
		}
		sw.paint(img, Palette[i%len(Palette)], nil)
		drawText(img, box.Min.X+pad+sample+6, cy-capH/2, names[i], 1, TextColor, false)
	}
}

// WritePNG renders the chart and writes it to path as a PNG, atomically: the
// image goes to a temporary file in the same directory that is then renamed
// over path.
func (c *Chart) WritePNG(path string) error {
	img, err := c.Render()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w *bufio.Writer) error { return png.Encode(w, img) })
}
