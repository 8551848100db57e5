// Package parallel runs loops over goroutines with a process-wide thread count.
//
// Every CPU kernel of the engine splits its work with For, so one setting
// (SetThreads, or the DUO_THREADS environment variable) controls how many
// cores a training step uses. The setting is also the Go scheduler's
// GOMAXPROCS, so that n threads means n cores for the whole process (the
// garbage collector's work included): a one-thread run is then really one
// core, and it is faster than one worker among two Ps, which pay for
// waking the idle P's thread at every preemption.
package parallel

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var threads atomic.Int32

func init() {
	n := runtime.GOMAXPROCS(0)
	if s := os.Getenv("DUO_THREADS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	SetThreads(n)
}

// Threads reports how many goroutines For may use.
func Threads() int { return int(threads.Load()) }

// SetThreads sets how many goroutines For may use, and GOMAXPROCS to the
// same number; n < 1 means 1. It returns the previous setting.
func SetThreads(n int) int {
	if n < 1 {
		n = 1
	}
	if n != runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(n)
	}
	return int(threads.Swap(int32(n)))
}

// For calls fn(lo, hi) over disjoint ranges that cover [0, n).
// Ranges hold at least grain items, so small loops stay on one goroutine.
// The caller runs the first range itself; resident workers take the others
// (see pool), or new goroutines when the workers are busy with another loop
// (a loop inside a loop, or loops from several goroutines at once).
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
	if workers.run(n, t, fn) {
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

// Resident workers. Starting a goroutine costs under a microsecond, but when
// the other cores are idle the runtime must wake an OS thread to run it,
// which takes 20-70 us on a virtual machine: longer than a 256^3 matrix
// product spends on a core. So For hands its ranges to workers that, after
// each loop, keep polling for the next one for spinTime (as OpenBLAS's
// threads do) and only then sleep; loops that follow each other closely, as
// a training step's do, start on every core at once.
var workers pool

// spinTime is how long an idle worker polls before it sleeps.
const spinTime = 100 * time.Microsecond

// job is one loop: parts [0, t) of [0, n), taken in order.
type job struct {
	fn       func(lo, hi int)
	n, t     int
	next     atomic.Int32 // next part to take
	finished atomic.Int32 // parts done
}

// runParts takes and runs parts until none are left.
func (j *job) runParts() {
	for {
		i := int(j.next.Add(1)) - 1
		if i >= j.t {
			return
		}
		j.fn(i*j.n/j.t, (i+1)*j.n/j.t)
		j.finished.Add(1)
	}
}

type pool struct {
	busy atomic.Bool   // a loop owns the workers
	gen  atomic.Uint64 // counts published jobs
	job  atomic.Pointer[job]
	ws   []*worker // touched only by the loop holding busy
}

type worker struct {
	asleep atomic.Bool
	wake   chan struct{} // one token wakes a sleeping worker
}

// run executes the loop on the workers and the caller, or reports false
// when another loop holds the workers.
func (p *pool) run(n, t int, fn func(lo, hi int)) bool {
	if !p.busy.CompareAndSwap(false, true) {
		return false
	}
	defer p.busy.Store(false)
	p.ensure(t - 1)
	j := &job{fn: fn, n: n, t: t}
	p.job.Store(j)
	p.gen.Add(1)
	for _, w := range p.ws[:t-1] {
		if w.asleep.Load() {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
	j.runParts()
	for i := 0; j.finished.Load() < int32(t); i++ {
		if i%64 == 63 {
			runtime.Gosched()
		}
	}
	return true
}

// ensure starts workers until there are at least k. Only the loop holding
// busy calls it.
func (p *pool) ensure(k int) {
	for len(p.ws) < k {
		w := &worker{wake: make(chan struct{}, 1)}
		p.ws = append(p.ws, w)
		go p.loop(w, p.gen.Load())
	}
}

// loop is a worker: wait for a job newer than seen, help with it, repeat.
func (p *pool) loop(w *worker, seen uint64) {
	for {
		// With one P, polling would only keep the loop's caller from
		// running.
		spin := runtime.GOMAXPROCS(0) > 1
		deadline := time.Now().Add(spinTime)
		for i := 0; p.gen.Load() == seen; i++ {
			if !spin || (i%256 == 255 && time.Now().After(deadline)) {
				// Sleep. The publisher bumps gen before it looks at
				// asleep, so either it sees asleep and sends a token or
				// this check sees the new gen.
				w.asleep.Store(true)
				if p.gen.Load() == seen {
					<-w.wake
				}
				w.asleep.Store(false)
				deadline = time.Now().Add(spinTime)
			}
		}
		seen = p.gen.Load()
		if j := p.job.Load(); j != nil {
			j.runParts()
		}
	}
}
