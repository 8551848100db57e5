package vk

import (
	"math/rand/v2"
	"time"
)

// BenchMatMul measures an n x n x n float32 matrix multiplication on the
// device (for a benchmark command): after a warm-up it repeats the product
// for at least half a second (and at least 3 times), each repetition
// recorded without waiting, and returns GFLOP/s (2n^3 flops per product).
// The kernel is the one multiplications get (BenchMatMulTiling with
// TilingAuto).
func (d *Device) BenchMatMul(n int) (gflops float64) {
	return d.BenchMatMulTiling(n, TilingAuto)
}

// BenchMatMulTiling is BenchMatMul with the given tiling: TilingSmall or
// TilingLarge measure that kernel whatever DUO_VK_MATMUL says, TilingAuto
// the one that DUO_VK_MATMUL or AutoMatMulTiling chooses for this size.
func (d *Device) BenchMatMulTiling(n int, t MatMulTiling) (gflops float64) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	a, b, c := d.NewBufferFrom(x), d.NewBufferFrom(x), d.NewBuffer(n*n)
	defer a.Release()
	defer b.Release()
	defer c.Release()
	g := GemmArgs{A: a, B: b, C: c, M: n, N: n, K: n, Alpha: 1, Tiling: t}
	d.gemm(g)
	d.Sync()
	reps, batch := 0, 1
	start := time.Now()
	for reps < 3 || time.Since(start) < 500*time.Millisecond {
		for i := 0; i < batch; i++ {
			d.gemm(g)
		}
		d.Sync()
		reps += batch
		batch = min(batch*2, 64)
	}
	secs := time.Since(start).Seconds()
	return 2 * float64(n) * float64(n) * float64(n) * float64(reps) / secs / 1e9
}
