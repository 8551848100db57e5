package duo

import (
	"math"
	"reflect"
	"testing"

	"github.com/duo-go/duo/tensor"
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

// A schedule chosen by name reaches the objective, and sampling and
// evaluation use the objective's: the same draws as passing the schedule
// itself, not those of the log-linear one.
func TestScheduleNamed(t *testing.T) {
	if _, err := ScheduleNamed("sigmoid"); err == nil {
		t.Error(`ScheduleNamed("sigmoid") succeeded`)
	}
	for _, tc := range []struct {
		name string
		want Schedule
	}{{"", LogLinear{}}, {ScheduleLogLinear, LogLinear{}}, {ScheduleCosine, Cosine{}}} {
		obj, err := ModelInfo{Objective: ObjectiveUDLM, Schedule: tc.name}.EvalObjective()
		if err != nil {
			t.Fatal(err)
		}
		if got := obj.(USDM).Schedule; got != tc.want {
			t.Errorf("schedule %q: objective's schedule %#v, want %#v", tc.name, got, tc.want)
		}
	}
	m := randomTinyDiT(t)
	cfg := SampleConfig{Steps: 6, Sampler: SamplerAncestral, TopP: 1, Batch: 4, Length: 8, Seed: 2}
	draw := func(c SampleConfig) [][]int32 {
		out, err := Sample(m, c)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	byObj, byCfg, byDefault := cfg, cfg, cfg
	byObj.Objective = USDM{Schedule: Cosine{}}
	byCfg.Schedule = Cosine{}
	a, b, c := draw(byObj), draw(byCfg), draw(byDefault)
	if !reflect.DeepEqual(a, b) || reflect.DeepEqual(a, c) {
		t.Errorf("samples under the objective's cosine schedule %v; under SampleConfig.Schedule %v; log-linear %v", a, b, c)
	}
	x := make([]int32, 4*8)
	for i := range x {
		x[i] = int32(i % 11)
	}
	nll := func(o Objective) float64 {
		v, err := o.NLL(m, Batch{Tokens: x, B: 4, RNG: tensor.NewRNG(3)})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if nll(USDM{Schedule: Cosine{}}) == nll(USDM{}) {
		t.Error("the NLL estimate is the same under the cosine and log-linear schedules")
	}
}
