package vk

// Test hooks for the external test package.

// SetForceStaging makes devices opened afterwards use staging copies as on
// a discrete GPU, and returns the previous setting.
func SetForceStaging(on bool) bool {
	old := forceStaging
	forceStaging = on
	return old
}

// SetNoSubgroup disables the subgroup kernel variants for devices opened
// afterwards, and returns the previous setting.
func SetNoSubgroup(on bool) bool {
	old := noSubgroup
	noSubgroup = on
	return old
}

// Pick exposes the device choice.
var Pick = pick

// The kernels the tests of this package's own machinery call directly (the
// recorder's barriers, GEMM tilings and strides, the Duo loss at extreme
// alpha); everything else is tested through the tensor backend.

func (d *Device) Fill(b *Buffer, v float32)                   { d.fill(b, v) }
func (d *Device) Scale(out, a *Buffer, s float32)             { d.scale(out, a, s) }
func (d *Device) Exp(out, a *Buffer)                          { d.exp(out, a) }
func (d *Device) Add(out, a, b *Buffer, aShape, bShape []int) { d.add(out, a, b, aShape, bShape) }
func (d *Device) Gemm(g GemmArgs)                             { d.gemm(g) }
func (d *Device) MatMul(out, a, b *Buffer, aShape, bShape []int, transA, transB bool, beta float32) {
	d.matMul(out, a, b, aShape, bShape, transA, transB, beta)
}
func (d *Device) Sinusoidal(out *Buffer, sigma []float32, half int, maxPeriod float64) {
	d.sinusoidal(out, sigma, half, maxPeriod)
}
func (d *Device) USDMLoss(losses, grad, logits, zt, x0 *Buffer, alpha, alphaPrime []float64, n int) {
	d.usdmLoss(losses, grad, logits, zt, x0, alpha, alphaPrime, n)
}
