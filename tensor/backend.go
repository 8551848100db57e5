package tensor

// A Backend runs the kernels of this package on a device (a GPU through
// Vulkan: package vk implements it). With a backend set (SetBackend), every
// kernel function of the package that has a device version records it on
// the device instead of running the CPU code; the algorithm code above
// (autograd, nn, duo) does not change.
//
// The methods mirror the CPU kernels one for one and have their semantics on
// row-major data; shapes travel explicitly because a Buffer is only storage.
// Kernel methods only record work: they return before the device has run it,
// and the host waits only in Download and DownloadInt32. Buffers passed to
// one call may be the same buffer only where a method says so. Optional
// buffers (a bias, dx, dw, db) are nil interfaces when absent.
//
// Package tensor decides what runs where and keeps each tensor's host and
// device copies coherent (see Tensor); a Backend never sees a Tensor.
type Backend interface {
	// String names the device for messages.
	String() string

	// Alloc returns a buffer of n elements with undefined contents, for
	// outputs that a kernel overwrites entirely.
	Alloc(n int) Buffer
	// Zeros returns a zero-filled buffer of n elements without a host wait.
	Zeros(n int) Buffer
	// Upload copies src into dst in order with the recorded work (kernels
	// recorded before see the old contents) and without waiting.
	Upload(dst Buffer, src []float32)
	// UploadInt32 returns a new buffer holding src (token ids, targets).
	UploadInt32(src []int32) Buffer
	// Download copies src into dst once the recorded work that writes src
	// has finished: it submits pending work and waits.
	Download(dst []float32, src Buffer)
	// DownloadInt32 is Download for int32 contents (Argmax).
	DownloadInt32(dst []int32, src Buffer)
	// Fill sets every element of b to v.
	Fill(b Buffer, v float32)
	// CopyRows copies rows x cols elements:
	// dst[dOff + r*dStride + c] = src[sOff + r*sStride + c]; sStride 0
	// repeats one source row.
	CopyRows(dst, src Buffer, rows, cols, dOff, dStride, sOff, sStride int)
	// Flush submits the recorded work without waiting for it.
	Flush()

	// Unary computes out = op(x) elementwise (alpha is the scale of
	// UnaryScale and the addend of UnaryAddScalar). out may be x.
	Unary(op UnaryOp, out, x Buffer, alpha float32)
	// Binary computes out = op(a, b) elementwise with NumPy broadcasting
	// (Add, Sub, Mul, Div); the backward ops take equal shapes. out holds
	// the broadcast shape.
	Binary(op BinaryOp, out, a, b Buffer, aShape, bShape []int)
	// AddScaled computes a += s*b in place (same lengths).
	AddScaled(a, b Buffer, s float32)
	// ReduceTo writes into out (of shape) the sums of g (of gShape) over the
	// broadcast dimensions (ReduceTo).
	ReduceTo(out, g Buffer, gShape, shape []int)
	// MatMul computes out = op(a) @ op(b) + beta*out (MatMulInto).
	MatMul(out, a, b Buffer, aShape, bShape []int, transA, transB bool, beta float32)
	// Linear computes y = x @ w^T (+ bias) for rows of in features.
	Linear(y, x, w, bias Buffer, in int)
	// LinearBackward writes dx = g @ w (when dx is not nil) and accumulates
	// dw += g^T @ x and db += column sums of g (when not nil).
	LinearBackward(dx, g, x, w, dw, db Buffer, in int)
	// Transpose swaps the last two dimensions of batch r x c matrices.
	Transpose(out, t Buffer, batch, r, c int)
	// Reduce reduces t (of shape) over axis (Sum, Mean, Max, LogSumExp).
	Reduce(op ReduceOp, out, t Buffer, shape []int, axis int)
	// MaxBackward routes g to the first maximum of each lane of x.
	MaxBackward(dx, g, x Buffer, shape []int, axis int)
	// ExpandAxis broadcasts g back to likeShape along axis, times scale.
	ExpandAxis(out, g Buffer, likeShape []int, axis int, scale float32)
	// SumAll writes the sum of all elements of t into out[0].
	SumAll(out, t Buffer)
	// SumSquares writes (or with accumulate adds) the sum of the squares of
	// t into out[0].
	SumSquares(out, t Buffer, accumulate bool)
	// Softmax runs a row kernel over rows of n: SoftmaxForward and
	// LogSoftmaxForward read x (g is x); the backward ops read y = x and
	// the upstream gradient g.
	Softmax(op SoftmaxOp, out, x, g Buffer, n int)
	// CrossEntropy writes [mean loss, count] into stats (2 elements) for
	// logits (rows, n) and int32 targets (negative: ignored).
	CrossEntropy(stats, logits, targets Buffer, n int)
	// CrossEntropyBackward writes dx = g/count * (softmax - onehot), count
	// read on the device from stats[1].
	CrossEntropyBackward(dx, logits, targets, stats Buffer, n int, g float32)
	// USDMLoss writes into losses (rows) the per-row Duo loss of Eq. 17 of
	// logits (rows, n), log x_theta = log_softmax(logits), with int32 ids
	// zt and x0 per row and alpha, alphaPrime per sequence of
	// rows/len(alpha) rows (USDMLoss), and, when grad is not nil,
	// d loss_r / d logits_r into grad (rows, n).
	USDMLoss(losses, grad, logits, zt, x0 Buffer, alpha, alphaPrime []float64, n int)
	// LayerNorm writes y and the per-row mean and 1/std (LayerNorm).
	LayerNorm(y, mean, rstd, x, w Buffer, eps float32)
	// LayerNormBackward writes dx and accumulates dw (when not nil).
	LayerNormBackward(dx, dw, g, x, w, mean, rstd Buffer)
	// Embedding gathers rows of table (K, dim) at int32 ids.
	Embedding(out, table, ids Buffer, dim int)
	// EmbeddingBackward scatter-adds the rows of g into dtable at ids.
	EmbeddingBackward(dtable, g, ids Buffer, dim int)
	// GatherLast writes out[r] = t[r, idx[r]] for rows of n.
	GatherLast(out, t, idx Buffer, n int)
	// GatherLastBackward writes dx (rows, n), zero but dx[r, idx[r]] = g[r].
	GatherLastBackward(dx, g, idx Buffer, n int)
	// Argmax writes, as int32, the first index of each row's maximum.
	Argmax(out, t Buffer, n int)
	// Rotary rotates the q and k heads of qkv (B, L, 3*heads*dim) into out
	// (v copied) with cos/sin tables (maxLen, dim/2); inverse rotates back.
	Rotary(out, qkv, cos, sin Buffer, B, L, heads, dim, maxLen int, inverse bool)
	// Attention writes out (B, L, heads*d) and lse (B, heads, L).
	Attention(out, lse, qkv Buffer, B, L, heads int, causal bool)
	// AttentionBackward writes dqkv.
	AttentionBackward(dqkv, g, qkv, out, lse Buffer, B, L, heads int, causal bool)
	// Modulate writes out = x * (1 + scale) + shift for x (B, L, D) and
	// shift, scale (B, D).
	Modulate(out, x, shift, scale Buffer, B, L, D int)
	// ModulateBackward writes dx, dshift and dscale.
	ModulateBackward(dx, dshift, dscale, g, x, scale Buffer, B, L, D int)
	// GatedAdd writes out = h + gate * y for h, y (B, L, D), gate (B, D).
	GatedAdd(out, h, y, gate Buffer, B, L, D int)
	// GatedAddBackward writes dy and dgate.
	GatedAddBackward(dy, dgate, g, y, gate Buffer, B, L, D int)
	// AdamW applies one AdamW update to w with gradient g and moments m, v.
	AdamW(w, g, m, v Buffer, p AdamWParams)
	// EMA computes shadow -= k * (shadow - w) in place.
	EMA(shadow, w Buffer, k float32)
	// ClipByNorm scales g by maxNorm/(norm+1e-6) when norm = sqrt(sumsq[0])
	// exceeds maxNorm.
	ClipByNorm(g, sumsq Buffer, maxNorm float32)
}

// Buffer is a backend's device storage of Len() 4-byte elements (float32,
// or int32 for ids). Package tensor never looks inside it. Release returns
// it to the backend; work already recorded on it still completes.
type Buffer interface {
	Len() int
	Release()
}

// UnaryOp selects the function of Backend.Unary.
type UnaryOp int

// Elementwise functions of one tensor.
const (
	UnaryCopy      UnaryOp = iota // x
	UnaryScale                    // alpha * x (Scale)
	UnaryAddScalar                // x + alpha (AddScalar)
	UnaryExp                      // e^x (Exp)
	UnaryLog                      // ln x (Log)
	UnarySigmoid                  // 1/(1+e^-x) (Sigmoid)
	UnarySiLU                     // x sigmoid(x) (SiLU)
	UnaryGELU                     // tanh-approximated GELU (GELU)
)

// BinaryOp selects the function of Backend.Binary.
type BinaryOp int

// Elementwise functions of two tensors.
const (
	BinaryAdd             BinaryOp = iota // a + b (Add)
	BinarySub                             // a - b (Sub)
	BinaryMul                             // a * b (Mul)
	BinaryDiv                             // a / b (Div)
	BinarySiLUBackward                    // a=g, b=x (SiLUBackward)
	BinaryGELUBackward                    // a=g, b=x (GELUBackward)
	BinarySigmoidBackward                 // a=g, b=y (SigmoidBackward)
)

// ReduceOp selects the reduction of Backend.Reduce.
type ReduceOp int

// Reductions over one axis.
const (
	ReduceSum       ReduceOp = iota // Sum
	ReduceMean                      // Mean
	ReduceMax                       // Max
	ReduceLogSumExp                 // LogSumExp
)

// SoftmaxOp selects the row kernel of Backend.Softmax.
type SoftmaxOp int

// Row kernels over the last axis.
const (
	SoftmaxForward       SoftmaxOp = iota // Softmax
	LogSoftmaxForward                     // LogSoftmax
	SoftmaxBackwardOp                     // SoftmaxBackward
	LogSoftmaxBackwardOp                  // LogSoftmaxBackward
)

// current is the process-wide backend; nil runs everything on the CPU.
// Kernel functions test it with one nil-interface check.
var current Backend

// SetBackend makes b the backend of every later tensor operation; nil
// returns to the CPU. Call it before tensor work starts (not concurrently
// with operations). Tensors keep their device copies across a change: a
// tensor whose device copy belongs to another backend is brought to the host
// and from there to the new device on its next use.
func SetBackend(b Backend) { current = b }

// CurrentBackend returns the backend set by SetBackend, or nil (the CPU).
func CurrentBackend() Backend { return current }

// Flush submits the current backend's recorded work without waiting (a
// no-op on the CPU). Values are always complete when read through Data, Host
// or Item; Flush only lets the device start early, before the host goes on
// to long work of its own.
func Flush() {
	if be := current; be != nil {
		be.Flush()
	}
}

// dcall is the device side of one kernel call: it turns tensors into
// buffers (uploading stale inputs, materialising partial views) and after
// the kernel writes partial views back and releases temporaries. It lives
// on the caller's stack.
type dcall struct {
	be    Backend
	keep  [8]*Tensor // tensors whose storage must stay alive until done
	nkeep int
	more  []*Tensor
	temps []Buffer
	backs []writeBack
}

// writeBack is a partial view written by a kernel through a temporary.
type writeBack struct {
	t   *Tensor
	tmp Buffer
}

func (c *dcall) hold(t *Tensor) {
	if c.nkeep < len(c.keep) {
		c.keep[c.nkeep] = t
		c.nkeep++
		return
	}
	c.more = append(c.more, t)
}

// whole reports whether t covers its entire storage (no partial view).
func (t *Tensor) whole() bool { return t.off == 0 && t.n == t.st.n }

// in returns a buffer holding t's values for a kernel to read.
func (c *dcall) in(t *Tensor) Buffer {
	c.hold(t)
	buf := t.st.syncDev(c.be)
	if t.whole() {
		return buf
	}
	tmp := c.be.Alloc(t.n)
	c.be.CopyRows(tmp, buf, 1, t.n, 0, t.n, t.off, t.n)
	c.temps = append(c.temps, tmp)
	return tmp
}

// inout returns a buffer holding t's values for a kernel that updates them
// in place; the host copy becomes stale.
func (c *dcall) inout(t *Tensor) Buffer {
	b := c.in(t)
	t.st.hostOK = false
	if !t.whole() {
		c.backs = append(c.backs, writeBack{t, b})
	}
	return b
}

// out returns a buffer for a kernel that overwrites every element of t.
func (c *dcall) out(t *Tensor) Buffer {
	c.hold(t)
	if t.whole() {
		return t.st.devForWrite(c.be)
	}
	t.st.syncDev(c.be) // the rest of the storage stays valid
	t.st.hostOK = false
	tmp := c.be.Alloc(t.n)
	c.temps = append(c.temps, tmp)
	c.backs = append(c.backs, writeBack{t, tmp})
	return tmp
}

// opt is in for an optional input (nil stays nil).
func (c *dcall) opt(t *Tensor) Buffer {
	if t == nil {
		return nil
	}
	return c.in(t)
}

// optInout is inout for an optional accumulator (nil stays nil).
func (c *dcall) optInout(t *Tensor) Buffer {
	if t == nil {
		return nil
	}
	return c.inout(t)
}

// newOut returns a new device-only tensor of the given shape for a kernel
// that overwrites it entirely, and its buffer.
func (c *dcall) newOut(shape ...int) (*Tensor, Buffer) {
	t := newLazy(append([]int(nil), shape...), checkShape(shape))
	return t, c.out(t)
}

// ids uploads int32 indices for one kernel; the buffer is released by done.
func (c *dcall) ids(v []int32) Buffer {
	b := c.be.UploadInt32(v)
	c.temps = append(c.temps, b)
	return b
}

// temp returns a scratch buffer released by done.
func (c *dcall) temp(n int) Buffer {
	b := c.be.Alloc(n)
	c.temps = append(c.temps, b)
	return b
}

// done copies partial views back into their storage and releases the
// temporaries; the recorded work still reads them correctly.
func (c *dcall) done() {
	for _, w := range c.backs {
		t := w.t
		c.be.CopyRows(t.st.dev.buf, w.tmp, 1, t.n, t.off, t.n, 0, t.n)
	}
	for _, b := range c.temps {
		b.Release()
	}
	keepAlive(&c.keep, c.more)
}

// onDevice reports whether t's current values are on the device of be, so
// an operation that could run anywhere (Clone, CopyFrom) runs there.
func (t *Tensor) onDevice(be Backend) bool {
	st := t.st
	return st.devOK && st.dev != nil && st.dev.be == be
}
