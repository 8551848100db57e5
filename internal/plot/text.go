package plot

import (
	"image"
	"image/color"
	"unicode/utf8"
)

// glyph returns the bitmap of r, substituting '?' for runes the font lacks.
func glyph(r rune) *[glyphH]uint8 {
	if r < fontMin || r >= fontMin+rune(len(font)) {
		r = '?'
	}
	return &font[r-fontMin]
}

// textWidth is the width in pixels of s drawn at the given scale.
func textWidth(s string, scale int) int {
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return 0
	}
	return (n*cellW - 1) * scale
}

// drawText draws s with the top-left corner of its first cell at (x, y).
// With vertical set the text is rotated a quarter turn counter-clockwise, so
// it reads bottom to top and (x, y) is the bottom-left corner of the first cell.
func drawText(img *image.RGBA, x, y int, s string, scale int, c color.RGBA, vertical bool) {
	pen := 0
	for _, r := range s {
		g := glyph(r)
		for row, bits := range g {
			for col := 0; col < glyphW; col++ {
				if bits&(1<<(glyphW-1-col)) == 0 {
					continue
				}
				gx, gy := (pen+col)*scale, row*scale
				for dy := 0; dy < scale; dy++ {
					for dx := 0; dx < scale; dx++ {
						if vertical {
							img.SetRGBA(x+gy+dy, y-gx-dx, c)
						} else {
							img.SetRGBA(x+gx+dx, y+gy+dy, c)
						}
					}
				}
			}
		}
		pen += cellW
	}
}

// fitText shortens s with a trailing "..." until it is at most w pixels wide.
func fitText(s string, scale, w int) string {
	if textWidth(s, scale) <= w {
		return s
	}
	rs := []rune(s)
	for len(rs) > 0 && textWidth(string(rs)+"...", scale) > w {
		rs = rs[:len(rs)-1]
	}
	return string(rs) + "..."
}
