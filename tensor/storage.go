package tensor

import (
	"os"
	"runtime"
	"strconv"
	"sync"
)

// storage holds the elements of one tensor and of every view of it
// (Reshape, Rows): a host slice and, once a backend has used it, a device
// buffer, with a validity flag each.
//
// Coherence rules:
//   - hostOK: the host slice holds the current values; devOK: the device
//     buffer does. Both may hold (after an upload or a download).
//   - Neither holds only for a tensor created by New while a backend is set
//     and never touched since: its value is all zeros, and nothing is
//     allocated until one side needs it (a zero fill on the device, a
//     zeroed slice on the host).
//   - Reading on the host (Host, Item, CPU kernels) downloads when only the
//     device copy is valid, which waits for the device. Writing on the host
//     (Data, CPU kernels updating a tensor in place) also marks the device
//     copy stale.
//   - A device kernel reading a tensor uploads its host copy when the device
//     copy is stale (an upload does not wait); a kernel writing it marks the
//     host copy stale. Outputs of device kernels exist only on the device
//     until the host asks for them.
//   - Views share one storage, so the flags hold for all of them. A view
//     covering the whole storage (any Reshape) hands kernels the storage's
//     buffer itself. A partial view (Rows) is given to a kernel as a device
//     copy of its range, made in the command stream (kernels bind whole
//     buffers, without offsets), and a kernel's writes to it are copied back
//     into the shared buffer in the same way.
type storage struct {
	n      int
	host   []float32 // nil until the host copy is materialised
	hostOK bool
	devOK  bool
	dev    *devRef // nil until a backend has used the storage

	shared   bool // a view (Reshape, Rows) of it was made
	recycled bool // its host buffer went back to the pool (Recycle)
}

// devRef is the device copy of a storage. A cleanup attached to the storage
// releases the buffer when the storage becomes unreachable.
type devRef struct {
	be  Backend
	buf Buffer // nil when released
}

// syncHost makes the host copy valid, downloading (and waiting) if only the
// device copy is.
func (st *storage) syncHost() {
	if st.hostOK {
		return
	}
	if st.recycled {
		panic("tensor: use of a tensor whose buffer was recycled (autograd: a Var's value read after a Backward that released it)")
	}
	if st.host == nil {
		st.host = make([]float32, st.n)
	} else if !st.devOK {
		clear(st.host)
	}
	if st.devOK {
		st.dev.be.Download(st.host, st.dev.buf)
	}
	st.hostOK = true
}

// syncDev makes the device copy on be valid and returns its buffer: it
// uploads the host copy, or zero-fills a never-touched storage, without
// waiting.
func (st *storage) syncDev(be Backend) Buffer {
	if st.dev != nil && st.dev.be != be {
		st.syncHost() // the copy belongs to another backend: go through the host
		st.release()
	}
	if st.devOK {
		return st.dev.buf
	}
	switch {
	case st.dev == nil || st.dev.buf == nil:
		if st.hostOK {
			st.attach(be, be.Alloc(st.n))
			be.Upload(st.dev.buf, st.host)
		} else {
			st.attach(be, be.Zeros(st.n))
		}
	case st.hostOK:
		be.Upload(st.dev.buf, st.host)
	default:
		be.Fill(st.dev.buf, 0)
	}
	st.devOK = true
	return st.dev.buf
}

// devForWrite returns the device buffer for a kernel that overwrites the
// whole storage: nothing is uploaded, and the host copy becomes stale.
func (st *storage) devForWrite(be Backend) Buffer {
	if st.dev != nil && st.dev.be != be {
		st.release()
	}
	if st.dev == nil || st.dev.buf == nil {
		st.attach(be, be.Alloc(st.n))
	}
	st.devOK, st.hostOK = true, false
	return st.dev.buf
}

// attach records buf, just allocated on be, as the device copy.
func (st *storage) attach(be Backend, buf Buffer) {
	if st.dev == nil {
		st.dev = &devRef{}
		runtime.AddCleanup(st, releaseRef, st.dev)
	}
	st.dev.be, st.dev.buf = be, buf
	devMem.alloc(int64(st.n) * 4)
}

// release drops the device copy (the host copy must be valid or unneeded).
func (st *storage) release() {
	if st.dev != nil && st.dev.buf != nil {
		releaseRef(st.dev)
	}
	st.devOK = false
}

// releaseRef returns a device copy's buffer to its backend: the cleanup of
// unreachable storage.
func releaseRef(r *devRef) {
	if r.buf == nil {
		return
	}
	n := int64(r.buf.Len()) * 4
	r.buf.Release()
	r.buf, r.be = nil, nil
	devMem.free(n)
}

// devMem paces garbage collection by device memory. Device buffers are
// released by cleanups when their tensors become unreachable, but the Go
// collector only sees the small host structs, so on its own it would run
// too rarely: device memory would fill with garbage, and every buffer would
// be a new device allocation instead of one from the backend's pool. So a
// collection is forced when the device bytes held by tensors (live, or
// unreachable and waiting for their cleanup) exceed twice the smallest
// amount seen since the last collection and at least DUO_DEVICE_GC_MB
// (default 256), or when the number of such buffers exceeds twice its
// smallest count and at least 1024.
var devMem = &devAccount{base: gcBase(), trigger: gcBase(), trigBufs: gcBufs}

// gcBufs is the least number of device buffers that forces a collection.
const gcBufs = 1024

// devAccount counts the device memory of tensors for devMem.
type devAccount struct {
	sync.Mutex
	live, low, trigger, base int64 // bytes
	bufs, lowBufs, trigBufs  int   // buffers
}

func gcBase() int64 {
	if mb, err := strconv.Atoi(os.Getenv("DUO_DEVICE_GC_MB")); err == nil && mb > 0 {
		return int64(mb) << 20
	}
	return 256 << 20
}

// DeviceBytes returns the bytes of device buffers that tensors hold (or that
// wait for their cleanup after the tensors became unreachable).
func DeviceBytes() int64 {
	devMem.Lock()
	defer devMem.Unlock()
	return devMem.live
}

func (m *devAccount) alloc(n int64) {
	m.Lock()
	m.live += n
	m.bufs++
	collect := m.live > m.trigger || m.bufs > m.trigBufs
	m.Unlock()
	if !collect {
		return
	}
	runtime.GC()
	m.Lock()
	m.low, m.lowBufs = m.live, m.bufs
	m.trigger = max(m.base, 2*m.live)
	m.trigBufs = max(gcBufs, 2*m.bufs)
	m.Unlock()
}

func (m *devAccount) free(n int64) {
	m.Lock()
	m.live -= n
	m.bufs--
	if m.live < m.low {
		m.low = m.live
		m.trigger = max(m.base, 2*m.low)
	}
	if m.bufs < m.lowBufs {
		m.lowBufs = m.bufs
		m.trigBufs = max(gcBufs, 2*m.lowBufs)
	}
	m.Unlock()
}

// keepAlive keeps the tensors of a kernel call reachable until the kernel is
// recorded, so that no cleanup releases a buffer the call is passing on.
func keepAlive(a *[8]*Tensor, more []*Tensor) {
	runtime.KeepAlive(a)
	runtime.KeepAlive(more)
}
