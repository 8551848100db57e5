package vk

// Operation codes of softmax.comp.
const (
	smSoftmax = iota
	smLogSoftmax
	smSoftmaxBwd
	smLogSoftmaxBwd
)

func (d *Device) softmaxOp(name string, op uint32, out, x, g *Buffer, n int) {
	rows := rowsOf(name, x, n)
	mustLen(name, out, rows*n)
	mustLen(name, g, rows*n)
	d.run(kSoftmax, []uint32{uint32(rowGroup(n)), op}, rowGrid(rows), push{}.u(rows, n), wr(out), rd(x), rd(g))
}

// softmax computes softmax over rows of length n (the last axis)
// (tensor.Softmax).
func (d *Device) softmax(out, t *Buffer, n int) { d.softmaxOp("softmax", smSoftmax, out, t, t, n) }

// logSoftmax computes log_softmax over rows of length n (tensor.LogSoftmax).
func (d *Device) logSoftmax(out, t *Buffer, n int) {
	d.softmaxOp("logsoftmax", smLogSoftmax, out, t, t, n)
}

// softmaxBackward computes dx = y * (g - sum(g*y)) for y = Softmax(x)
// (tensor.SoftmaxBackward).
func (d *Device) softmaxBackward(dx, g, y *Buffer, n int) {
	d.softmaxOp("softmax backward", smSoftmaxBwd, dx, y, g, n)
}

// logSoftmaxBackward computes dx = g - softmax(x) * sum(g) for
// y = LogSoftmax(x) (tensor.LogSoftmaxBackward).
func (d *Device) logSoftmaxBackward(dx, g, y *Buffer, n int) {
	d.softmaxOp("logsoftmax backward", smLogSoftmaxBwd, dx, y, g, n)
}

// Modes of cross_entropy.comp.
const (
	ceRows = iota
	ceFinal
	ceBwd
)

// crossEntropy writes [mean loss, count] into stats (2 elements): the mean
// over rows of -log softmax(logits)[target] for logits (rows, n) and one
// int32 target per row, rows with a negative target ignored
// (tensor.CrossEntropy, which returns the same two numbers).
func (d *Device) crossEntropy(stats, logits, targets *Buffer, n int) {
	rows := targets.Len()
	mustLen("cross entropy", logits, rows*n)
	if stats.Len() < 2 {
		panic("vk: cross entropy: stats needs 2 elements")
	}
	rowloss := d.newBuffer(2 * max(rows, 1))
	defer rowloss.Release()
	wg := uint32(rowGroup(n))
	pc := push{}.u(rows, n).f(0)
	d.run(kCrossEntropy, []uint32{wg, ceRows}, rowGrid(rows), pc, rd(logits), rd(targets), wr(rowloss), rd(stats), rd(logits))
	d.run(kCrossEntropy, []uint32{256, ceFinal}, [3]int{1, 1, 1}, pc, rd(logits), rd(targets), rd(rowloss), wr(stats), rd(logits))
}

// crossEntropyBackward writes dx = d loss/d logits scaled by g, the
// upstream gradient of the mean loss (tensor.CrossEntropyBackward). The
// count of counted rows is read on the device from stats, the output of
// crossEntropy on the same logits and targets.
func (d *Device) crossEntropyBackward(dx, logits, targets, stats *Buffer, n int, g float32) {
	rows := targets.Len()
	mustLen("cross entropy backward", logits, rows*n)
	mustLen("cross entropy backward", dx, rows*n)
	pc := push{}.u(rows, n).f(g)
	d.run(kCrossEntropy, []uint32{uint32(rowGroup(n)), ceBwd}, rowGrid(rows), pc,
		rd(logits), rd(targets), rd(stats), rd(stats), wr(dx))
}

// layerNorm normalises each row of x (rows of n = w.Len()) to zero mean and
// unit variance and multiplies by w (no bias), writing y and the per-row
// mean and 1/std that LayerNormBackward needs (tensor.LayerNorm).
func (d *Device) layerNorm(y, mean, rstd, x, w *Buffer, eps float32) {
	n := w.Len()
	rows := rowsOf("layernorm", x, n)
	mustLen("layernorm", y, rows*n)
	mustLen("layernorm mean", mean, rows)
	mustLen("layernorm rstd", rstd, rows)
	d.run(kLayerNorm, []uint32{uint32(rowGroup(n)), 0}, rowGrid(rows), push{}.u(rows, n).f(eps),
		rd(x), rd(w), wr(mean), wr(rstd), wr(y), rd(x))
}

// layerNormBackward writes dx and accumulates dw += the sum over rows of
// g * xhat when dw is not nil (tensor.LayerNormBackward).
func (d *Device) layerNormBackward(dx, dw, g, x, w, mean, rstd *Buffer) {
	n := w.Len()
	rows := rowsOf("layernorm backward", x, n)
	mustLen("layernorm backward", g, rows*n)
	mustLen("layernorm backward", dx, rows*n)
	d.run(kLayerNorm, []uint32{uint32(rowGroup(n)), 1}, rowGrid(rows), push{}.u(rows, n).f(0),
		rd(x), rd(w), rd(mean), rd(rstd), wr(dx), rd(g))
	if dw == nil || rows == 0 {
		return
	}
	mustLen("layernorm backward dw", dw, n)
	// Partial sums over chunks of rows, then the chunks added into dw.
	chunk := max(16, (rows+63)/64)
	chunks := (rows + chunk - 1) / chunk
	part := d.newBuffer(chunks * n)
	defer part.Release()
	d.run(kLayerNormDW, nil, [3]int{(n + 255) / 256, chunks, 1}, push{}.u(rows, n, chunk),
		wr(part), rd(g), rd(x), rd(mean), rd(rstd))
	d.reduceTo(dw, part, []int{chunks, n}, []int{n}, true)
}
