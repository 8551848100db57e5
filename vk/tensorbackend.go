package vk

import (
	"fmt"
	"unsafe"

	"github.com/duo-go/duo/tensor"
)

// TensorBackend plugs a Device under package tensor: it implements
// tensor.Backend and the fused groups by calling the Device's kernel
// methods, so that with
//
//	tensor.SetBackend(vk.NewTensorBackend(d))
//
// every tensor operation of autograd, nn and duo (training steps, the
// optimiser, sampling) records its kernel on d, and the host waits only
// where it reads values. The buffers it hands to package tensor are
// *Buffer.
type TensorBackend struct {
	d *Device
}

// The core and every fused group but EmbeddingMixer (the curriculum's
// weighted embedding runs as Embedding, Mul and Sum here): a signature
// drift in one would leave its operations on their slower compositions of
// core ops without this.
var (
	_ tensor.Backend          = (*TensorBackend)(nil)
	_ tensor.RowKernels       = (*TensorBackend)(nil)
	_ tensor.LinearKernels    = (*TensorBackend)(nil)
	_ tensor.AttentionKernels = (*TensorBackend)(nil)
	_ tensor.AdaLNKernels     = (*TensorBackend)(nil)
	_ tensor.OptimizerKernels = (*TensorBackend)(nil)
	_ tensor.USDMLossKernel   = (*TensorBackend)(nil)
)

// NewTensorBackend returns the tensor backend of d: always the same one
// for a device, so that tensors recognise their device copies as theirs
// across SetBackend calls.
func NewTensorBackend(d *Device) *TensorBackend {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tb == nil {
		d.tb = &TensorBackend{d: d}
	}
	return d.tb
}

// Device returns the device the backend runs on.
func (b *TensorBackend) Device() *Device { return b.d }

// String names the device.
func (b *TensorBackend) String() string { return "Vulkan " + b.d.Info().String() }

// vb unwraps a tensor.Buffer; a nil interface (an absent optional operand)
// becomes a nil *Buffer, which the Device methods accept where optional.
func vb(x tensor.Buffer) *Buffer {
	if x == nil {
		return nil
	}
	return x.(*Buffer)
}

// Alloc returns a buffer with undefined contents (no fill command).
func (b *TensorBackend) Alloc(n int) tensor.Buffer { return b.d.newBuffer(n) }

// Zeros returns a zero-filled buffer.
func (b *TensorBackend) Zeros(n int) tensor.Buffer { return b.d.NewBuffer(n) }

// Upload copies src into dst in order with the recorded work.
func (b *TensorBackend) Upload(dst tensor.Buffer, src []float32) { vb(dst).Upload(src) }

// UploadInt32 returns a new buffer holding src.
func (b *TensorBackend) UploadInt32(src []int32) tensor.Buffer { return b.d.NewBufferInt32(src) }

// Download copies src into dst, waiting for the work that writes src.
func (b *TensorBackend) Download(dst []float32, src tensor.Buffer) {
	s := vb(src)
	if len(dst) > s.Len() {
		panic(fmt.Sprintf("vk: download of %d values from a buffer of %d", len(dst), s.Len()))
	}
	s.download(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst)))
}

// DownloadInt32 is Download for int32 contents.
func (b *TensorBackend) DownloadInt32(dst []int32, src tensor.Buffer) {
	s := vb(src)
	if len(dst) > s.Len() {
		panic(fmt.Sprintf("vk: download of %d values from a buffer of %d", len(dst), s.Len()))
	}
	s.download(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst)))
}

// fill sets every element of x to v.
func (b *TensorBackend) Fill(x tensor.Buffer, v float32) { b.d.fill(vb(x), v) }

// copyRows copies a block of rows (Device.CopyRows).
func (b *TensorBackend) CopyRows(dst, src tensor.Buffer, rows, cols, dOff, dStride, sOff, sStride int) {
	b.d.copyRows(vb(dst), vb(src), rows, cols, dOff, dStride, sOff, sStride)
}

// Flush submits the recorded work without waiting.
func (b *TensorBackend) Flush() { b.d.Flush() }

var unaryOps = map[tensor.UnaryOp]struct {
	name string
	op   uint32
}{
	tensor.UnaryCopy: {"copy", uCopy}, tensor.UnaryScale: {"scale", uScale},
	tensor.UnaryAddScalar: {"addscalar", uAddScalar}, tensor.UnaryExp: {"exp", uExp},
	tensor.UnaryLog: {"log", uLog}, tensor.UnarySigmoid: {"sigmoid", uSigmoid},
	tensor.UnarySiLU: {"silu", uSiLU}, tensor.UnaryGELU: {"gelu", uGELU},
}

// Unary computes out = op(x).
func (b *TensorBackend) Unary(op tensor.UnaryOp, out, x tensor.Buffer, alpha float32) {
	u, ok := unaryOps[op]
	if !ok {
		panic(fmt.Sprintf("vk: unary op %d", op))
	}
	b.d.unary(u.name, u.op, vb(out), vb(x), alpha)
}

// Binary computes out = op(a, b), broadcasting for the arithmetic ops.
func (b *TensorBackend) Binary(op tensor.BinaryOp, out, x, y tensor.Buffer, xShape, yShape []int) {
	o, p, q := vb(out), vb(x), vb(y)
	switch op {
	case tensor.BinaryAdd:
		b.d.add(o, p, q, xShape, yShape)
	case tensor.BinarySub:
		b.d.sub(o, p, q, xShape, yShape)
	case tensor.BinaryMul:
		b.d.mul(o, p, q, xShape, yShape)
	case tensor.BinaryDiv:
		b.d.div(o, p, q, xShape, yShape)
	case tensor.BinarySiLUBackward:
		b.d.siluBackward(o, p, q)
	case tensor.BinaryGELUBackward:
		b.d.geluBackward(o, p, q)
	case tensor.BinarySigmoidBackward:
		b.d.sigmoidBackward(o, p, q)
	default:
		panic(fmt.Sprintf("vk: binary op %d", op))
	}
}

// addScaled computes a += s*x.
func (b *TensorBackend) AddScaled(a, x tensor.Buffer, s float32) { b.d.addScaled(vb(a), vb(x), s) }

// reduceTo sums g over its broadcast dimensions into out.
func (b *TensorBackend) ReduceTo(out, g tensor.Buffer, gShape, shape []int) {
	b.d.reduceTo(vb(out), vb(g), gShape, shape, false)
}

// matMul computes out = op(x) @ op(y) + beta*out.
func (b *TensorBackend) MatMul(out, x, y tensor.Buffer, xShape, yShape []int, transA, transB bool, beta float32) {
	b.d.matMul(vb(out), vb(x), vb(y), xShape, yShape, transA, transB, beta)
}

// linear computes y = x @ w^T (+ bias).
func (b *TensorBackend) Linear(y, x, w, bias tensor.Buffer, in int) {
	b.d.linear(vb(y), vb(x), vb(w), vb(bias), in)
}

// linearBackward writes dx and accumulates dw and db (each when not nil).
func (b *TensorBackend) LinearBackward(dx, g, x, w, dw, db tensor.Buffer, in int) {
	b.d.linearBackward(vb(dx), vb(g), vb(x), vb(w), vb(dw), vb(db), in)
}

// transpose swaps the last two dimensions.
func (b *TensorBackend) Transpose(out, t tensor.Buffer, batch, r, c int) {
	b.d.transpose(vb(out), vb(t), batch, r, c)
}

// Reduce reduces over one axis.
func (b *TensorBackend) Reduce(op tensor.ReduceOp, out, t tensor.Buffer, shape []int, axis int) {
	o, x := vb(out), vb(t)
	switch op {
	case tensor.ReduceSum:
		b.d.sum(o, x, shape, axis)
	case tensor.ReduceMean:
		b.d.mean(o, x, shape, axis)
	case tensor.ReduceMax:
		b.d.max(o, x, shape, axis)
	case tensor.ReduceLogSumExp:
		b.d.logSumExp(o, x, shape, axis)
	default:
		panic(fmt.Sprintf("vk: reduce op %d", op))
	}
}

// maxBackward routes g to the first maxima.
func (b *TensorBackend) MaxBackward(dx, g, x tensor.Buffer, shape []int, axis int) {
	b.d.maxBackward(vb(dx), vb(g), vb(x), shape, axis)
}

// expandAxis broadcasts g back along axis, times scale.
func (b *TensorBackend) ExpandAxis(out, g tensor.Buffer, likeShape []int, axis int, scale float32) {
	b.d.expandAxis(vb(out), vb(g), likeShape, axis, scale)
}

// sumAll writes the sum of t into out[0].
func (b *TensorBackend) SumAll(out, t tensor.Buffer) { b.d.sumAll(vb(out), vb(t), false) }

// sumSquares writes or adds the sum of squares of t into out[0].
func (b *TensorBackend) SumSquares(out, t tensor.Buffer, accumulate bool) {
	b.d.sumSquares(vb(out), vb(t), accumulate)
}

// softmax runs a row kernel of the softmax family.
func (b *TensorBackend) Softmax(op tensor.SoftmaxOp, out, x, g tensor.Buffer, n int) {
	var code uint32
	switch op {
	case tensor.SoftmaxForward:
		code = smSoftmax
	case tensor.LogSoftmaxForward:
		code = smLogSoftmax
	case tensor.SoftmaxBackwardOp:
		code = smSoftmaxBwd
	case tensor.LogSoftmaxBackwardOp:
		code = smLogSoftmaxBwd
	default:
		panic(fmt.Sprintf("vk: softmax op %d", op))
	}
	b.d.softmaxOp("softmax", code, vb(out), vb(x), vb(g), n)
}

// crossEntropy writes [mean loss, count] into stats.
func (b *TensorBackend) CrossEntropy(stats, logits, targets tensor.Buffer, n int) {
	b.d.crossEntropy(vb(stats), vb(logits), vb(targets), n)
}

// crossEntropyBackward writes the gradient of the mean loss times g.
func (b *TensorBackend) CrossEntropyBackward(dx, logits, targets, stats tensor.Buffer, n int, g float32) {
	b.d.crossEntropyBackward(vb(dx), vb(logits), vb(targets), vb(stats), n, g)
}

// usdmLoss writes the per-row Duo loss (Eq. 17) and, when grad is not nil,
// its gradient with respect to the logits.
func (b *TensorBackend) USDMLoss(losses, grad, logits, zt, x0 tensor.Buffer, alpha, alphaPrime []float64, n int) {
	b.d.usdmLoss(vb(losses), vb(grad), vb(logits), vb(zt), vb(x0), alpha, alphaPrime, n)
}

// layerNorm writes y, mean and rstd.
func (b *TensorBackend) LayerNorm(y, mean, rstd, x, w tensor.Buffer, eps float32) {
	b.d.layerNorm(vb(y), vb(mean), vb(rstd), vb(x), vb(w), eps)
}

// layerNormBackward writes dx and accumulates dw (when not nil).
func (b *TensorBackend) LayerNormBackward(dx, dw, g, x, w, mean, rstd tensor.Buffer) {
	b.d.layerNormBackward(vb(dx), vb(dw), vb(g), vb(x), vb(w), vb(mean), vb(rstd))
}

// embedding gathers table rows at ids.
func (b *TensorBackend) Embedding(out, table, ids tensor.Buffer, dim int) {
	b.d.embedding(vb(out), vb(table), vb(ids), dim)
}

// embeddingBackward scatter-adds g into dtable.
func (b *TensorBackend) EmbeddingBackward(dtable, g, ids tensor.Buffer, dim int) {
	b.d.embeddingBackward(vb(dtable), vb(g), vb(ids), dim)
}

// gatherLast gathers one element per row.
func (b *TensorBackend) GatherLast(out, t, idx tensor.Buffer, n int) {
	b.d.gatherLast(vb(out), vb(t), vb(idx), n)
}

// gatherLastBackward scatters g into a zero dx.
func (b *TensorBackend) GatherLastBackward(dx, g, idx tensor.Buffer, n int) {
	b.d.gatherLastBackward(vb(dx), vb(g), vb(idx), n)
}

// argmax writes each row's first maximum as int32.
func (b *TensorBackend) Argmax(out, t tensor.Buffer, n int) { b.d.argmax(vb(out), vb(t), n) }

// Rotary applies rotary embeddings with the given tables.
func (b *TensorBackend) Rotary(out, qkv, cos, sin tensor.Buffer, B, L, heads, dim, maxLen int, inverse bool) {
	r := &rotary{L: maxLen, D: dim, cos: vb(cos), sin: vb(sin)}
	b.d.rotaryApply(vb(out), vb(qkv), r, B, L, heads, inverse)
}

// attention computes fused multi-head attention.
func (b *TensorBackend) Attention(out, lse, qkv tensor.Buffer, B, L, heads int, causal bool) {
	b.d.attention(vb(out), vb(lse), vb(qkv), B, L, heads, causal)
}

// attentionBackward writes dqkv.
func (b *TensorBackend) AttentionBackward(dqkv, g, qkv, out, lse tensor.Buffer, B, L, heads int, causal bool) {
	b.d.attentionBackward(vb(dqkv), vb(g), vb(qkv), vb(out), vb(lse), B, L, heads, causal)
}

// modulate computes the adaLN modulation.
func (b *TensorBackend) Modulate(out, x, shift, scale tensor.Buffer, B, L, D int) {
	b.d.modulate(vb(out), vb(x), vb(shift), vb(scale), B, L, D)
}

// modulateBackward writes dx, dshift and dscale.
func (b *TensorBackend) ModulateBackward(dx, dshift, dscale, g, x, scale tensor.Buffer, B, L, D int) {
	b.d.modulateBackward(vb(dx), vb(dshift), vb(dscale), vb(g), vb(x), vb(scale), B, L, D)
}

// gatedAdd computes the gated residual.
func (b *TensorBackend) GatedAdd(out, h, y, gate tensor.Buffer, B, L, D int) {
	b.d.gatedAdd(vb(out), vb(h), vb(y), vb(gate), B, L, D)
}

// gatedAddBackward writes dy and dgate.
func (b *TensorBackend) GatedAddBackward(dy, dgate, g, y, gate tensor.Buffer, B, L, D int) {
	b.d.gatedAddBackward(vb(dy), vb(dgate), vb(g), vb(y), vb(gate), B, L, D)
}

// adamW applies one optimiser update.
func (b *TensorBackend) AdamW(w, g, m, v tensor.Buffer, p tensor.AdamWParams) {
	b.d.adamW(vb(w), vb(g), vb(m), vb(v), adamWParams{LR: p.LR, Beta1: p.Beta1, Beta2: p.Beta2,
		Eps: p.Eps, WeightDecay: p.WeightDecay, Step: p.Step})
}

// EMA computes shadow -= k * (shadow - w).
func (b *TensorBackend) EMA(shadow, w tensor.Buffer, k float32) {
	s := vb(shadow)
	b.d.binarySame("ema", bEMA, s, s, vb(w), k)
}

// clipByNorm clips g by the norm whose square is sumsq[0].
func (b *TensorBackend) ClipByNorm(g, sumsq tensor.Buffer, maxNorm float32) {
	b.d.clipByNorm(vb(g), vb(sumsq), maxNorm)
}
