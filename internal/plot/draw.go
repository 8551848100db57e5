package plot

import (
	"image"
	"image/color"
	"math"
)

// coverage accumulates anti-aliased shape coverage (0..1) over a rectangle
// of the image, so that overlapping pieces of one series never darken each
// other; it is composited onto the image in one pass.
type coverage struct {
	r image.Rectangle
	a []float32
}

func newCoverage(r image.Rectangle) *coverage {
	return &coverage{r: r, a: make([]float32, r.Dx()*r.Dy())}
}

func (c *coverage) clear() { clear(c.a) }

// shape adds coverage for the points within reach of (x0,y0)-(x1,y1), where
// dist gives a pixel centre's distance from the shape's edge-defining core and
// the shape has radius rad.
func (c *coverage) shape(x0, y0, x1, y1, rad float64, dist func(px, py float64) float64) {
	b := image.Rect(int(math.Floor(x0-rad-1)), int(math.Floor(y0-rad-1)),
		int(math.Ceil(x1+rad+1)), int(math.Ceil(y1+rad+1))).Intersect(c.r)
	w := c.r.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			v := float32(rad + 0.5 - dist(float64(x)+0.5, float64(y)+0.5))
			if v <= 0 {
				continue
			}
			i := (y-c.r.Min.Y)*w + x - c.r.Min.X
			c.a[i] = max(c.a[i], min(v, 1))
		}
	}
}

// line adds a round-capped segment of half-width hw.
func (c *coverage) line(x0, y0, x1, y1, hw float64) {
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	c.shape(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1), hw, func(px, py float64) float64 {
		t := 0.0
		if l2 > 0 {
			t = math.Max(0, math.Min(1, ((px-x0)*dx+(py-y0)*dy)/l2))
		}
		return math.Hypot(px-x0-t*dx, py-y0-t*dy)
	})
}

// disc adds a filled circle of radius r centred at (x, y).
func (c *coverage) disc(x, y, r float64) {
	c.shape(x, y, x, y, r, func(px, py float64) float64 { return math.Hypot(px-x, py-y) })
}

// paint blends col onto img with the accumulated coverage as alpha and
// records inked pixels in ink (indexed like the coverage), when non-nil.
func (c *coverage) paint(img *image.RGBA, col color.RGBA, ink []bool) {
	w := c.r.Dx()
	for i, a := range c.a {
		if a <= 0 {
			continue
		}
		x, y := c.r.Min.X+i%w, c.r.Min.Y+i/w
		if ink != nil && a > 0.1 {
			ink[i] = true
		}
		o := img.PixOffset(x, y)
		p := img.Pix[o : o+3 : o+3]
		p[0] = blend(p[0], col.R, a)
		p[1] = blend(p[1], col.G, a)
		p[2] = blend(p[2], col.B, a)
	}
}

func blend(dst, src uint8, a float32) uint8 {
	return uint8(float32(dst)*(1-a) + float32(src)*a + 0.5)
}

// fillRect fills r (clipped to the image) with an opaque colour.
func fillRect(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// hline and vline draw one-pixel axis-aligned lines, inclusive of both ends.
func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	fillRect(img, image.Rect(x0, y, x1+1, y+1), c)
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	fillRect(img, image.Rect(x, y0, x+1, y1+1), c)
}

// strokeRect draws a one-pixel rectangle outline on the border of r.
func strokeRect(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	hline(img, r.Min.X, r.Max.X-1, r.Min.Y, c)
	hline(img, r.Min.X, r.Max.X-1, r.Max.Y-1, c)
	vline(img, r.Min.X, r.Min.Y, r.Max.Y-1, c)
	vline(img, r.Max.X-1, r.Min.Y, r.Max.Y-1, c)
}
