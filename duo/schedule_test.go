package duo

import (
	"math"
	"testing"
)

func TestScheduleAlphaPrime(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Schedule
	}{
		{"loglinear", LogLinear{Eps: DefaultEps}},
		{"loglinear0", LogLinear{}},
		{"cosine", Cosine{Eps: DefaultEps}},
		{"cosine.1", Cosine{Eps: 0.1}},
	} {
		if a := tc.s.Alpha(0); math.Abs(a-1) > 1e-15 {
			t.Errorf("%s: alpha(0) = %v", tc.name, a)
		}
		for _, x := range []float64{0.01, 0.2, 0.5, 0.77, 0.99} {
			const h = 1e-5
			fd := (tc.s.Alpha(x+h) - tc.s.Alpha(x-h)) / (2 * h)
			if d := tc.s.AlphaPrime(x); math.Abs(d-fd) > 1e-8 {
				t.Errorf("%s: alpha'(%v) = %v, finite difference %v", tc.name, x, d, fd)
			}
		}
	}
	if a := (LogLinear{}).Alpha(1); math.Abs(a-DefaultEps) > 1e-15 {
		t.Errorf("loglinear alpha(1) = %v, want eps", a)
	}
	if s := Sigma(math.Exp(-2.5)); math.Abs(s-2.5) > 1e-15 {
		t.Errorf("Sigma = %v", s)
	}
}

func TestAntitheticTimes(t *testing.T) {
	for _, n := range []int{1, 2, 7, 64} {
		for _, u := range []float64{1e-9, 0.3, 0.999999} {
			ts := make([]float64, n)
			AntitheticTimes(ts, u)
			hit := make([]int, n)
			w := (1 - TimeEps) / float64(n)
			for _, x := range ts {
				if x < TimeEps || x > 1 {
					t.Fatalf("n=%d u=%v: t = %v outside [1e-3, 1]", n, u, x)
				}
				hit[min(int((x-TimeEps)/w), n-1)]++
			}
			for j, c := range hit {
				if c != 1 {
					t.Errorf("n=%d u=%v: stratum %d has %d points", n, u, j, c)
				}
			}
		}
	}
}

var _ = []Schedule{LogLinear{}, Cosine{}, DualSchedule{}}
