package tensor

import "sync"

// Reuse of host buffers. A training step allocates some hundreds of MB of
// activations and gradients, and Go zeroes every new buffer: on the CPU that
// is a few percent of a step, done by the one goroutine that allocates. The
// gradients that the autograd tape frees during the backward pass come back
// here (Recycle), and the outputs of kernels that write every element
// (newHostFull) take them instead of zeroed memory. Buffers are kept per
// exact length in sync.Pools, so the garbage collector still frees what is
// not reused.

// minRecycle is the least length worth pooling (64 KiB).
const minRecycle = 16 << 10

var hostPools sync.Map // length -> *sync.Pool of []float32

// Recycle hands the host buffer of t back for reuse by later kernel outputs
// and detaches it from t. The caller promises that neither t nor any view of
// its storage is used again. Tensors with a device copy, and small ones, are
// left to the garbage collector.
func Recycle(t *Tensor) {
	st := t.st
	if st == nil || st.dev != nil || st.host == nil || len(st.host) < minRecycle {
		return
	}
	buf := st.host
	st.host, st.hostOK, st.recycled = nil, false, true
	t.data = nil
	p, _ := hostPools.LoadOrStore(len(buf), new(sync.Pool))
	p.(*sync.Pool).Put(buf)
}

// RecycleUnshared is Recycle for a tensor that may still be referenced but
// whose storage nobody else can reach: it recycles t's buffer only when t
// covers its whole storage and no view of that storage was ever made
// (Reshape, Rows). Reading t afterwards panics.
func RecycleUnshared(t *Tensor) {
	if st := t.st; st != nil && !st.shared && t.off == 0 && t.n == st.n {
		Recycle(t)
	}
}

// newHostFull is newHost for outputs that the kernel overwrites entirely:
// the buffer may come from Recycle and hold stale values.
func newHostFull(shape ...int) *Tensor {
	n := checkShape(shape)
	var buf []float32
	if n >= minRecycle {
		if p, ok := hostPools.Load(n); ok {
			buf, _ = p.(*sync.Pool).Get().([]float32)
		}
	}
	if buf == nil {
		buf = make([]float32, n)
	}
	return newTensor(append([]int(nil), shape...), n, buf, true)
}
