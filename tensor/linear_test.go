package tensor

import (
	"math"
	"testing"

	"github.com/duo-go/duo/internal/parallel"
)

// LinearGrads writes the gradients LinearBackward accumulates into zeros.
func TestLinearGradsMatchLinearBackward(t *testing.T) {
	rng := NewRNG(11)
	for _, c := range []struct {
		rows, in, out  int
		wantDX, wantDB bool
	}{{37, 19, 23, true, true}, {64, 96, 48, false, true}, {5, 7, 3, true, false}} {
		x, w, g := New(c.rows, c.in), New(c.out, c.in), New(c.rows, c.out)
		rng.Normal(x, 0, 1)
		rng.Normal(w, 0, 1)
		rng.Normal(g, 0, 1)
		dw0, db0 := New(c.out, c.in), New(c.out)
		dx0 := LinearBackward(g, x, w, dw0, db0, c.wantDX)
		dx, dw, db := LinearGrads(g, x, w, c.wantDX, true, c.wantDB)
		same := func(what string, got, want *Tensor) {
			t.Helper()
			if (got == nil) != (want == nil) {
				t.Fatalf("%+v: %s present %v, want %v", c, what, got != nil, want != nil)
			}
			if got == nil {
				return
			}
			for i, v := range want.Host() {
				if d := math.Abs(float64(got.Host()[i] - v)); d > 1e-5*(1+math.Abs(float64(v))) {
					t.Fatalf("%+v: %s[%d] = %g, want %g", c, what, i, got.Host()[i], v)
				}
			}
		}
		same("dx", dx, dx0)
		same("dw", dw, dw0)
		if c.wantDB {
			same("db", db, db0)
		} else if db != nil {
			t.Fatalf("%+v: db without wantDB", c)
		}
	}
}

// The bias gradient is the column sums of g, however many goroutines split
// the columns (and it accumulates into db).
func TestLinearBackwardBiasGrad(t *testing.T) {
	rng := NewRNG(12)
	for _, threads := range []int{1, 2, 3} {
		for _, c := range []struct{ rows, out int }{{1, 1}, {7, 65}, {33, 300}, {130, 768}} {
			func() {
				defer parallel.SetThreads(parallel.SetThreads(threads))
				x, w, g := New(c.rows, 4), New(c.out, 4), New(c.rows, c.out)
				rng.Normal(g, 0, 1)
				db := New(c.out)
				db.Host()[0] = 1 // accumulates
				LinearBackward(g, x, w, nil, db, false)
				for j := range c.out {
					want := 0.0
					if j == 0 {
						want = 1
					}
					for r := range c.rows {
						want += float64(g.Host()[r*c.out+j])
					}
					if d := math.Abs(float64(db.Host()[j]) - want); d > 1e-5*(1+math.Abs(want)) {
						t.Fatalf("threads %d, %+v: db[%d] = %g, want %g", threads, c, j, db.Host()[j], want)
					}
				}
			}()
		}
	}
}
