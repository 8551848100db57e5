package gemmref

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// TestReferencesAgree multiplies the same operands with the engine and each
// reference library compiled in (go test -tags openblas) and requires the
// same product, so a table never compares a library computing something
// else (a swapped layout, a wrong leading dimension).
func TestReferencesAgree(t *testing.T) {
	if len(References()) == 0 {
		t.Log("built without -tags openblas: no reference libraries to compare")
	}
	for _, layout := range []string{"NN", "NT", "TN", "TT"} {
		c, err := ParseCase(layout + ":37:45:29")
		if err != nil {
			t.Fatal(err)
		}
		o := NewOperands(c)
		o.Run(Engine)
		want := append([]float32(nil), o.C...)
		for _, lib := range References() {
			clear(o.C)
			o.Run(lib)
			for i := range want {
				if d := math.Abs(float64(o.C[i] - want[i])); d > 1e-4 {
					t.Fatalf("%s %s: C[%d] = %g, engine %g", lib.Name, layout, i, o.C[i], want[i])
				}
			}
		}
	}
}

func TestParseCase(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Case
		ok   bool
	}{
		{"NN/512", Cases[1], true},
		{"TN:3:4:5", Case{"TN:3:4:5", true, false, 3, 4, 5}, true},
		{"NT:1:1:1", Case{"NT:1:1:1", false, true, 1, 1, 1}, true},
		{"XN:3:4:5", Case{}, false},
		{"NN:3:0:5", Case{}, false},
		{"NN:3:4", Case{}, false},
		{"NN/17", Case{}, false},
	} {
		got, err := ParseCase(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseCase(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// benchExtra are shapes the benchmark adds to Cases: the TT layout, a small
// product and one head of attention.
var benchExtra = []string{"TT:4096:3072:768", "NN:64:64:64", "NT:128:128:64"}

// BenchmarkSgemm is duo bench gemm as go test -bench: every case (and
// benchExtra), thread count and library side by side, with GFLOP/s (mean of
// the timed calls, after a pause and one warm-up call) as a metric:
//
//	go test -tags openblas -run NONE -bench . -benchtime 2s ./internal/gemmref
//
// Without the tag it measures the engine alone.
func BenchmarkSgemm(b *testing.B) {
	libs := append([]Lib{Engine}, References()...)
	cases := slices.Clone(Cases)
	for _, name := range benchExtra {
		c, err := ParseCase(name)
		if err != nil {
			b.Fatal(err)
		}
		cases = append(cases, c)
	}
	for _, c := range cases {
		o := NewOperands(c)
		for _, threads := range []int{1, 2} {
			for _, lib := range libs {
				b.Run(fmt.Sprintf("%s/threads=%d/%s", c.Name, threads, lib.Name), func(b *testing.B) {
					restore := lib.Threads(threads)
					defer restore()
					// Untimed: let the previous library's spinning threads
					// go idle, then one warm-up call.
					time.Sleep(100 * time.Millisecond)
					o.Run(lib)
					for b.Loop() {
						o.Run(lib)
					}
					b.ReportMetric(c.Flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
