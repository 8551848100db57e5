package tensor

import (
	"math"
	"testing"
)

// The float32 fast functions must stay within a few ulps of package math
// across their whole range.
func TestFastMath(t *testing.T) {
	cases := []struct {
		name   string
		f      func(float32) float32
		ref    func(float64) float64
		lo, hi float64
		tol    float64 // relative
	}{
		{"expf", expf, math.Exp, -87, 88.7, 4e-7},
	}
	for _, c := range cases {
		worst := 0.0
		for i := 0; i <= 200000; i++ {
			x := float32(c.lo + (c.hi-c.lo)*float64(i)/200000)
			want := c.ref(float64(x))
			got := float64(c.f(x))
			if e := math.Abs(got-want) / math.Max(math.Abs(want), 1e-30); e > worst {
				worst = e
			}
		}
		if worst > c.tol {
			t.Errorf("%s: worst relative error %.3g > %.3g", c.name, worst, c.tol)
		}
	}
	if !math.IsInf(float64(expf(100)), 1) || expf(-100) != 0 || !math.IsNaN(float64(expf(float32(math.NaN())))) {
		t.Error("expf: wrong result outside the finite range")
	}
}
