package vk

// Modes of adaln.comp.
const (
	aModulate = iota
	aGatedAdd
	aScale1p
	aScale
	aSumL
	aDotL
)

// adaln runs one mode of adaln.comp over (B, L, D) tensors: the elementwise
// modes write out (B, L, D), the reductions over L write out (B, D).
func (d *Device) adaln(name string, mode int, out, a, v, c *Buffer, B, L, D int) {
	n := B * L * D
	mustLen(name, a, n)
	items := n
	if mode == aSumL || mode == aDotL {
		items = B * D
	}
	mustLen(name, out, items)
	d.run(kAdaLN, []uint32{uint32(mode)}, [3]int{gridGroups(items, 256), 1, 1}, push{}.u(B, L, D),
		wr(out), rd(a), rd(v), rd(c))
}

// modulate computes out = x * (1 + scale) + shift for x (B, L, D) and
// per-sequence shift and scale (B, D) (tensor.Modulate).
func (d *Device) modulate(out, x, shift, scale *Buffer, B, L, D int) {
	mustLen("modulate shift", shift, B*D)
	mustLen("modulate scale", scale, B*D)
	d.adaln("modulate", aModulate, out, x, shift, scale, B, L, D)
}

// modulateBackward writes dx = g * (1 + scale) and the per-sequence sums
// over the positions dshift = sum g and dscale = sum g * x
// (tensor.ModulateBackward).
func (d *Device) modulateBackward(dx, dshift, dscale, g, x, scale *Buffer, B, L, D int) {
	mustLen("modulate backward scale", scale, B*D)
	mustLen("modulate backward x", x, B*L*D)
	d.adaln("modulate backward", aScale1p, dx, g, g, scale, B, L, D)
	d.adaln("modulate backward", aSumL, dshift, g, g, g, B, L, D)
	d.adaln("modulate backward", aDotL, dscale, g, x, x, B, L, D)
}

// gatedAdd computes out = h + gate * y for h, y (B, L, D) and a
// per-sequence gate (B, D) (tensor.GatedAdd).
func (d *Device) gatedAdd(out, h, y, gate *Buffer, B, L, D int) {
	mustLen("gated add y", y, B*L*D)
	mustLen("gated add gate", gate, B*D)
	d.adaln("gated add", aGatedAdd, out, h, y, gate, B, L, D)
}

// gatedAddBackward writes dy = g * gate and dgate = the sum over positions
// of g * y (tensor.GatedAddBackward; dh is g itself).
func (d *Device) gatedAddBackward(dy, dgate, g, y, gate *Buffer, B, L, D int) {
	mustLen("gated add backward y", y, B*L*D)
	mustLen("gated add backward gate", gate, B*D)
	d.adaln("gated add backward", aScale, dy, g, g, gate, B, L, D)
	d.adaln("gated add backward", aDotL, dgate, g, y, y, B, L, D)
}
