package vk_test

import (
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

// The adaLN kernels against tensor.Modulate, GatedAdd and their backward.
func TestAdaLN(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(12)
		for _, s := range [][3]int{{1, 1, 1}, {2, 5, 7}, {3, 17, 64}} {
			B, L, D := s[0], s[1], s[2]
			x, h, g := randT(r, 1, B, L, D), randT(r, 1, B, L, D), randT(r, 1, B, L, D)
			shift, scale, gate := randT(r, 0.5, B, D), randT(r, 0.5, B, D), randT(r, 0.5, B, D)
			gx, gh, gg := up(d, x), up(d, h), up(d, g)
			gsh, gsc, ggt := up(d, shift), up(d, scale), up(d, gate)
			out, dx, dsh, dsc := d.NewBuffer(B*L*D), d.NewBuffer(B*L*D), d.NewBuffer(B*D), d.NewBuffer(B*D)

			d.Modulate(out, gx, gsh, gsc, B, L, D)
			near(t, "modulate", out.Download(), tensor.Modulate(x, shift, scale).Data(), 1e-6, 1e-6)
			d.ModulateBackward(dx, dsh, dsc, gg, gx, gsc, B, L, D)
			wdx, wsh, wsc := tensor.ModulateBackward(g, x, scale)
			near(t, "modulate dx", dx.Download(), wdx.Data(), 1e-6, 1e-6)
			near(t, "modulate dshift", dsh.Download(), wsh.Data(), 1e-5, 1e-5)
			near(t, "modulate dscale", dsc.Download(), wsc.Data(), 1e-5, 1e-5)

			d.GatedAdd(out, gh, gx, ggt, B, L, D)
			near(t, "gated add", out.Download(), tensor.GatedAdd(h, x, gate).Data(), 1e-6, 1e-6)
			d.GatedAddBackward(dx, dsc, gg, gx, ggt, B, L, D)
			wdy, wdg := tensor.GatedAddBackward(g, x, gate)
			near(t, "gated add dy", dx.Download(), wdy.Data(), 1e-6, 1e-6)
			near(t, "gated add dgate", dsc.Download(), wdg.Data(), 1e-5, 1e-5)
			for _, b := range []*vk.Buffer{gx, gh, gg, gsh, gsc, ggt, out, dx, dsh, dsc} {
				b.Release()
			}
		}
	})
}
