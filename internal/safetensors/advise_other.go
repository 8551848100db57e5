//go:build !linux

package safetensors

// DontNeed releases the pages holding t's data where the platform allows
// (Linux); elsewhere it does nothing.
func (f *File) DontNeed(t *Tensor) {}
