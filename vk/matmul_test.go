package vk_test

import (
	"fmt"
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

func TestMatMul(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(2)
		type tc struct {
			batch, m, k, n int
			sharedB        bool
			beta           float32
		}
		cases := []tc{
			{1, 5, 3, 7, false, 0},      // tiny, unaligned: scalar loads
			{2, 37, 19, 45, false, 0},   // batched, unaligned
			{2, 64, 32, 68, false, 0.5}, // aligned: vec4 loads, beta
			{3, 70, 24, 20, true, 0},    // shared right operand (folded unless transA)
			{1, 130, 16, 66, false, 1},  // several tiles, beta 1
		}
		for _, c := range cases {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					name := fmt.Sprintf("%+v/ta=%v/tb=%v", c, ta, tb)
					aShape := []int{c.batch, c.m, c.k}
					if ta {
						aShape = []int{c.batch, c.k, c.m}
					}
					bShape := []int{c.batch, c.k, c.n}
					if tb {
						bShape = []int{c.batch, c.n, c.k}
					}
					if c.sharedB {
						bShape = bShape[1:]
					}
					a, b := randT(r, 1, aShape...), randT(r, 1, bShape...)
					out := randT(r, 1, c.batch, c.m, c.n)
					ga, gb, gout := up(d, a), up(d, b), up(d, out)
					d.MatMul(gout, ga, gb, aShape, bShape, ta, tb, c.beta)
					tensor.MatMulInto(out, a, b, ta, tb, c.beta)
					near(t, name, gout.Download(), out.Data(), 1e-4, 1e-4)
					ga.Release()
					gb.Release()
					gout.Release()
				}
			}
		}
	})
}

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

func TestLinear(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(4)
		rows, in, nout := 13, 20, 12
		x, w, bias := randT(r, 1, rows, in), randT(r, 1, nout, in), randT(r, 1, nout)
		gx, gw, gb := up(d, x), up(d, w), up(d, bias)
		y := d.NewBuffer(rows * nout)
		d.Linear(y, gx, gw, gb, in)
		near(t, "linear", y.Download(), tensor.Linear(x, w, bias).Data(), 1e-5, 1e-5)
		d.Linear(y, gx, gw, nil, in)
		near(t, "linear no bias", y.Download(), tensor.Linear(x, w, nil).Data(), 1e-5, 1e-5)

		g := randT(r, 1, rows, nout)
		dw, db := randT(r, 1, nout, in), randT(r, 1, nout) // accumulated into
		gdw, gdb, gg := up(d, dw), up(d, db), up(d, g)
		dx := d.NewBuffer(rows * in)
		d.LinearBackward(dx, gg, gx, gw, gdw, gdb, in)
		wantDX := tensor.LinearBackward(g, x, w, dw, db, true)
		near(t, "linear dx", dx.Download(), wantDX.Data(), 1e-5, 1e-5)
		near(t, "linear dw", gdw.Download(), dw.Data(), 1e-5, 1e-5)
		near(t, "linear db", gdb.Download(), db.Data(), 1e-5, 1e-5)
	})
}

func TestTranspose(t *testing.T) {
	d := device(t)
	x := randT(rng(5), 1, 3, 37, 45)
	out := d.NewBuffer(x.Len())
	d.Transpose(out, up(d, x), 3, 37, 45)
	near(t, "transpose", out.Download(), tensor.Transpose(x).Data(), 0, 0)
}
