package vk_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

func TestBinaryBroadcast(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(6)
		shapes := [][2][]int{
			{{4, 5, 6}, {4, 5, 6}},             // same shape
			{{4, 5, 6}, {4, 1, 6}},             // (B,1,D) row broadcast
			{{4, 1, 6}, {4, 5, 6}},             // broadcast on the left operand
			{{4, 5, 6}, {6}},                   // bias
			{{4, 5, 6}, {4, 5, 1}},             // per-row scalar
			{{2, 3, 4, 5, 2}, {1, 1, 4, 5, 2}}, // rank 5, merged to 2
			{{3, 1}, {1, 4}},                   // outer product
			{{7}, {}},                          // scalar
		}
		ops := []struct {
			name string
			gpu  func(out, a, b *vk.Buffer, as, bs []int)
			cpu  func(a, b *tensor.Tensor) *tensor.Tensor
		}{
			{"add", d.Add, tensor.Add},
			{"sub", d.Sub, tensor.Sub},
			{"mul", d.Mul, tensor.Mul},
			{"div", d.Div, tensor.Div},
		}
		for _, s := range shapes {
			a := randT(r, 1, s[0]...)
			b := randT(r, 1, s[1]...)
			for i, v := range b.Data() { // keep divisors away from 0
				b.Data()[i] = float32(math.Copysign(0.5+math.Abs(float64(v)), float64(v)))
			}
			ga, gb := up(d, a), up(d, b)
			for _, op := range ops {
				want := op.cpu(a, b)
				out := d.NewBuffer(want.Len())
				op.gpu(out, ga, gb, s[0], s[1])
				near(t, fmt.Sprintf("%s %v %v", op.name, s[0], s[1]), out.Download(), want.Data(), 1e-6, 1e-6)
				out.Release()
			}
		}
	})
}

func TestUnary(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(7)
		x := randT(r, 3, 1000)
		pos := tensor.Map(x, func(v float32) float32 { return float32(math.Abs(float64(v))) + 1e-3 })
		gx, gpos := up(d, x), up(d, pos)
		out := d.NewBuffer(x.Len())
		check := func(name string, want *tensor.Tensor, atol, rtol float64) {
			t.Helper()
			near(t, name, out.Download(), want.Data(), atol, rtol)
		}
		d.Exp(out, gx)
		check("exp", tensor.Exp(x), 1e-6, 2e-6)
		d.Log(out, gpos)
		check("log", tensor.Log(pos), 1e-6, 1e-6)
		d.Sigmoid(out, gx)
		check("sigmoid", tensor.Sigmoid(x), 1e-6, 1e-6)
		d.SiLU(out, gx)
		check("silu", tensor.SiLU(x), 1e-6, 1e-6)
		d.GELU(out, gx)
		check("gelu", tensor.GELU(x), 2e-6, 1e-6)
		d.Scale(out, gx, -1.5)
		check("scale", tensor.Scale(x, -1.5), 0, 0)
		d.AddScalar(out, gx, 0.25)
		check("addscalar", tensor.Map(x, func(v float32) float32 { return v + 0.25 }), 0, 0)
		d.Square(out, gx)
		check("square", tensor.Mul(x, x), 0, 0)
		d.Copy(out, gx)
		check("copy", x, 0, 0)
		d.Fill(out, 3)
		check("fill", tensor.Full(3, 1000), 0, 0)

		g := randT(r, 1, 1000)
		gg := up(d, g)
		d.SiLUBackward(out, gg, gx)
		check("silu backward", tensor.SiLUBackward(g, x), 1e-6, 1e-5)
		d.GELUBackward(out, gg, gx)
		check("gelu backward", tensor.GELUBackward(g, x), 1e-5, 1e-5)
		y := tensor.Sigmoid(x)
		d.SigmoidBackward(out, gg, up(d, y))
		check("sigmoid backward", tensor.Map2(g, y, func(g, s float32) float32 { return g * s * (1 - s) }), 1e-7, 1e-6)

		acc := x.Clone()
		tensor.AddScaled(acc, g, 0.3)
		d.Copy(out, gx)
		d.AddScaled(out, gg, 0.3)
		check("addscaled", acc, 1e-6, 1e-6)

		// In place: out = exp(out).
		d.Copy(out, gx)
		d.Exp(out, out)
		check("exp in place", tensor.Exp(x), 1e-6, 2e-6)
	})
}
