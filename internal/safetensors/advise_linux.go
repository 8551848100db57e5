package safetensors

import (
	"syscall"
	"unsafe"
)

// DontNeed tells the kernel that the pages holding t's data (t must be one
// of f's tensors) will not be read again soon, so that they stop counting
// towards the process's resident memory: a loader that copies each tensor
// out of the mapping then needs about the model's size in RAM, not twice
// it. The data stays valid (it is read back from the file if touched
// again). It does nothing for a File from Parse, or if t is not in f's
// mapping.
func (f *File) DontNeed(t *Tensor) {
	if f.mapped == nil || len(t.Data) == 0 {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.mapped)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(t.Data)))
	if p < base || p+uintptr(len(t.Data)) > base+uintptr(len(f.mapped)) {
		return
	}
	page := uintptr(syscall.Getpagesize())
	begin := (p - base) &^ (page - 1)
	end := min((p-base+uintptr(len(t.Data))+page-1)&^(page-1), uintptr(len(f.mapped)))
	syscall.Madvise(f.mapped[begin:end], syscall.MADV_DONTNEED)
}
