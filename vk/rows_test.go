package vk_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

func TestSoftmax(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(11)
		for _, shape := range [][]int{{3, 4, 10}, {5, 300}, {2, 1}} {
			n := shape[len(shape)-1]
			name := fmt.Sprint(shape)
			x := randT(r, 3, shape...)
			g := randT(r, 1, shape...)
			gx, gg := up(d, x), up(d, g)
			out := d.NewBuffer(x.Len())
			y := tensor.Softmax(x)
			d.Softmax(out, gx, n)
			near(t, "softmax "+name, out.Download(), y.Data(), 1e-7, 1e-5)
			ly := tensor.LogSoftmax(x)
			d.LogSoftmax(out, gx, n)
			near(t, "logsoftmax "+name, out.Download(), ly.Data(), 1e-5, 1e-5)
			d.SoftmaxBackward(out, gg, up(d, y), n)
			near(t, "softmax backward "+name, out.Download(), tensor.SoftmaxBackward(g, y).Data(), 1e-6, 1e-5)
			d.LogSoftmaxBackward(out, gg, up(d, ly), n)
			near(t, "logsoftmax backward "+name, out.Download(), tensor.LogSoftmaxBackward(g, ly).Data(), 1e-5, 1e-5)
		}
	})
}

func TestCrossEntropy(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(12)
		for _, c := range []struct{ rows, n, ignored int }{{7, 11, 2}, {20, 300, 0}, {3, 5, 3}} {
			x := randT(r, 2, c.rows, c.n)
			targets := make([]int32, c.rows)
			for i := range targets {
				targets[i] = int32(r.IntN(c.n))
				if i < c.ignored {
					targets[i] = -1
				}
			}
			loss, count := tensor.CrossEntropy(x, targets)
			gx, gt := up(d, x), d.NewBufferInt32(targets)
			stats := d.NewBuffer(2)
			d.CrossEntropy(stats, gx, gt, c.n)
			s := stats.Download()
			name := fmt.Sprintf("%+v", c)
			if math.Abs(float64(s[0])-loss) > 1e-5*(1+math.Abs(loss)) || int(s[1]) != count {
				t.Errorf("cross entropy %s: got loss %g count %g, want %g %d", name, s[0], s[1], loss, count)
			}
			dx := d.NewBuffer(x.Len())
			d.CrossEntropyBackward(dx, gx, gt, stats, c.n, 0.7)
			near(t, "cross entropy backward "+name, dx.Download(), tensor.CrossEntropyBackward(x, targets, count, 0.7).Data(), 1e-7, 1e-5)
		}
	})
}

func TestLayerNorm(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(13)
		for _, c := range []struct{ rows, n int }{{6, 10}, {40, 300}, {100, 8}} {
			name := fmt.Sprintf("%+v", c)
			x, w := randT(r, 2, c.rows, c.n), randT(r, 1, c.n)
			for i := range x.Data() {
				x.Data()[i] += 0.5
			}
			y, mean, rstd := tensor.LayerNorm(x, w, 1e-5)
			gx, gw := up(d, x), up(d, w)
			gy, gm, gr := d.NewBuffer(x.Len()), d.NewBuffer(c.rows), d.NewBuffer(c.rows)
			d.LayerNorm(gy, gm, gr, gx, gw, 1e-5)
			near(t, "layernorm "+name, gy.Download(), y.Data(), 1e-5, 1e-4)
			near(t, "layernorm mean "+name, gm.Download(), mean.Data(), 1e-6, 1e-5)
			near(t, "layernorm rstd "+name, gr.Download(), rstd.Data(), 1e-6, 1e-4)

			g := randT(r, 1, c.rows, c.n)
			dw := randT(r, 1, c.n)
			gdw := up(d, dw)
			dx := tensor.LayerNormBackward(g, x, w, mean, rstd, dw)
			gdx := d.NewBuffer(x.Len())
			d.LayerNormBackward(gdx, gdw, up(d, g), gx, gw, up(d, mean), up(d, rstd))
			near(t, "layernorm dx "+name, gdx.Download(), dx.Data(), 1e-5, 1e-4)
			near(t, "layernorm dw "+name, gdw.Download(), dw.Data(), 1e-4, 1e-4)
		}
	})
}
