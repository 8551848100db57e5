package gemm

import "github.com/duo-go/duo/internal/parallel"

// Thin products with B transposed: C = op(A) B^T with at most thinRows rows,
// a Linear layer's forward on a handful of tokens (B is then the weight
// matrix, n x k). The blocked path would pack all of B^T, which costs as much
// as the product when each element of B meets only a few rows of A. Here the
// roles swap: C^T = B op(A)^T. The strided kernel reads six rows of B where
// they are, as its A operand, against op(A)^T packed once into 16-column
// panels (zero past m), and each 6x16 tile of C^T goes into C transposed;
// on AVX-512, twelve rows of B against pairs of panels (12x32 tiles).

// The thin path takes products of up to thinRows rows when B has at least
// thinMinB elements, and of up to thinRowsLarge rows when B has at least
// thinLargeB and the packed panels of op(A)^T hold at most thinMaxPanels
// floats (they stream past every six rows of B). Measured with `duo bench
// gemm`, GFLOP/s on one / two threads, blocked path against thin path: a
// large B^T comes from memory, and packing it costs the blocked path most
// at few rows (NT 96x3072x768: 49.6 / 91.1 blocked, 69.3 / 114.7 thin; 128
// rows: 57.0 / 96.2 and 72.3 / 138.1; 256 rows: 66.7 / 105.9 and 74.2 /
// 118.1), until about 384 rows (70.1 / 132.9 and 75.7 / 124.9). A small B
// is cheap to pack: at 16x128x64 the thin path ran at 48 and the small path
// at 58 (17 rows), and the blocked path wins from about 64 rows on (79-81
// against 74-75 at n = 256-768, k = 256; 79 against 48 for one attention
// head's 128x128x64).
const (
	thinRows      = nr
	thinRowsLarge = 16 * nr
	thinMinB      = 1 << 16
	thinLargeB    = 1 << 20
	thinMaxPanels = 1 << 18
)

// thinMaxK bounds k so that one packed panel (k x 16 floats) stays in L2.
const thinMaxK = 4096

// useThin reports whether an m x n x k product takes the thin path.
func useThin(transB bool, m, n, k int) bool {
	if !transB || k > thinMaxK || n < mr {
		return false
	}
	if m <= thinRows {
		return n*k >= thinMinB
	}
	return m <= thinRowsLarge && n*k >= thinLargeB && roundUp(m, nr)*k <= thinMaxPanels
}

// sgemmThin is Sgemm for products that pass useThin, on t goroutines.
func sgemmThin(t int, transA bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ws := wsPool.Get().(*workspace)
	// The B operand of C^T = B op(A)^T: element (p, i) is op(A)[i][p].
	np := ceilDiv(m, nr)
	panels := grow(&ws.b, np*nr*k)
	for q := range np {
		i0, cols := q*nr, min(nr, m-q*nr)
		if transA {
			packBN(panels[q*nr*k:], a[i0:], lda, cols, k)
		} else {
			packBT(panels[q*nr*k:], a[i0*lda:], lda, cols, k)
		}
	}
	// Goroutines take groups of rows of B: pairs of tiles (12 rows) with
	// the AVX-512 kernel, which runs them against pairs of panels.
	g := mr
	if wide {
		g = 2 * mr
	}
	groups := ceilDiv(n, g)
	parallel.For(groups, ceilDiv(groups, t), func(lo, hi int) {
		tw := wsPool.Get().(*workspace)
		// tile6 runs the six rows of B from row j0 (zero-padded past n)
		// against panels p0 to np with the strided kernel.
		tile6 := func(j0, p0 int) {
			rows := min(mr, n-j0)
			src, rs := b[j0*ldb:], ldb
			if rows < mr { // the last rows of B, zero-padded to six
				edge := grow(&tw.a, mr*k)
				clear(edge)
				for r := range rows {
					copy(edge[r*k:(r+1)*k], b[(j0+r)*ldb:(j0+r)*ldb+k])
				}
				src, rs = edge, k
			}
			for p := p0; p < np; p++ {
				asmKernelStrided(k, src, rs, 1, panels[p*nr*k:], nr, tw.tile[:], nr, 1, 0)
				mergeTransposed(tw.tile[:], nr, rows, min(nr, m-p*nr), alpha, beta, c[p*nr*ldc+j0:], ldc)
			}
		}
		for q := lo; q < hi; q++ {
			j0 := q * g
			p := 0
			if g == 2*mr && j0+g <= n {
				// Twelve rows of B in place against pairs of panels.
				tile := grow(&tw.b, 2*mr*2*nr)
				for ; p+2 <= np; p += 2 {
					thinPairKernel(k, b[j0*ldb:], ldb, panels[p*nr*k:], tile)
					mergeTransposed(tile, 2*nr, g, min(2*nr, m-p*nr), alpha, beta, c[p*nr*ldc+j0:], ldc)
				}
			}
			for j := j0; j < min(j0+g, n); j += mr {
				tile6(j, p)
			}
		}
		wsPool.Put(tw)
	})
	wsPool.Put(ws)
}

// mergeTransposed writes the top-left rows x cols of a tile of C^T (row
// stride ldt) into C transposed: c[i*ldc+r] = alpha*tile[r*ldt+i] +
// beta*c[i*ldc+r] (beta 0: C is not read).
func mergeTransposed(tile []float32, ldt, rows, cols int, alpha, beta float32, c []float32, ldc int) {
	for i := range cols {
		crow := c[i*ldc : i*ldc+rows]
		for r := range crow {
			v := alpha * tile[r*ldt+i]
			if beta != 0 {
				v += beta * crow[r]
			}
			crow[r] = v
		}
	}
}
