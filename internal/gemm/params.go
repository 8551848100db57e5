package gemm

import "github.com/klauspost/cpuid/v2"

// blocking holds the cache block sizes of the blocked driver.
type blocking struct {
	kc int // K block: a kc x nr B micro-panel stays in L1
	mc int // M block: an mc x kc packed A block stays in L2
	nc int // widest column block: a kc x nc packed B block stays in L3
}

// blk is chosen once from the cache sizes that cpuid reports.
var blk = chooseBlocking(cpuid.CPU.Cache.L1D, cpuid.CPU.Cache.L2, cpuid.CPU.Cache.L3)

// chooseBlocking derives the blocks from the per-core L1D and L2 and the L3
// sizes in bytes; unknown sizes (<= 0) get the defaults of a Zen 3 / Skylake
// class core (32 KiB, 512 KiB, 16 MiB). On Zen 3 (32 KiB L1D, 512 KiB L2,
// 32 MiB L3) it returns KC=256, MC=144, NC=4096.
func chooseBlocking(l1, l2, l3 int) blocking {
	if l1 <= 0 {
		l1 = 32 << 10
	}
	if l2 <= 0 {
		l2 = 512 << 10
	}
	if l3 <= 0 {
		l3 = 16 << 20
	}
	var b blocking
	// Half of L1 for the B micro-panel (kc*nr floats); the rest holds the
	// A micro-panel being streamed and the C tile.
	b.kc = clampRound(l1/2/(nr*4), 64, 512, 8)
	// About 28% of L2 for the A block, leaving room for the B micro-panels
	// and C tiles passing through.
	b.mc = clampRound(l2*9/32/(b.kc*4), 4*mr, 480, mr)
	// The widest column block: a K block of packed B (kc*nc floats) in a
	// quarter of L3, capped (the packed B of a whole column block is also
	// bounded by bBudget).
	b.nc = clampRound(l3/4/(b.kc*4), 32*nr, 4096, nr)
	return b
}

// clampRound returns v rounded down to a multiple of step, within [lo, hi].
func clampRound(v, lo, hi, step int) int {
	v = v / step * step
	return max(lo, min(hi, v))
}
