package duo

import (
	"fmt"
	"math"
)

// DefaultEps is the schedule floor used by the paper: alpha_1 = eps.
const DefaultEps = 1e-3

// Schedule is a USDM noise schedule: the signal level alpha_t (decreasing,
// alpha_0 = 1) and its time derivative alpha'_t (negative). Spec section 1.
type Schedule interface {
	Alpha(t float64) float64
	AlphaPrime(t float64) float64
}

// LogLinear is the log-linear schedule alpha_t = 1 - (1-eps) t used for text
// (spec section 1). A zero Eps means DefaultEps.
type LogLinear struct{ Eps float64 }

// Cosine is the cosine schedule of Chapter II (images), spec section 1.
// A zero Eps means DefaultEps.
type Cosine struct{ Eps float64 }

// Schedule names, as config.json and state.json record them.
const (
	ScheduleLogLinear = "loglinear" // the paper's schedule for text
	ScheduleCosine    = "cosine"
)

// ScheduleNamed returns the schedule called name, with the paper's eps ("" is
// log-linear: configurations older than the choice, and the authors' models).
func ScheduleNamed(name string) (Schedule, error) {
	switch name {
	case "", ScheduleLogLinear:
		return LogLinear{}, nil
	case ScheduleCosine:
		return Cosine{}, nil
	}
	return nil, fmt.Errorf("noise schedule %q: want loglinear or cosine", name)
}

func eps(e float64) float64 {
	if e == 0 {
		return DefaultEps
	}
	return e
}

// Alpha returns alpha_t = 1 - (1-eps) t.
func (s LogLinear) Alpha(t float64) float64 { return 1 - (1-eps(s.Eps))*t }

// AlphaPrime returns d alpha_t / dt = -(1-eps).
func (s LogLinear) AlphaPrime(t float64) float64 { return -(1 - eps(s.Eps)) }

// Alpha returns alpha_t = 1 - cos(pi/2 (1 - (1-eps) t)).
func (s Cosine) Alpha(t float64) float64 {
	return 1 - math.Cos(math.Pi/2*(1-(1-eps(s.Eps))*t))
}

// AlphaPrime returns the exact derivative of Alpha,
// -(1-eps) pi/2 sin(pi/2 (1 - (1-eps) t)). The reference code omits the
// (1-eps) chain-rule factor (a 0.1% difference); this one does not.
func (s Cosine) AlphaPrime(t float64) float64 {
	e := eps(s.Eps)
	return -(1 - e) * math.Pi / 2 * math.Sin(math.Pi/2*(1-(1-e)*t))
}

// Sigma is the network's time conditioning, sigma = -log(alpha). Spec section 1.
func Sigma(alpha float64) float64 { return -math.Log(alpha) }

// TimeEps is the lower end of the training / evaluation time range [TimeEps, 1].
const TimeEps = 1e-3

// AntitheticTimes fills dst (one entry per sequence of the global batch, n =
// len(dst)) with low-discrepancy times from a single uniform u in [0,1):
// t_j = (u/n + j/n) mod 1, then mapped affinely onto [TimeEps, 1]. Each t_j
// lies in its own stratum of width (1-TimeEps)/n. Spec section 2.
func AntitheticTimes(dst []float64, u float64) {
	n := float64(len(dst))
	for j := range dst {
		t := math.Mod(u/n+float64(j)/n, 1)
		dst[j] = (1-TimeEps)*t + TimeEps
	}
}
