package tensor

// The CPU backend. Its buffers are host slices: a tensor's own range of its
// storage's host copy, which kernels read and write in place, so a kernel
// call on the CPU copies nothing (dcall hands the slices over directly).
// Its kernels are the engine's reference implementation: the assembly
// vector helpers and the blocked GEMM of internal/gemm, float64
// accumulation where the reference accumulates in double. Each kernel
// method sits next to the public operation it serves (elementwise.go,
// reduce.go, ...); this file holds the memory side.

import "unsafe"

// cpu is the CPU backend. It implements the core and every fused group.
type cpu struct{}

// The CPU implements every fused group.
var (
	_ RowKernels       = cpu{}
	_ LinearKernels    = cpu{}
	_ AttentionKernels = cpu{}
	_ AdaLNKernels     = cpu{}
	_ OptimizerKernels = cpu{}
	_ USDMLossKernel   = cpu{}
	_ EmbeddingMixer   = cpu{}
	_ probsAttention   = cpu{}
)

// cpuBackend is the one CPU backend value.
var cpuBackend Backend = cpu{}

// CPU returns the CPU backend: SetBackend(CPU()) is SetBackend(nil).
func CPU() Backend { return cpuBackend }

// hostBuf is a CPU buffer of float32 values.
type hostBuf struct{ v []float32 }

func (b *hostBuf) Len() int { return len(b.v) }
func (b *hostBuf) Release() {}

// hostIDs is a CPU buffer of int32 values (token ids, targets, argmax).
type hostIDs struct{ v []int32 }

func (b *hostIDs) Len() int { return len(b.v) }
func (b *hostIDs) Release() {}

// f32 returns a CPU buffer's values (nil for a nil buffer).
func f32(b Buffer) []float32 {
	if b == nil {
		return nil
	}
	return b.(*hostBuf).v
}

// i32 returns a CPU buffer's values as int32: an int32 buffer's, or a
// float32 buffer's bits (the Backend contract lets Argmax write int32
// values into a buffer from Alloc).
func i32(b Buffer) []int32 {
	if f, ok := b.(*hostBuf); ok {
		if len(f.v) == 0 {
			return nil
		}
		return unsafe.Slice((*int32)(unsafe.Pointer(&f.v[0])), len(f.v))
	}
	return b.(*hostIDs).v
}

func (cpu) String() string { return "cpu" }

func (cpu) Alloc(n int) Buffer                  { return &hostBuf{make([]float32, n)} }
func (cpu) Zeros(n int) Buffer                  { return &hostBuf{make([]float32, n)} }
func (cpu) Upload(dst Buffer, src []float32)    { copy(f32(dst), src) }
func (cpu) UploadInt32(src []int32) Buffer      { return &hostIDs{append([]int32(nil), src...)} }
func (cpu) Download(dst []float32, src Buffer)  { copy(dst, f32(src)) }
func (cpu) DownloadInt32(dst []int32, b Buffer) { copy(dst, i32(b)) }
func (cpu) Flush()                              {}

func (cpu) Fill(b Buffer, v float32) {
	d := f32(b)
	if v == 0 {
		clear(d)
		return
	}
	for i := range d {
		d[i] = v
	}
}

func (cpu) CopyRows(dst, src Buffer, rows, cols, dOff, dStride, sOff, sStride int) {
	d, s := f32(dst), f32(src)
	for r := range rows {
		copy(d[dOff+r*dStride:dOff+r*dStride+cols], s[sOff+r*sStride:sOff+r*sStride+cols])
	}
}
