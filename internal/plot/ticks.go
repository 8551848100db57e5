package plot

import (
	"math"
	"strconv"
)

// tick is a labelled position on an axis.
type tick struct {
	v     float64 // data value
	label string
}

// axis maps data values to the unit interval; lo and hi are in transformed
// space (log10 of the data on a log axis).
type axis struct {
	log    bool
	lo, hi float64
	major  []tick
	minor  []float64 // unlabelled grid positions (data values)
}

// pad is the fraction of the data range added as margin at each end.
const pad = 0.04

// newAxis builds an axis covering the finite data range [lo, hi] with at
// most maxTicks labelled ticks (lo and hi must be positive on a log axis).
func newAxis(lo, hi float64, log bool, maxTicks int) axis {
	a := axis{log: log}
	if log {
		lo, hi = math.Log10(lo), math.Log10(hi)
		if hi-lo < 1e-9 {
			lo, hi = lo-0.5, hi+0.5
		}
	} else if hi-lo <= 1e-12*math.Max(math.Abs(lo), math.Abs(hi)) {
		d := math.Abs(hi) * 0.1
		if d == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	p := (hi - lo) * pad
	a.lo, a.hi = lo-p, hi+p
	if log {
		a.logTicks(maxTicks)
	} else {
		a.major = linearTicks(a.lo, a.hi, maxTicks)
	}
	return a
}

// t maps a data value to [0, 1] across the axis.
func (a *axis) t(v float64) float64 {
	if a.log {
		v = math.Log10(v)
	}
	return (v - a.lo) / (a.hi - a.lo)
}

// niceStep returns the smallest 1, 2 or 5 times a power of ten >= rough.
func niceStep(rough float64) float64 {
	e := math.Floor(math.Log10(rough))
	base := math.Pow(10, e)
	for _, m := range []float64{1, 2, 5, 10} {
		if m*base >= rough*(1-1e-9) {
			return m * base
		}
	}
	return 10 * base
}

// linearTicks places ticks at multiples of the finest 1-2-5 step that puts
// at most maxTicks of them inside [lo, hi].
func linearTicks(lo, hi float64, maxTicks int) []tick {
	maxTicks = max(maxTicks, 2)
	step := niceStep((hi - lo) / float64(maxTicks) / 10)
	var k0, k1 float64
	for {
		k0, k1 = math.Ceil(lo/step-1e-9), math.Floor(hi/step+1e-9)
		if k1-k0+1 <= float64(maxTicks) {
			break
		}
		step = niceStep(step * 1.01)
	}
	// Very large or small values share one exponent: "0.5e6 1.0e6 1.5e6".
	big := math.Max(math.Abs(lo), math.Abs(hi))
	exp := big >= 1e6 || big < 1e-3
	e := int(math.Floor(math.Log10(big)))
	digits := -int(math.Floor(math.Log10(step) + 1e-9))
	var ts []tick
	for k := k0; k <= k1; k++ {
		v := k * step
		var label string
		switch {
		case k == 0 && exp:
			label = "0"
		case k == 0:
			v = 0 // avoid "-0"
			label = strconv.FormatFloat(0, 'f', max(digits, 0), 64)
		case exp:
			label = strconv.FormatFloat(v/math.Pow10(e), 'f', max(digits+e, 0), 64) + "e" + strconv.Itoa(e)
		default:
			label = strconv.FormatFloat(v, 'f', max(digits, 0), 64)
		}
		ts = append(ts, tick{v, label})
	}
	return ts
}

// formatLog formats m*10^d, switching to exponent form outside 1e-3..1e4.
func formatLog(m, d int) string {
	if d >= -3 && d <= 4 {
		return strconv.FormatFloat(float64(m)*math.Pow10(d), 'f', -1, 64)
	}
	return strconv.Itoa(m) + "e" + strconv.Itoa(d)
}

// logTicks labels powers of ten, plus the 2 and 5 multiples when that
// leaves fewer than three labels; over less than a decade it falls back to
// linear ticks. Unlabelled multiples become minor grid lines.
func (a *axis) logTicks(maxTicks int) {
	const eps = 1e-9
	maxTicks = max(maxTicks, 2)
	in := func(m, d int) bool {
		l := math.Log10(float64(m)) + float64(d)
		return l >= a.lo-eps && l <= a.hi+eps
	}
	d0, d1 := int(math.Ceil(a.lo-eps)), int(math.Floor(a.hi+eps))
	n := d1 - d0 + 1
	if n < 3 {
		var major []tick
		var minor []float64
		for d := d0 - 1; d <= d1; d++ {
			for m := 1; m <= 9; m++ {
				switch {
				case !in(m, d):
				case m == 1 || m == 2 || m == 5:
					major = append(major, tick{float64(m) * math.Pow10(d), formatLog(m, d)})
				default:
					minor = append(minor, float64(m)*math.Pow10(d))
				}
			}
		}
		if len(major) >= 2 && len(major) <= maxTicks {
			a.major, a.minor = major, minor
			return
		}
	}
	if n < 2 {
		a.major = linearTicks(math.Pow(10, a.lo), math.Pow(10, a.hi), maxTicks)
		return
	}
	k := (n + maxTicks - 1) / maxTicks
	mod := func(d int) int { return (d%k + k) % k }
	off := 0 // label multiples of k decades, or start at d0 if that gives one label
	if d1-mod(d1)-k < d0 {
		off = mod(d0)
	}
	for d := d0; d <= d1; d++ {
		switch {
		case mod(d-off) == 0:
			a.major = append(a.major, tick{math.Pow10(d), formatLog(1, d)})
		case n <= 60:
			a.minor = append(a.minor, math.Pow10(d))
		}
	}
	if k == 1 {
		for d := d0 - 1; d <= d1; d++ {
			for m := 2; m <= 9; m++ {
				if in(m, d) {
					a.minor = append(a.minor, float64(m)*math.Pow10(d))
				}
			}
		}
	}
}
