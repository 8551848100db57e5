package gemm

import (
	"runtime"
	"time"
)

// Peak is one core's measured float32 multiply-add rate: the ceiling a
// micro-kernel is judged against. Rates are GFLOP/s of one thread (a
// multiply-add counts two flops); 0 where the CPU or build lacks the
// instructions.
type Peak struct {
	AVX512 float64 // register-only 512-bit FMAs, enough chains to fill the pipes
	AVX2   float64 // the same with 256-bit FMAs
	// Kernel is the blocked path's micro-kernel (the one Kernel() names) on
	// packed panels that stay in cache as the driver lays them out: an A
	// block of MC x KC and one K block of B panels, no packing.
	Kernel float64
}

// Of returns the peak of the instruction set the blocked path runs (AVX512
// or AVX2; 0 for the portable kernel).
func (p Peak) Of() float64 {
	if wide {
		return p.AVX512
	}
	return p.AVX2
}

// MeasurePeak measures p on the calling goroutine's core, spending about d
// on each rate and keeping the fastest batch of each.
func MeasurePeak(d time.Duration) Peak {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var p Peak
	if fmaLoop(true, 1) {
		p.AVX512 = fastest(d, 768*20000, func() { fmaLoop(true, 20000) })
	}
	if fmaLoop(false, 1) {
		p.AVX2 = fastest(d, 192*80000, func() { fmaLoop(false, 80000) })
	}
	if accel {
		kc, mc := blk.kc, blk.mc/(2*mr)*(2*mr)
		ap := make([]float32, mc*kc)
		bp := make([]float32, 2*nr*kc)
		c := make([]float32, mc*2*nr)
		for i := range ap {
			ap[i] = float32(i%7) * 0.25
		}
		for i := range bp {
			bp[i] = float32(i%5) * 0.5
		}
		run := func() { asmKernelTiles(kc, mc/mr, ap, bp, c, 2*nr, 1, 0, nil, nil, 0) }
		flops := 2 * mc * nr * kc
		if wide {
			run = func() { asmKernelPairs(kc, mc/(2*mr), ap, bp, c, 2*nr, 1, 0, nil, nil, 0) }
			flops *= 2
		}
		p.Kernel = fastest(d, flops, run)
	}
	return p
}

// fastest repeats f (flops floating-point operations a call) for about d and
// returns the fastest call's rate in GFLOP/s.
func fastest(d time.Duration, flops int, f func()) float64 {
	f() // warm up: caches, and the clock of the wide units
	best := time.Duration(1<<63 - 1)
	for start := time.Now(); time.Since(start) < d; {
		t := time.Now()
		f()
		best = min(best, time.Since(t))
	}
	return float64(flops) / max(best.Seconds(), 1e-9) / 1e9
}
