package tensor

// A Backend runs the kernels of this package: the CPU (CPU(), the default)
// or a device (a GPU through Vulkan: package vk implements it). Every kernel
// function of the package validates its operands, then dispatches once to
// the current backend (SetBackend); the algorithm code above (autograd, nn,
// duo) does not change.
//
// Backend is the core every backend implements: memory, elementwise ops,
// reductions, matrix products, gathers and scatters. The model's fused
// kernels are optional groups (fused.go: RowKernels, LinearKernels,
// AttentionKernels, AdaLNKernels, OptimizerKernels, USDMLossKernel,
// EmbeddingMixer), found by type assertion; an operation whose group the
// backend lacks runs as a composition of core operations (fallback.go), so
// a new backend can start from the core alone.
//
// The methods have their semantics on row-major data; shapes travel
// explicitly because a Buffer is only storage.
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

// current is the process-wide backend: the CPU unless SetBackend chose a
// device. Every kernel function validates its operands, then dispatches
// once, to current.
var current = cpuBackend

// SetBackend makes b the backend of every later tensor operation; nil
// returns to the CPU. Call it before tensor work starts (not concurrently
// with operations). Tensors keep their device copies across a change: a
// tensor whose device copy belongs to another backend is brought to the host
// and from there to the new device on its next use.
func SetBackend(b Backend) {
	if b == nil {
		b = cpuBackend
	}
	current = b
}

// CurrentBackend returns the backend set by SetBackend, CPU() when none is.
func CurrentBackend() Backend { return current }

// OnDevice reports whether tensor operations run on a device backend (not
// the CPU).
func OnDevice() bool { return current != cpuBackend }

// Flush submits the current backend's recorded work without waiting (a
// no-op on the CPU). Values are always complete when read through Data, Host
// or Item; Flush only lets the device start early, before the host goes on
// to long work of its own.
func Flush() { current.Flush() }

// dcall is one kernel call: it turns tensors into buffers and after the
// kernel releases what the call needed. On the CPU a buffer is the tensor's
// host slice (a view's own range of it): nothing is copied. On a device it
// uploads stale inputs, materialises partial views, and after the kernel
// writes partial views back and releases temporaries. It lives on the
// caller's stack.
type dcall struct {
	be    Backend
	host  bool       // be is the CPU: buffers are the tensors' host slices
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

// call returns a kernel call on the current backend.
func call() dcall {
	be := current
	return dcall{be: be, host: be == cpuBackend}
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
	if c.host {
		return &hostBuf{t.host()}
	}
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
	if c.host {
		return &hostBuf{t.Data()}
	}
	b := c.in(t)
	t.st.hostOK = false
	if !t.whole() {
		c.backs = append(c.backs, writeBack{t, b})
	}
	return b
}

// out returns a buffer for a kernel that overwrites every element of t.
func (c *dcall) out(t *Tensor) Buffer {
	if c.host {
		return &hostBuf{t.Data()}
	}
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
	if c.host {
		t := newHostFull(shape...)
		return t, &hostBuf{t.data}
	}
	t := newLazy(append([]int(nil), shape...), checkShape(shape))
	return t, c.out(t)
}

// ids uploads int32 indices for one kernel; the buffer is released by done.
func (c *dcall) ids(v []int32) Buffer {
	if c.host {
		return &hostIDs{v}
	}
	b := c.be.UploadInt32(v)
	c.temps = append(c.temps, b)
	return b
}

// tempIDs returns a scratch buffer of n int32 values (Argmax) released by
// done.
func (c *dcall) tempIDs(n int) Buffer {
	if c.host {
		return &hostIDs{make([]int32, n)}
	}
	return c.temp(n)
}

// temp returns a scratch buffer released by done.
func (c *dcall) temp(n int) Buffer {
	if c.host {
		return &hostBuf{make([]float32, n)}
	}
	b := c.be.Alloc(n)
	c.temps = append(c.temps, b)
	return b
}

// done copies partial views back into their storage and releases the
// temporaries; the recorded work still reads them correctly.
func (c *dcall) done() {
	if c.host {
		return
	}
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
