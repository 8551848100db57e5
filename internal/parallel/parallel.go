// Package parallel runs loops over goroutines with a process-wide thread count.
//
// Every CPU kernel of the engine splits its work with For, so one setting
// (SetThreads, or the DUO_THREADS environment variable) controls how many
// cores a training step uses.
package parallel

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

var threads atomic.Int32

func init() {
	n := runtime.GOMAXPROCS(0)
	if s := os.Getenv("DUO_THREADS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	threads.Store(int32(n))
}

// Threads reports how many goroutines For may use.
func Threads() int { return int(threads.Load()) }

// SetThreads sets how many goroutines For may use; n < 1 means 1.
// It returns the previous setting.
func SetThreads(n int) int {
	if n < 1 {
		n = 1
	}
	return int(threads.Swap(int32(n)))
}

// For calls fn(lo, hi) over disjoint ranges that cover [0, n).
// Ranges hold at least grain items, so small loops stay on one goroutine.
func For(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	t := Threads()
	if m := (n + grain - 1) / grain; m < t {
		t = m
	}
	if t <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(t - 1)
	for i := 1; i < t; i++ {
		lo, hi := i*n/t, (i+1)*n/t
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(0, n/t)
	wg.Wait()
}
