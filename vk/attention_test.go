package vk_test

import (
	"fmt"
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

func TestRotary(t *testing.T) {
	d := device(t)
	r := rng(17)
	B, L, H, hd := 2, 7, 3, 8
	qkv := randT(r, 1, B, L, 3*H*hd)
	rot := tensor.NewRotary(16, hd, 10000)
	grot := d.NewRotary(16, hd, 10000)
	defer grot.Release()
	gq := up(d, qkv)
	out := d.NewBuffer(qkv.Len())
	for _, inv := range []bool{false, true} {
		want := rot.Apply(qkv, H, inv)
		d.RotaryApply(out, gq, grot, B, L, H, inv)
		near(t, fmt.Sprint("rotary inverse=", inv), out.Download(), want.Data(), 1e-6, 1e-6)
	}
	// In place, then back.
	d.RotaryApply(gq, gq, grot, B, L, H, false)
	near(t, "rotary in place", gq.Download(), rot.Apply(qkv, H, false).Data(), 1e-6, 1e-6)
	d.RotaryApply(gq, gq, grot, B, L, H, true)
	near(t, "rotary round trip", gq.Download(), qkv.Data(), 1e-5, 1e-5)
}

func TestAttention(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(18)
		for _, c := range []struct {
			B, L, H, hd int
			causal      bool
		}{
			{2, 9, 2, 8, false},
			{2, 9, 2, 8, true},
			{1, 70, 2, 16, true}, // several query blocks and key tiles
			{1, 40, 1, 64, false},
		} {
			name := fmt.Sprintf("%+v", c)
			qkv := randT(r, 1, c.B, c.L, 3*c.H*c.hd)
			out, lse := tensor.Attention(qkv, c.H, c.causal)
			gq := up(d, qkv)
			gout, glse := d.NewBuffer(out.Len()), d.NewBuffer(lse.Len())
			d.Attention(gout, glse, gq, c.B, c.L, c.H, c.causal)
			near(t, "attention out "+name, gout.Download(), out.Data(), 1e-5, 1e-4)
			near(t, "attention lse "+name, glse.Download(), lse.Data(), 1e-5, 1e-5)

			g := randT(r, 1, out.Shape()...)
			dqkv := tensor.AttentionBackward(g, qkv, out, lse, nil, c.H, c.causal)
			gd := d.NewBuffer(qkv.Len())
			d.AttentionBackward(gd, up(d, g), gq, gout, glse, c.B, c.L, c.H, c.causal)
			near(t, "attention backward "+name, gd.Download(), dqkv.Data(), 1e-5, 1e-4)
		}
	})
}
