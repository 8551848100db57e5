// Package tensor holds the engine's float32 tensors and every operation the
// DiT and the Duo losses need, forward and backward, with their CPU kernels.
//
// A Tensor is a shape over contiguous row-major storage. Views that keep the
// storage contiguous (Reshape, Rows) share it; everything else returns new
// storage. Kernels panic on shape mismatches: those are programming errors
// inside the engine. Input that comes from users (files, token ids, flags) is
// validated by the layers above, which return errors.
//
// # Devices
//
// Every operation validates its operands, then dispatches once to the
// current Backend: CPU() unless SetBackend plugs in a device (such as
// package vk's Vulkan backend). On a device, tensors keep a device copy
// next to the host copy, and the host waits only when it reads values
// (Data, Host, Item, and the functions that return host values:
// CrossEntropy, SumAll, Argmax, USDMLoss). Generic Map and Map2 with Go
// functions, DropoutMask, Sinusoidal and the RNG fills always run on the
// host. The fused kernels are optional groups of a Backend (fused.go); an
// operation whose group the backend lacks runs as a composition of core
// operations (fallback.go).
package tensor

import (
	"fmt"
	"math"
	"strings"
)

// Tensor is an n-dimensional float32 array in row-major order.
//
// Its elements live in a storage shared with its views (Reshape, Rows): a
// host slice and, when a Backend is set, a device buffer, each with a
// validity flag (see storage for the rules). Data returns the host copy for
// reading and writing; Host returns it for reading only, leaving a valid
// device copy in place. Kernels keep the copies coherent themselves. Code
// that writes elements must do it through a slice obtained from Data after
// the last device operation on the tensor, never through one kept from
// before (the device would not see the write).
type Tensor struct {
	shape []int
	data  []float32 // host view of the elements; nil until materialised
	n     int       // number of elements
	off   int       // position of the first element in st
	st    *storage
}

// tensorAlloc puts a tensor and its storage in one allocation.
type tensorAlloc struct {
	t Tensor
	s storage
}

// newTensor returns a tensor over a new storage of n elements; host is its
// host slice (nil: not materialised) and hostOK whether it is valid. shape
// is kept, not copied.
func newTensor(shape []int, n int, host []float32, hostOK bool) *Tensor {
	a := &tensorAlloc{}
	a.s = storage{n: n, host: host, hostOK: hostOK}
	a.t = Tensor{shape: shape, data: host, n: n, st: &a.s}
	return &a.t
}

// newHost returns a zero tensor with its host copy allocated: the outputs
// of the CPU kernels.
func newHost(shape ...int) *Tensor {
	n := checkShape(shape)
	return newTensor(append([]int(nil), shape...), n, make([]float32, n), true)
}

// newLazy returns a zero tensor with nothing allocated yet (shape is kept).
func newLazy(shape []int, n int) *Tensor { return newTensor(shape, n, nil, false) }

// New returns a zero tensor of the given shape. With a backend set nothing
// is allocated until the tensor is used: on the device it becomes a
// zero-filled buffer, on the host a zeroed slice.
func New(shape ...int) *Tensor {
	if OnDevice() {
		return newLazy(append([]int(nil), shape...), checkShape(shape))
	}
	return newHost(shape...)
}

// From wraps data (not copied) as a tensor of the given shape.
func From(data []float32, shape ...int) *Tensor {
	if n := checkShape(shape); n != len(data) {
		panic(fmt.Sprintf("tensor: %d values do not fill shape %v", len(data), shape))
	}
	return newTensor(append([]int(nil), shape...), len(data), data, true)
}

// Full returns a tensor of the given shape with every element set to v.
func Full(v float32, shape ...int) *Tensor {
	t := New(shape...)
	t.Fill(v)
	return t
}

// Scalar returns a 0-dimensional tensor holding v.
func Scalar(v float32) *Tensor { return newTensor([]int{}, 1, []float32{v}, true) }

func checkShape(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// Shape returns the tensor's shape. The caller must not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Dim returns the size of dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	return t.shape[i]
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return t.n }

// host makes the host copy valid (downloading and waiting if only the
// device copy is) and returns the tensor's host elements, for reading.
func (t *Tensor) host() []float32 {
	if !t.st.hostOK {
		t.st.syncHost()
	}
	if t.data == nil && t.st.host != nil {
		t.data = t.st.host[t.off : t.off+t.n : t.off+t.n]
	}
	return t.data
}

// Data returns the host copy of the elements (not a copy) for reading and
// writing: it downloads the device copy if that is the only valid one
// (waiting for the device), and marks the device copy stale.
func (t *Tensor) Data() []float32 {
	d := t.host()
	t.st.devOK = false
	return d
}

// Host returns the host copy of the elements like Data, but for reading
// only: a valid device copy stays valid. The caller must not write.
func (t *Tensor) Host() []float32 { return t.host() }

// hostRead makes the host copies of ts valid for a CPU kernel to read
// (nil entries are skipped).
func hostRead(ts ...*Tensor) {
	for _, t := range ts {
		if t != nil {
			t.host()
		}
	}
}

// Item returns the value of a one-element tensor (waiting for the device
// if the value is there).
func (t *Tensor) Item() float32 {
	if t.n != 1 {
		panic(fmt.Sprintf("tensor: Item of a tensor of shape %v", t.shape))
	}
	return t.host()[0]
}

// Reshape returns a view with a new shape of the same size. One dimension may
// be -1 and is then inferred.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	shape = append([]int(nil), shape...)
	infer, n := -1, 1
	for i, d := range shape {
		if d == -1 {
			if infer >= 0 {
				panic(fmt.Sprintf("tensor: two -1 dimensions in %v", shape))
			}
			infer = i
			continue
		}
		n *= d
	}
	if infer >= 0 && n > 0 {
		shape[infer] = t.n / n
		n *= shape[infer]
	}
	if n != t.n {
		panic(fmt.Sprintf("tensor: cannot reshape %v to %v", t.shape, shape))
	}
	t.st.shared = true
	return &Tensor{shape: shape, data: t.data, n: t.n, off: t.off, st: t.st}
}

// Rows returns the view of rows [lo, hi) along the first dimension. It
// shares the storage: on the device too, where a kernel reading or writing
// a partial view works on a device-side copy of its range (Vulkan kernels
// bind whole buffers) that is written back into the shared buffer.
func (t *Tensor) Rows(lo, hi int) *Tensor {
	if len(t.shape) == 0 || lo < 0 || hi > t.shape[0] || lo > hi {
		panic(fmt.Sprintf("tensor: rows [%d,%d) of shape %v", lo, hi, t.shape))
	}
	inner := 1
	for _, d := range t.shape[1:] {
		inner *= d
	}
	shape := append([]int{hi - lo}, t.shape[1:]...)
	t.st.shared = true
	v := &Tensor{shape: shape, n: (hi - lo) * inner, off: t.off + lo*inner, st: t.st}
	if t.data != nil {
		v.data = t.data[lo*inner : hi*inner]
	}
	return v
}

// SameStorage reports whether a and b are views of the same storage.
func SameStorage(a, b *Tensor) bool { return a.st == b.st }

// Clone returns a copy with its own storage, made where the values are: on
// the device when its copy there is valid, else on the host.
func (t *Tensor) Clone() *Tensor {
	if be := current; t.onDevice(be) {
		c := call()
		out, ob := c.newOut(t.shape...)
		be.Unary(UnaryCopy, ob, c.in(t), 0)
		c.done()
		return out
	}
	if !t.st.hostOK && t.st.dev == nil { // never touched: zeros
		return New(t.shape...)
	}
	d := t.host()
	return newTensor(append([]int(nil), t.shape...), t.n, append([]float32(nil), d...), true)
}

// CopyFrom copies src's values into t; the sizes must agree. It runs on the
// device when src's values are there.
func (t *Tensor) CopyFrom(src *Tensor) {
	if src.n != t.n {
		panic(fmt.Sprintf("tensor: copy %v into %v", src.shape, t.shape))
	}
	if be := current; src.onDevice(be) {
		c := call()
		sb := c.in(src)
		be.Unary(UnaryCopy, c.out(t), sb, 0)
		c.done()
		return
	}
	s := src.host()
	copy(t.Data(), s)
}

// Fill sets every element to v (on the device when a backend is set).
func (t *Tensor) Fill(v float32) {
	c := call()
	c.be.Fill(c.out(t), v)
	c.done()
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b *Tensor) bool { return equalInts(a.shape, b.shape) }

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func mustSameShape(op string, a, b *Tensor) {
	if !SameShape(a, b) {
		panic(fmt.Sprintf("tensor: %s: shapes %v and %v differ", op, a.shape, b.shape))
	}
}

// lastDim splits a tensor into rows of its last dimension: rows x n.
func lastDim(t *Tensor) (rows, n int) {
	if len(t.shape) == 0 {
		return 1, 1
	}
	n = t.shape[len(t.shape)-1]
	if n == 0 {
		return 0, 0
	}
	return t.n / n, n
}

// String prints the shape and the first few values.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v[", t.shape)
	for i, v := range t.host() {
		if i == 8 {
			b.WriteString(" ...")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.4g", v)
	}
	b.WriteByte(']')
	return b.String()
}

// HasNaN reports whether any element is NaN or infinite.
func (t *Tensor) HasNaN() bool {
	for _, v := range t.host() {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return true
		}
	}
	return false
}
