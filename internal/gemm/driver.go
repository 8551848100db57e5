package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/duo-go/duo/internal/parallel"
)

// Micro-tile shape: the kernels compute mr x nr tiles of C.
const (
	mr = 6
	nr = 16
)

// workspace holds one goroutine's packing buffers. Workspaces are pooled so
// that steady-state calls do not allocate.
type workspace struct {
	a    []float32        // packed A block (mc x kc); small path: edge panels
	b    []float32        // small path: op(B) packed when B is transposed
	tile [mr * nr]float32 // edge tiles are computed here, then merged into C
}

var wsPool = sync.Pool{New: func() any { return new(workspace) }}

// grow returns (*s)[:n], reallocating when the capacity is short.
func grow(s *[]float32, n int) []float32 {
	if cap(*s) < n {
		*s = make([]float32, n)
	}
	return (*s)[:n]
}

// minParallelFlops is the least work (2*m*n*k) per goroutine, about 100us
// on one core: below it, starting and waiting for goroutines (tens of
// microseconds on a busy or virtualised machine) costs more than the split
// saves.
var minParallelFlops = 8e6

// Work split. The blocked product runs in passes, one per column block of C
// (at most NC wide, see colBlock) and super-block of K (so that the packed
// op(B) of a pass stays within bBudget, see kSuper); usually there is a
// single pass. Within a pass, C is cut into chunks (row blocks of mc rows,
// times column parts when there are too few row blocks to go round) that
// the goroutines take from a shared counter, so a goroutine that starts
// late or loses its core to another process just takes fewer chunks. Each
// chunk runs all K blocks of the pass for its C region, so no two
// goroutines ever write the same part of C at once, and beta is applied by
// the first K block of the product.
//
// op(B) of the pass is packed once into a buffer shared by all goroutines,
// lazily: the first goroutine that needs a group of panels for a K block
// packs it, the others use it (or wait the few microseconds until it is
// ready). op(A) is packed per chunk and K block into the goroutine's own
// workspace.
const (
	chunksPerThread = 3  // aim for this many chunks per goroutine
	minChunkRows    = 24 // rows of the smallest row block worth a chunk
	panelGroup      = 8  // B panels packed together (128 columns)
)

// bBudget bounds the floats of packed op(B) per pass (16 MiB).
var bBudget = 4 << 20

// Panel group states.
const (
	notPacked uint32 = iota
	packing
	packed
)

// product is one blocked Sgemm call's shared state. Products are pooled.
type product struct {
	asm, transA, transB bool
	m, n, k             int
	alpha, beta         float32
	a, b, c             []float32
	lda, ldb, ldc       int
	kc, mc, nic         int       // K block, tallest row chunk, row chunks
	bias                []float32 // n floats added to every row of C (SgemmBias), or nil

	// Current pass: columns [j0, j0+nb) of C, rows [k0, k0+kl) of op(B).
	j0, nb int
	k0, kl int
	panels int             // ceil(nb/nr)
	groups int             // ceil(panels/panelGroup)
	bp     []float32       // packed op(B) of the pass: per K block, panels of nr x kcur
	state  []atomic.Uint32 // per (K block, panel group)
	nj     int             // column parts of each row chunk
	next   atomic.Int64    // next chunk to take
}

var productPool = sync.Pool{New: func() any { return new(product) }}

// sgemmBlocked runs the blocked algorithm on t goroutines. asm selects the
// assembly kernel (else the portable Go kernel).
func sgemmBlocked(asm bool, t int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32) {
	pr := productPool.Get().(*product)
	*pr = product{
		asm: asm, transA: transA, transB: transB,
		m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, bias: bias,
		bp: pr.bp, state: pr.state,
	}
	pr.kc, pr.mc, pr.nic = blockSizes(m, k, t)
	nc := colBlock(n)
	for j0 := 0; j0 < n; j0 += nc {
		nb := min(nc, n-j0)
		ks := kSuper(nb, pr.kc)
		for k0 := 0; k0 < k; k0 += ks {
			pr.startPass(j0, nb, k0, min(ks, k-k0), t)
			if t <= 1 {
				pr.work()
				continue
			}
			parallel.For(t, 1, func(lo, hi int) {
				for range hi - lo {
					pr.work()
				}
			})
		}
	}
	// Drop the references to the caller's matrices before pooling.
	pr.a, pr.b, pr.c, pr.bias = nil, nil, nil, nil
	productPool.Put(pr)
}

// startPass prepares the shared state for one pass: columns [j0, j0+nb) of
// C and rows [k0, k0+kl) of op(B), on t goroutines.
func (pr *product) startPass(j0, nb, k0, kl, t int) {
	pr.j0, pr.nb = j0, nb
	pr.k0, pr.kl = k0, kl
	pr.panels = ceilDiv(nb, nr)
	pr.groups = ceilDiv(pr.panels, panelGroup)
	pr.bp = grow(&pr.bp, kl*pr.panels*nr)
	nk := ceilDiv(kl, pr.kc)
	if cap(pr.state) < nk*pr.groups {
		pr.state = make([]atomic.Uint32, nk*pr.groups)
	}
	pr.state = pr.state[:nk*pr.groups]
	for i := range pr.state {
		pr.state[i].Store(notPacked)
	}
	pr.nj = 1
	if t > 1 && pr.nic < chunksPerThread*t {
		pr.nj = min(pr.groups, ceilDiv(chunksPerThread*t, pr.nic))
	}
	pr.next.Store(0)
}

// work takes chunks of the current pass until none are left.
func (pr *product) work() {
	ws := wsPool.Get().(*workspace)
	ap := grow(&ws.a, roundUp(min(pr.mc, pr.m), mr)*pr.kc+packSlack)
	for {
		id := int(pr.next.Add(1) - 1)
		if id >= pr.nic*pr.nj {
			break
		}
		ic, ie := splitRange(pr.m, pr.nic, id/pr.nj, rowGrain())
		mcur := ie - ic
		g0, g1 := splitRange(pr.groups, pr.nj, id%pr.nj, 1)
		if g0 >= g1 {
			continue
		}
		p0 := g0 * panelGroup
		c0, c1 := p0*nr, min(g1*panelGroup*nr, pr.nb)
		// pc runs over the pass's K blocks, relative to k0.
		for pc := 0; pc < pr.kl; pc += pr.kc {
			kcur := min(pr.kc, pr.kl-pc)
			pr.ensureB(pc, kcur, g0, g1, id)
			packA(pr.transA, pr.a, pr.lda, ic, pr.k0+pc, mcur, kcur, ap)
			beta, bias := pr.beta, []float32(nil)
			if pr.k0+pc > 0 {
				beta = 1
			} else if pr.bias != nil { // the first K block starts from the bias
				bias = pr.bias[pr.j0+c0 : pr.j0+c1]
			}
			bp := pr.bp[pc*pr.panels*nr+p0*nr*kcur:]
			macroKernel(pr.asm, ws, mcur, c1-c0, kcur, pr.alpha, ap, bp, beta, pr.c[ic*pr.ldc+pr.j0+c0:], pr.ldc, bias)
		}
	}
	wsPool.Put(ws)
}

// ensureB makes sure panel groups [g0, g1) of the pass's K block at pc
// (relative to k0) are packed:
// it packs those nobody has claimed, then waits for those another goroutine
// is packing. Chunks start at different groups (rot) so that goroutines
// arriving together pack different groups.
func (pr *product) ensureB(pc, kcur, g0, g1, rot int) {
	st := pr.state[pc/pr.kc*pr.groups:]
	waiting := false
	ng := g1 - g0
	for i := range ng {
		g := g0 + (i+rot)%ng
		if st[g].Load() == packed {
			continue
		}
		if !st[g].CompareAndSwap(notPacked, packing) {
			waiting = true
			continue
		}
		p := g * panelGroup
		cols := min(panelGroup*nr, pr.nb-p*nr)
		packB(pr.transB, pr.b, pr.ldb, pr.k0+pc, pr.j0+p*nr, kcur, cols, pr.bp[pc*pr.panels*nr+p*nr*kcur:])
		st[g].Store(packed)
	}
	if !waiting {
		return
	}
	for g := g0; g < g1; g++ {
		for st[g].Load() != packed {
			runtime.Gosched()
		}
	}
}

// threadsFor returns how many goroutines an m x n x k product should use.
func threadsFor(m, n, k int) int {
	t := parallel.Threads()
	if t <= 1 {
		return 1
	}
	flops := 2 * float64(m) * float64(n) * float64(k)
	if lim := int(flops / minParallelFlops); lim < t {
		t = max(lim, 1)
	}
	// No more goroutines than micro-tiles.
	if tiles := ceilDiv(m, mr) * ceilDiv(n, nr); tiles < t {
		t = tiles
	}
	return t
}

// splitRange returns part idx of [0, n) cut into parts pieces whose bounds
// are multiples of gran.
func splitRange(n, parts, idx, gran int) (lo, hi int) {
	units := ceilDiv(n, gran)
	lo = min(n, idx*units/parts*gran)
	hi = min(n, (idx+1)*units/parts*gran)
	return lo, hi
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func roundUp(a, b int) int { return ceilDiv(a, b) * b }

// blockSizes returns the K block and the row chunks of C for an m x k
// op(A) on t goroutines: kc is the configured KC shrunk so the K blocks
// divide k evenly (no thin last block); C's rows are cut into nic chunks
// of whole row groups (rowGrain) as equal as whole groups allow, none over
// the configured MC (rounded down to whole groups), and with several
// goroutines at least chunksPerThread per goroutine (but none under
// minChunkRows) and a multiple of t, so every goroutine gets the same
// share of rows. mc is the tallest chunk.
func blockSizes(m, k, t int) (kc, mc, nic int) {
	kc = roundUp(ceilDiv(k, ceilDiv(k, blk.kc)), 4)
	target := blk.mc
	if t > 1 {
		target = min(target, max(minChunkRows, ceilDiv(m, chunksPerThread*t)))
	}
	g := rowGrain()
	units := ceilDiv(m, g)
	nic = ceilDiv(units, max(1, target/g))
	if t > 1 && nic > t {
		nic = min(roundUp(nic, t), units)
	}
	return kc, ceilDiv(units, nic) * g, nic
}

// rowGrain returns the rows of C the chunks come in: 12, a pair of tiles,
// for the AVX-512 kernel (a chunk with an odd tile count would run one on
// the AVX2 kernel), else one tile.
func rowGrain() int {
	if wide {
		return 2 * mr
	}
	return mr
}

// colBlock returns the width of the column blocks: all of n, or balanced
// blocks of at most the configured NC.
func colBlock(n int) int {
	if n <= blk.nc {
		return n
	}
	return roundUp(ceilDiv(n, ceilDiv(n, blk.nc)), nr)
}

// kSuper returns how many rows of op(B) one pass packs for a column block
// of nb columns: all of them unless the packed block (rows x nb) would pass
// bBudget, and a multiple of kc.
func kSuper(nb, kc int) int {
	rows := bBudget / roundUp(nb, nr)
	return max(kc, rows/kc*kc)
}

// macroKernel multiplies a packed mc x kc block of A by a packed kc x nc
// block of B into C (C = alpha*(bias + A*B) + beta*C, bias nil or nc
// floats added to every row). Edge tiles go through ws.tile.
func macroKernel(asm bool, ws *workspace, mc, nc, kc int, alpha float32, ap, bp []float32, beta float32, c []float32, ldc int, bias []float32) {
	// While the kernels of one B micro-panel run, the next micro-panel is
	// prefetched into L2 a slice per tile (it usually comes from L3).
	pfLines := ceilDiv(nr*kc*4/64, ceilDiv(mc, mr))
	full := mc / mr // row panels with mr rows
	for jr := 0; jr < nc; {
		if asm && wide && full >= 2 && jr+2*nr <= nc {
			// Two B micro-panels at once, two tiles high (12x32): the
			// AVX-512 kernel with the fewest loads per FMA.
			pairs := full / 2
			var tb, nextB []float32
			if bias != nil {
				tb = bias[jr : jr+2*nr]
			}
			if jr+2*nr < nc {
				nextB = bp[(jr+2*nr)*kc : (jr+2*nr)*kc+min(2*nr, nc-jr-2*nr)*kc]
			}
			asmKernelPairs(kc, pairs, ap, bp[jr*kc:(jr+2*nr)*kc], c[jr:], ldc, alpha, beta, tb, nextB, 2*pfLines)
			for p := range 2 {
				panelRows(asm, ws, jr+p*nr, pairs*2*mr, mc, nc, kc, alpha, ap, bp, beta, c, ldc, bias, pfLines)
			}
			jr += 2 * nr
			continue
		}
		panelRows(asm, ws, jr, 0, mc, nc, kc, alpha, ap, bp, beta, c, ldc, bias, pfLines)
		jr += nr
	}
}

// panelRows is macroKernel for the B micro-panel at column jr, rows ir0 to
// mc of the A block.
func panelRows(asm bool, ws *workspace, jr, ir0, mc, nc, kc int, alpha float32, ap, bp []float32, beta float32, c []float32, ldc int, bias []float32, pfLines int) {
	full := mc / mr
	cols := min(nr, nc-jr)
	bpan := bp[jr*kc : jr*kc+nr*kc]
	var tb []float32 // the bias of these columns
	if bias != nil {
		tb = bias[jr : jr+cols]
	}
	ir := ir0
	if asm && cols == nr && full > ir0/mr {
		// The full tiles of this column in one call.
		var nextB []float32
		if jr+nr < nc {
			nextB = bp[(jr+nr)*kc : (jr+nr)*kc+nr*kc]
		}
		asmKernelTiles(kc, full-ir0/mr, ap[ir0*kc:], bpan, c[ir0*ldc+jr:], ldc, alpha, beta, tb, nextB, pfLines)
		ir = full * mr
	}
	for ; ir < mc; ir += mr {
		rows := min(mr, mc-ir)
		apan := ap[ir*kc : ir*kc+mr*kc]
		if rows == mr && cols == nr { // only without asm
			goKernel(kc, apan, bpan, c[ir*ldc+jr:], ldc, alpha, beta, tb)
			continue
		}
		if asm {
			asmKernel(kc, apan, bpan, ws.tile[:], nr, alpha, 0, nil)
		} else {
			goKernel(kc, apan, bpan, ws.tile[:], nr, alpha, 0, nil)
		}
		mergeTile(&ws.tile, rows, cols, beta, c[ir*ldc+jr:], ldc, alpha, tb)
	}
}

// mergeTile writes the top-left rows x cols of tile + alpha*bias + beta*C
// into C (bias nil: zero; beta 0: C is not read).
func mergeTile(tile *[mr * nr]float32, rows, cols int, beta float32, c []float32, ldc int, alpha float32, bias []float32) {
	for i := 0; i < rows; i++ {
		crow := c[i*ldc : i*ldc+cols]
		t := tile[i*nr : i*nr+cols]
		if bias == nil && beta == 0 {
			copy(crow, t)
			continue
		}
		for j := range crow {
			v := t[j]
			if bias != nil {
				v += alpha * bias[j]
			}
			if beta != 0 {
				v += beta * crow[j]
			}
			crow[j] = v
		}
	}
}
