package vk_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

func TestReduceTo(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(8)
		cases := [][2][]int{
			{{4, 5, 6}, {6}},
			{{4, 5, 6}, {4, 1, 6}},
			{{4, 5, 6}, {4, 5, 1}},
			{{4, 5, 6}, {1, 5, 1}},
			{{2, 3, 4, 5}, {3, 1, 5}},
			{{3, 300}, {300}},
			{{4, 5}, {4, 5}},
		}
		for _, c := range cases {
			g := randT(r, 1, c[0]...)
			want := tensor.ReduceTo(g, c[1])
			out := d.NewBuffer(want.Len())
			d.ReduceTo(out, up(d, g), c[0], c[1], false)
			near(t, fmt.Sprintf("reduceto %v->%v", c[0], c[1]), out.Download(), want.Data(), 1e-5, 1e-5)
			// Accumulating onto a start value.
			start := randT(r, 1, c[1]...)
			acc := up(d, start)
			d.ReduceTo(acc, up(d, g), c[0], c[1], true)
			near(t, fmt.Sprintf("reduceto+ %v->%v", c[0], c[1]), acc.Download(), tensor.Add(start, want).Data(), 1e-5, 1e-5)
		}
	})
}

func TestReduceAxis(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(9)
		for _, shape := range [][]int{{3, 5, 7}, {2, 1000}, {600, 3}} {
			x := randT(r, 2, shape...)
			gx := up(d, x)
			for axis := range shape {
				name := fmt.Sprintf("%v axis %d", shape, axis)
				for _, op := range []struct {
					name string
					gpu  func(out, t *vk.Buffer, shape []int, axis int)
					cpu  func(t *tensor.Tensor, axis int, keep bool) *tensor.Tensor
					tol  float64
				}{
					{"sum", d.Sum, tensor.Sum, 1e-4},
					{"mean", d.Mean, tensor.Mean, 1e-5},
					{"max", d.Max, tensor.Max, 0},
					{"logsumexp", d.LogSumExp, tensor.LogSumExp, 1e-5},
				} {
					want := op.cpu(x, axis, false)
					out := d.NewBuffer(want.Len())
					op.gpu(out, gx, shape, axis)
					near(t, op.name+" "+name, out.Download(), want.Data(), op.tol, op.tol)
					out.Release()
				}
				// MaxBackward and ExpandAxis.
				g := randT(r, 1, tensor.Max(x, axis, false).Shape()...)
				gg := up(d, g)
				dx := d.NewBuffer(x.Len())
				d.MaxBackward(dx, gg, gx, shape, axis)
				near(t, "max backward "+name, dx.Download(), tensor.MaxBackward(g, x, axis).Data(), 0, 0)
				d.ExpandAxis(dx, gg, shape, axis, 0.5)
				near(t, "expand "+name, dx.Download(), tensor.ExpandAxis(g, x, axis, 0.5).Data(), 0, 0)
			}
		}
	})
}

func TestSumAll(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(10)
		for _, n := range []int{1, 255, 1000, 100000} {
			x := randT(r, 1, n)
			out := d.NewBuffer(1)
			d.SumAll(out, up(d, x), false)
			want := tensor.SumAll(x)
			if got := float64(out.Item()); math.Abs(got-want) > 1e-6*float64(n) {
				t.Errorf("sumall n=%d: got %g, want %g", n, got, want)
			}
			var ss float64
			for _, v := range x.Data() {
				ss += float64(v) * float64(v)
			}
			d.SumSquares(out, up(d, x), false)
			d.SumSquares(out, up(d, x), true) // accumulates: twice the sum
			if got := float64(out.Item()); math.Abs(got-2*ss) > 2e-6*ss+1e-6 {
				t.Errorf("sumsquares n=%d: got %g, want %g", n, got, 2*ss)
			}
		}
	})
}
