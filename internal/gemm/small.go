package gemm

// Small products skip most of the packing: the strided kernel reads A
// (either layout) and a row-major B where they are. A transposed B is packed
// into micro-panels, and the edge rows of op(A) and edge columns of op(B)
// into zero-padded micro-panels, so the kernel always computes full 6x16
// tiles.

// smallMaxFlops bounds the small path: above it, the blocked path's cache
// blocking pays for its packing.
var smallMaxFlops = float64(2 * 100 * 100 * 100)

// useSmall reports whether an m x n x k product on one goroutine takes the
// small path: not too much work, a 16-column panel of B (k rows) that stays
// in L1 and an A that stays in L2 while the panels of B pass.
func useSmall(m, n, k int) bool {
	return 2*float64(m)*float64(n)*float64(k) <= smallMaxFlops && k <= 512 && m*k <= 128<<10
}

// sgemmSmall is Sgemm for products that pass useSmall, on one goroutine.
func sgemmSmall(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ws := wsPool.Get().(*workspace)
	var bp []float32
	if transB {
		// op(B) = B^T: pack all of it into micro-panels.
		bp = grow(&ws.b, roundUp(n, nr)*k)
		packB(true, b, ldb, 0, 0, k, n, bp)
	}
	rsa, csa := lda, 1
	if transA {
		rsa, csa = 1, lda
	}
	mFull, nFull := m-m%mr, n-n%nr
	// Edge micro-panels of op(A) rows mFull..m and op(B) columns nFull..n.
	need := 0
	if m > mFull {
		need += mr * k
	}
	if n > nFull && !transB {
		need += nr * k
	}
	edge := grow(&ws.a, need)
	var aEdge, bEdge []float32
	if m > mFull {
		aEdge, edge = edge[:mr*k], edge[mr*k:]
		if transA {
			packAT(aEdge, a[mFull:], lda, m-mFull, k)
		} else {
			packAN(aEdge, a[mFull*lda:], lda, m-mFull, k)
		}
	}
	if n > nFull && !transB {
		bEdge = edge[:nr*k]
		packBN(bEdge, b[nFull:], ldb, n-nFull, k)
	}
	tile := &ws.tile
	for j := 0; j < n; j += nr {
		cols := min(nr, n-j)
		bs, sb := bEdge, nr
		switch {
		case transB:
			bs = bp[j*k:]
		case cols == nr:
			bs, sb = b[j:], ldb
		}
		for i := 0; i < m; i += mr {
			rows := min(mr, m-i)
			as, ra, ca := aEdge, 1, mr
			if rows == mr {
				as, ra, ca = a[i*rsa:], rsa, csa
			}
			if rows == mr && cols == nr {
				asmKernelStrided(k, as, ra, ca, bs, sb, c[i*ldc+j:], ldc, alpha, beta)
				continue
			}
			asmKernelStrided(k, as, ra, ca, bs, sb, tile[:], nr, alpha, 0)
			mergeTile(tile, rows, cols, beta, c[i*ldc+j:], ldc, alpha, nil)
		}
	}
	wsPool.Put(ws)
}
