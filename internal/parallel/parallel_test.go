package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cover runs For and checks that every index of [0, n) is visited once.
func cover(t *testing.T, n, grain int) {
	t.Helper()
	hits := make([]atomic.Int32, n)
	For(n, grain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			hits[i].Add(1)
		}
	})
	for i := range hits {
		if h := hits[i].Load(); h != 1 {
			t.Fatalf("For(%d, %d): index %d visited %d times", n, grain, i, h)
		}
	}
}

// SetThreads is also the process's GOMAXPROCS, and gives both back.
func TestSetThreadsSetsGOMAXPROCS(t *testing.T) {
	prev, procs := Threads(), runtime.GOMAXPROCS(0)
	for _, n := range []int{1, 3, 0} {
		SetThreads(n)
		want := max(n, 1)
		if Threads() != want || runtime.GOMAXPROCS(0) != want {
			t.Errorf("SetThreads(%d): Threads %d, GOMAXPROCS %d; want %d", n, Threads(), runtime.GOMAXPROCS(0), want)
		}
	}
	SetThreads(prev)
	if runtime.GOMAXPROCS(0) != prev {
		t.Errorf("SetThreads(%d) left GOMAXPROCS %d", prev, runtime.GOMAXPROCS(0))
	}
	runtime.GOMAXPROCS(procs)
}

func TestForCovers(t *testing.T) {
	defer SetThreads(SetThreads(4))
	for _, c := range []struct{ n, grain int }{{0, 1}, {1, 1}, {3, 1}, {7, 2}, {100, 1}, {1000, 300}, {5, 100}} {
		for range 50 {
			cover(t, c.n, c.grain)
		}
	}
}

// Loops from inside loops, from several goroutines at once, with the
// thread count changing.
func TestForNestedConcurrent(t *testing.T) {
	defer SetThreads(SetThreads(3))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				var sum atomic.Int64
				For(30, 1, func(lo, hi int) {
					For(hi-lo, 1, func(a, b int) { sum.Add(int64(b - a)) })
				})
				if s := sum.Load(); s != 30 {
					t.Errorf("goroutine %d, loop %d: nested loops covered %d of 30", g, i, s)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, n := range []int{1, 2, 5, 2} {
		SetThreads(n)
		cover(t, 64, 1)
	}
}

// Loops after the workers have gone to sleep, and with one P (where the
// workers must not poll), still cover their range.
func TestForSleepingWorkersAndOneProc(t *testing.T) {
	defer SetThreads(SetThreads(2))
	for range 5 {
		cover(t, 10, 1)
		time.Sleep(2 * spinTime) // every worker asleep
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	start := time.Now()
	for range 200 {
		cover(t, 10, 1)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("200 loops with GOMAXPROCS 1 took %v", d)
	}
}

// BenchmarkFor measures the cost of one parallel loop of almost no work.
func BenchmarkFor(b *testing.B) {
	defer SetThreads(SetThreads(2))
	var x atomic.Int64
	for b.Loop() {
		For(2, 1, func(lo, hi int) { x.Add(int64(hi - lo)) })
	}
}
