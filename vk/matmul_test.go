package vk_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/duo-go/duo/internal/gemm"
	"github.com/duo-go/duo/vk"
)

// Gemm on strided sub-matrices: the per-head views of a packed qkv tensor.
func TestGemmStrided(t *testing.T) {
	d := device(t)
	r := rng(3)
	B, L, H, hd := 2, 9, 3, 8
	D := H * hd
	qkv := randT(r, 1, B, L, 3*D)
	gq := up(d, qkv)
	s := d.NewBuffer(B * H * L * L)
	// S[b,h] = Q_bh K_bh^T, with Q at column h*hd and K at D + h*hd.
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			d.Gemm(vk.GemmArgs{A: gq, B: gq, C: s, TransB: true, M: L, N: L, K: hd,
				LDA: 3 * D, LDB: 3 * D, LDC: L, OffA: b*L*3*D + h*hd, OffB: b*L*3*D + D + h*hd,
				OffC: (b*H + h) * L * L, Alpha: 0.5})
		}
	}
	want := make([]float32, B*H*L*L)
	x := qkv.Data()
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for i := 0; i < L; i++ {
				for j := 0; j < L; j++ {
					var acc float32
					for c := 0; c < hd; c++ {
						acc += x[(b*L+i)*3*D+h*hd+c] * x[(b*L+j)*3*D+D+h*hd+c]
					}
					want[((b*H+h)*L+i)*L+j] = 0.5 * acc
				}
			}
		}
	}
	near(t, "strided gemm", s.Download(), want, 1e-5, 1e-5)
}

// gemmCase is one batched product for checkGemm. padX widens the leading
// dimension of X beyond its row, gapX separates consecutive matrices of the
// batch, and sharedB gives every batch entry the same B (stride 0).
type gemmCase struct {
	m, n, k, batch   int
	padA, padB, padC int
	gapA, gapB, gapC int
	offA, offB, offC int
	sharedB          bool
	alpha, beta      float32
}

// checkGemm runs c with both transposition flags set as given and tiling t,
// and compares the whole output buffer, gaps included, with gemm.Sgemm
// applied to each batch entry.
func checkGemm(t *testing.T, d *vk.Device, name string, c gemmCase, ta, tb bool, tiling vk.MatMulTiling) {
	t.Helper()
	r := rng(uint64(c.m*1000003 + c.n*1009 + c.k))
	ar, ac := c.m, c.k
	if ta {
		ar, ac = c.k, c.m
	}
	br, bc := c.k, c.n
	if tb {
		br, bc = c.n, c.k
	}
	lda, ldb, ldc := ac+c.padA, bc+c.padB, c.n+c.padC
	strideA, strideB, strideC := ar*lda+c.gapA, br*ldb+c.gapB, c.m*ldc+c.gapC
	if c.sharedB {
		strideB = 0
	}
	a := randn(r, c.offA+c.batch*strideA, 1)
	b := randn(r, c.offB+(c.batch-1)*strideB+br*ldb, 1)
	out := randn(r, c.offC+c.batch*strideC, 1)
	ga, gb, gc := d.NewBufferFrom(a), d.NewBufferFrom(b), d.NewBufferFrom(out)
	defer ga.Release()
	defer gb.Release()
	defer gc.Release()
	d.Gemm(vk.GemmArgs{A: ga, B: gb, C: gc, TransA: ta, TransB: tb, M: c.m, N: c.n, K: c.k, Batch: c.batch,
		LDA: lda, LDB: ldb, LDC: ldc, OffA: c.offA, OffB: c.offB, OffC: c.offC,
		StrideA: strideA, StrideB: strideB, StrideC: strideC, Alpha: c.alpha, Beta: c.beta, Tiling: tiling})
	for i := 0; i < c.batch; i++ {
		gemm.Sgemm(ta, tb, c.m, c.n, c.k, c.alpha, a[c.offA+i*strideA:], lda, b[c.offB+i*strideB:], ldb,
			c.beta, out[c.offC+i*strideC:], ldc)
	}
	near(t, name, gc.Download(), out, 1e-4, 1e-4)
}

// The 128x128 kernel, forced on, for every transposition pair: edges in
// every dimension (sizes around the block and the K step, and 1), vec4 and
// scalar loads, batches with shared and strided operands, offsets, padded
// leading dimensions, alpha and beta.
func TestGemmLarge(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		cases := []gemmCase{
			{m: 1, n: 1, k: 1, batch: 1, alpha: 1},
			{m: 5, n: 17, k: 129, batch: 1, alpha: 1},
			{m: 17, n: 5, k: 127, batch: 1, alpha: 1, beta: 1},
			{m: 127, n: 129, k: 5, batch: 1, alpha: 1},
			{m: 129, n: 127, k: 17, batch: 1, alpha: 0.5, beta: 1},
			{m: 200, n: 257, k: 1, batch: 1, alpha: 1},
			{m: 257, n: 200, k: 257, batch: 1, alpha: 1},
			{m: 1, n: 257, k: 200, batch: 1, alpha: 1, beta: 1},
			{m: 257, n: 1, k: 17, batch: 1, alpha: 1},
			// multiples of 4 everywhere: vec4 loads, whole blocks and K steps
			{m: 128, n: 128, k: 8, batch: 1, alpha: 1},
			{m: 256, n: 128, k: 200, batch: 1, alpha: 2, beta: 1},
			{m: 132, n: 260, k: 36, batch: 2, padA: 4, padB: 8, padC: 4, gapA: 4, gapB: 12, gapC: 8,
				offA: 8, offB: 4, offC: 12, alpha: 1},
			// the same with one misaligned offset, padding or gap: scalar loads of that operand
			{m: 132, n: 260, k: 36, batch: 2, padA: 4, padB: 8, padC: 3, gapA: 4, gapB: 12, gapC: 5,
				offA: 1, offB: 4, offC: 3, alpha: 1, beta: 1},
			{m: 132, n: 260, k: 36, batch: 2, padA: 4, padB: 1, gapA: 4, gapB: 4, offA: 8, offB: 4, alpha: 1},
			// batched: shared B, strided B (gaps), unaligned sizes
			{m: 129, n: 33, k: 17, batch: 3, sharedB: true, alpha: 1},
			{m: 40, n: 129, k: 24, batch: 3, sharedB: true, offB: 4, alpha: 1, beta: 1},
			{m: 17, n: 130, k: 9, batch: 4, gapA: 3, gapB: 7, gapC: 2, padA: 1, padB: 2, padC: 5,
				offA: 2, offB: 5, offC: 7, alpha: -1.5, beta: 1},
		}
		for _, c := range cases {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					checkGemm(t, d, fmt.Sprintf("%+v/ta=%v/tb=%v", c, ta, tb), c, ta, tb, vk.TilingLarge)
				}
			}
		}
	})
}

// Forcing a tiling changes the kernel: on a fresh device the small and the
// large kernel each build their own pipeline for the same operands.
func TestGemmTilingKernels(t *testing.T) {
	d0 := device(t)
	d, err := vk.Open(d0.Info().Index)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c := gemmCase{m: 9, n: 7, k: 5, batch: 1, alpha: 1}
	p0 := d.Stats().Pipelines
	checkGemm(t, d, "small", c, false, false, vk.TilingSmall)
	p1 := d.Stats().Pipelines
	checkGemm(t, d, "large", c, false, false, vk.TilingLarge)
	p2 := d.Stats().Pipelines
	checkGemm(t, d, "small again", c, false, false, vk.TilingSmall)
	checkGemm(t, d, "large again", c, false, false, vk.TilingLarge)
	if p1 != p0+1 || p2 != p1+1 || d.Stats().Pipelines != p2 {
		t.Errorf("pipelines %d, %d, %d, %d: want one per tiling", p0, p1, p2, d.Stats().Pipelines)
	}
}

func TestAutoMatMulTiling(t *testing.T) {
	for _, c := range []struct {
		m, n, batch int
		want        vk.MatMulTiling
	}{
		{4096, 4096, 1, vk.TilingLarge},
		{8192, 768, 1, vk.TilingLarge},  // a transformer's linear layers: 64 x 6 blocks
		{1536, 1536, 1, vk.TilingLarge}, // 144 blocks
		{1024, 1024, 1, vk.TilingSmall}, // 64 blocks: too few for a big GPU
		{512, 512, 8, vk.TilingLarge},   // 16 blocks x 8
		{512, 512, 7, vk.TilingSmall},   // 112
		{512, 4096, 1, vk.TilingLarge},  // 4 x 32 blocks
		{511, 8192, 1, vk.TilingSmall},  // an edge too narrow
		{8192, 64, 16, vk.TilingSmall},  // an attention head's width
		{200, 200, 1000, vk.TilingSmall},
		{1, 1, 1, vk.TilingSmall},
	} {
		if got := vk.AutoMatMulTiling(c.m, c.n, c.batch); got != c.want {
			t.Errorf("AutoMatMulTiling(%d, %d, %d) = %v, want %v", c.m, c.n, c.batch, got, c.want)
		}
	}
}

func TestParseMatMulTiling(t *testing.T) {
	for _, c := range []struct {
		s    string
		want vk.MatMulTiling
		err  bool
	}{
		{"", vk.TilingAuto, false}, {"auto", vk.TilingAuto, false}, {"small", vk.TilingSmall, false},
		{"large", vk.TilingLarge, false}, {" Large ", vk.TilingLarge, false},
		{"big", 0, true}, {"64", 0, true}, {"small,large", 0, true},
	} {
		got, err := vk.ParseMatMulTiling(c.s)
		if (err != nil) != c.err || (err == nil && got != c.want) {
			t.Errorf("ParseMatMulTiling(%q) = %v, %v; want %v (error %v)", c.s, got, err, c.want, c.err)
		}
		if err != nil && !strings.Contains(err.Error(), "want auto, small or large") {
			t.Errorf("ParseMatMulTiling(%q): unclear error %q", c.s, err)
		}
	}
	for tl, want := range map[vk.MatMulTiling]string{vk.TilingAuto: "auto", vk.TilingSmall: "small",
		vk.TilingLarge: "large", 7: "MatMulTiling(7)"} {
		if tl.String() != want {
			t.Errorf("String of %d = %q, want %q", int(tl), tl.String(), want)
		}
	}
}

// DUO_VK_MATMUL, read once per process, so checked in child processes:
// "large" sends every product of the matmul tests through the large kernel
// (MatMul's folding, Linear, the strided heads), and a bad value is an error
// from MatMulTilingEnv and from opening a device (so --device auto falls
// back to the CPU with that message), not a panic.
func TestMatMulEnv(t *testing.T) {
	switch os.Getenv("DUO_VK_CHILD") {
	case "matmul-large":
		if tl, err := vk.MatMulTilingEnv(); tl != vk.TilingLarge || err != nil {
			t.Fatalf("DUO_VK_MATMUL=large: got %v, %v", tl, err)
		}
		return
	case "matmul-bad":
		_, err := vk.MatMulTilingEnv()
		if err == nil || !strings.Contains(err.Error(), `DUO_VK_MATMUL="huge"`) {
			t.Fatalf("DUO_VK_MATMUL=huge: error %v", err)
		}
		d, err := vk.OpenDefault()
		if err == nil {
			d.Close()
			t.Fatal("OpenDefault with DUO_VK_MATMUL=huge succeeded")
		}
		t.Logf("open: %v", err)
		return
	case "":
	default:
		return
	}
	device(t) // only meaningful where Vulkan works
	for _, c := range []struct{ child, env, run, want string }{
		{"matmul-large", "large", "^(TestMatMulEnv|TestConformance|TestGemmStrided)$", "--- PASS: TestConformance ("},
		{"matmul-bad", "huge", "^TestMatMulEnv$", `open: vk: DUO_VK_MATMUL="huge": want small, large or auto`},
	} {
		cmd := exec.Command(os.Args[0], "-test.run="+c.run, "-test.v", "-test.short")
		cmd.Env = append(os.Environ(), "DUO_VK_CHILD="+c.child, "DUO_VK_MATMUL="+c.env)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "PASS") || !strings.Contains(string(out), c.want) {
			t.Fatalf("child %s: %v\n%s", c.child, err, out)
		}
	}
}
