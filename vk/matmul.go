package vk

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// MatMulTiling selects the kernel, and with it the workgroup tiling, of a
// matrix multiplication (Gemm, MatMul, Linear).
type MatMulTiling int

const (
	// TilingAuto chooses per product: the tiling DUO_VK_MATMUL names if it
	// is set, else AutoMatMulTiling's.
	TilingAuto MatMulTiling = iota
	// TilingSmall: a workgroup of 256 invocations computes a 64x64 block of
	// C, 4x4 per invocation (shaders/src/matmul.comp).
	TilingSmall
	// TilingLarge: a workgroup of 256 invocations computes a 128x128 block
	// of C, 8x8 per invocation, with double-buffered shared memory
	// (shaders/src/matmul_large.comp). About twice the FMAs per shared-memory
	// read of TilingSmall, but a quarter as many workgroups.
	TilingLarge
)

// String returns "auto", "small" or "large", the values of DUO_VK_MATMUL.
func (t MatMulTiling) String() string {
	switch t {
	case TilingAuto:
		return "auto"
	case TilingSmall:
		return "small"
	case TilingLarge:
		return "large"
	}
	return fmt.Sprintf("MatMulTiling(%d)", int(t))
}

// ParseMatMulTiling parses a tiling name: "auto" (or ""), "small" or
// "large", in any case.
func ParseMatMulTiling(s string) (MatMulTiling, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return TilingAuto, nil
	case "small":
		return TilingSmall, nil
	case "large":
		return TilingLarge, nil
	}
	return TilingAuto, fmt.Errorf("vk: matmul tiling %q: want auto, small or large", s)
}

// matmulEnv is DUO_VK_MATMUL, parsed on first use.
var matmulEnv struct {
	once sync.Once
	t    MatMulTiling
	err  error
}

// MatMulTilingEnv returns the tiling the environment variable DUO_VK_MATMUL
// forces on every matrix multiplication that does not choose one itself
// (GemmArgs.Tiling), for benchmarking: "small", "large", or "auto" (or
// unset) for AutoMatMulTiling's choice. The variable is read once, on the
// first call. A bad value is an error here and from Open, so a program
// reports it (or falls back to the CPU) before any work.
func MatMulTilingEnv() (MatMulTiling, error) {
	matmulEnv.once.Do(func() {
		v := os.Getenv("DUO_VK_MATMUL")
		t, err := ParseMatMulTiling(v)
		if err != nil {
			err = fmt.Errorf("vk: DUO_VK_MATMUL=%q: want small, large or auto", v)
		}
		matmulEnv.t, matmulEnv.err = t, err
	})
	return matmulEnv.t, matmulEnv.err
}

// The heuristic of AutoMatMulTiling, reasoned from the kernels and the
// target rather than tuned (DUO_VK_MATMUL and BenchMatMulTiling exist to
// measure it). Per k, an invocation of the large kernel reads 4 vec4 of
// shared memory for 64 FMAs where the small one reads 2 for 16, so each SM
// does more useful work per cycle with it; but a product makes a quarter as
// many of its workgroups. A GPU of the H100/H200 class has 132 SMs: with
// fewer than about one 128x128 block per SM the large tiling leaves SMs
// idle that the small one's four times as many workgroups would occupy, so
// it needs at least 128 blocks (batch entries counted, since the batch is a
// dimension of the grid). Requiring M and N of at least 512 keeps the work
// wasted on partial blocks at the edges under a fifth, and narrow products
// on the small tiling (a 64-wide attention head would waste half of every
// large block).
const (
	largeMinDim    = 512 // min(M, N)
	largeMinBlocks = 128 // 128x128 blocks of C, times the batch
)

// AutoMatMulTiling returns the tiling chosen for an M x N (x K) product
// repeated batch times when nothing forces one: TilingLarge when M and N are
// both at least 512 and the product has at least 128 blocks of 128x128
// (counting every batch entry), such as 1536 x 1536 or 512 x 512 x 8
// batches, else TilingSmall. K does not enter: both kernels stream it.
func AutoMatMulTiling(m, n, batch int) MatMulTiling {
	blocks := ((m + 127) / 128) * ((n + 127) / 128) * max(batch, 1)
	if min(m, n) >= largeMinDim && blocks >= largeMinBlocks {
		return TilingLarge
	}
	return TilingSmall
}

// tilingFor resolves t for an M x N product repeated batch times: t itself
// unless it is TilingAuto, else DUO_VK_MATMUL, else AutoMatMulTiling.
func tilingFor(t MatMulTiling, m, n, batch int) MatMulTiling {
	if t == TilingAuto {
		t, _ = MatMulTilingEnv() // a bad value already failed Open
	}
	if t == TilingAuto {
		t = AutoMatMulTiling(m, n, batch)
	}
	return t
}

// GemmArgs describes C = Alpha * op(A) op(B) + Beta * C over a batch of
// row-major matrices inside buffers (gemm.Sgemm, batched). op(A) is M x K:
// A is stored M x K, or K x M when TransA; op(B) is K x N: B is stored K x N,
// or N x K when TransB. LDx is the row pitch of each stored matrix, OffX the
// element offset of the first matrix and StrideX the element distance
// between consecutive matrices of the batch (0 shares one matrix). Zero LDx
// mean packed rows. Beta 0 overwrites C without reading it. Tiling picks the
// kernel (TilingAuto, the zero value: DUO_VK_MATMUL, else AutoMatMulTiling);
// every tiling computes the same product, summing over k in the same order.
type GemmArgs struct {
	A, B, C                   *Buffer
	TransA, TransB            bool
	M, N, K                   int
	Batch                     int // 0 means 1
	LDA, LDB, LDC             int
	OffA, OffB, OffC          int
	StrideA, StrideB, StrideC int
	Alpha, Beta               float32
	Tiling                    MatMulTiling
}

// gemm records one batched matrix multiplication.
func (d *Device) gemm(g GemmArgs) {
	if g.Batch == 0 {
		g.Batch = 1
	}
	if g.M == 0 || g.N == 0 || g.Batch == 0 {
		return
	}
	if g.LDA == 0 {
		g.LDA = g.K
		if g.TransA {
			g.LDA = g.M
		}
	}
	if g.LDB == 0 {
		g.LDB = g.N
		if g.TransB {
			g.LDB = g.K
		}
	}
	if g.LDC == 0 {
		g.LDC = g.N
	}
	// The last element each operand touches must lie inside its buffer.
	last := func(off, stride, ld, rows, cols int) int {
		if rows == 0 || cols == 0 {
			return -1
		}
		return off + (g.Batch-1)*stride + (rows-1)*ld + cols - 1
	}
	ar, ac := g.M, g.K
	if g.TransA {
		ar, ac = g.K, g.M
	}
	br, bc := g.K, g.N
	if g.TransB {
		br, bc = g.N, g.K
	}
	if last(g.OffA, g.StrideA, g.LDA, ar, ac) >= g.A.Len() || last(g.OffB, g.StrideB, g.LDB, br, bc) >= g.B.Len() ||
		last(g.OffC, g.StrideC, g.LDC, g.M, g.N) >= g.C.Len() || g.LDA < ac || g.LDB < bc || g.LDC < g.N {
		panic(fmt.Sprintf("vk: gemm %+v outside buffers of %d, %d, %d", g, g.A.Len(), g.B.Len(), g.C.Len()))
	}
	// vec4 loads need every row start aligned to 4 floats and the
	// contiguous extent a multiple of 4 (so a vec4 is all in or all out).
	al := func(xs ...int) bool {
		for _, x := range xs {
			if x%4 != 0 {
				return false
			}
		}
		return true
	}
	vecA := al(g.OffA, g.StrideA, g.LDA, ac)
	vecB := al(g.OffB, g.StrideB, g.LDB, bc)
	spec := []uint32{b2u(g.TransA), b2u(g.TransB), b2u(vecA), b2u(vecB)}
	pc := push{}.u(g.M, g.N, g.K, g.LDA, g.LDB, g.LDC, g.OffA, g.OffB, g.OffC,
		g.StrideA, g.StrideB, g.StrideC, g.Batch).f(g.Alpha, g.Beta)
	k, block := kMatMul, 64
	switch t := tilingFor(g.Tiling, g.M, g.N, g.Batch); t {
	case TilingSmall:
	case TilingLarge:
		k, block = kMatMulLarge, 128
	default:
		panic(fmt.Sprintf("vk: gemm with tiling %v", t))
	}
	groups := [3]int{(g.N + block - 1) / block, (g.M + block - 1) / block, min(g.Batch, 65535)}
	d.run(k, spec, groups, pc, rd(g.A), rd(g.B), wr(g.C))
}

// matDims returns (batch, rows, cols) of a shape of rank >= 2.
func matDims(shape []int) (batch, r, c int) {
	if len(shape) < 2 {
		panic(fmt.Sprintf("vk: matmul operand of shape %v is not a matrix", shape))
	}
	r, c = shape[len(shape)-2], shape[len(shape)-1]
	return numel(shape[:len(shape)-2]), r, c
}

// matMul computes out = op(a) @ op(b) + beta*out (tensor.MatMulInto; beta 0
// is tensor.MatMul). a is (..., M, K) (or (..., K, M) with transA) and b
// either has the same leading dimensions or is one matrix shared by every
// batch entry; out holds (..., M, N).
func (d *Device) matMul(out, a, b *Buffer, aShape, bShape []int, transA, transB bool, beta float32) {
	ba, ar, ac := matDims(aShape)
	bb, br, bc := matDims(bShape)
	m, k := ar, ac
	if transA {
		m, k = ac, ar
	}
	kb, n := br, bc
	if transB {
		kb, n = bc, br
	}
	if k != kb || (bb != 1 && bb != ba) {
		panic(fmt.Sprintf("vk: matmul of %v (trans %v) and %v (trans %v)", aShape, transA, bShape, transB))
	}
	mustLen("matmul", a, numel(aShape))
	mustLen("matmul", b, numel(bShape))
	mustLen("matmul", out, ba*m*n)
	g := GemmArgs{A: a, B: b, C: out, TransA: transA, TransB: transB, M: m, N: n, K: k,
		Batch: ba, LDA: ac, LDB: bc, LDC: n, StrideA: ar * ac, StrideB: br * bc, StrideC: m * n,
		Alpha: 1, Beta: beta}
	if bb == 1 {
		g.StrideB = 0
		if !transA { // one shared right operand: fold the batch into the rows
			g.M, g.Batch, g.StrideA, g.StrideC = ba*m, 1, 0, 0
		}
	}
	d.gemm(g)
}

// linear computes y = x @ w^T + bias for x (rows, in), w (out, in) and an
// optional bias (out) (tensor.Linear).
func (d *Device) linear(y, x, w, bias *Buffer, in int) {
	rows := rowsOf("linear", x, in)
	nout := rowsOf("linear", w, in)
	mustLen("linear", y, rows*nout)
	beta := float32(0)
	if bias != nil {
		mustLen("linear bias", bias, nout)
		d.copyRows(y, bias, rows, nout, 0, nout, 0, 0) // bias into every row
		beta = 1
	}
	d.gemm(GemmArgs{A: x, B: w, C: y, TransB: true, M: rows, N: nout, K: in, Alpha: 1, Beta: beta})
}

// linearBackward computes dx = g @ w (when dx is not nil) and accumulates
// dw += g^T @ x (when dw is not nil) and db += the column sums of g (when db
// is not nil) (tensor.LinearBackward).
func (d *Device) linearBackward(dx, g, x, w, dw, db *Buffer, in int) {
	rows := rowsOf("linear backward", x, in)
	nout := rowsOf("linear backward", w, in)
	mustLen("linear backward", g, rows*nout)
	if dx != nil {
		mustLen("linear backward dx", dx, rows*in)
		d.gemm(GemmArgs{A: g, B: w, C: dx, M: rows, N: in, K: nout, Alpha: 1})
	}
	if dw != nil {
		mustLen("linear backward dw", dw, nout*in)
		d.gemm(GemmArgs{A: g, B: x, C: dw, TransA: true, M: nout, N: in, K: rows, Alpha: 1, Beta: 1})
	}
	if db != nil {
		d.reduceTo(db, g, []int{rows, nout}, []int{nout}, true)
	}
}

// transpose swaps the last two dimensions of a batch of r x c matrices
// (tensor.Transpose).
func (d *Device) transpose(out, t *Buffer, batch, r, c int) {
	mustLen("transpose", t, batch*r*c)
	mustLen("transpose", out, batch*r*c)
	d.run(kTranspose, nil, [3]int{(c + 31) / 32, (r + 31) / 32, min(batch, 65535)}, push{}.u(batch, r, c), wr(out), rd(t))
}
