//go:build !cgo

package vk

// Without cgo the Vulkan binding cannot be built: every entry point reports
// ErrNoCgo, and the types below only let the rest of the package compile.

type backend struct{ stats Stats }

type alloc struct{}

func listDevices() ([]Info, error) { return nil, ErrNoCgo }

func openBackend(int, Info) (*backend, Info, error) { return nil, Info{}, ErrNoCgo }

func (*backend) close()                                              {}
func (*backend) flush()                                              {}
func (*backend) sync()                                               {}
func (*backend) trim()                                               {}
func (*backend) setProfiling(bool) error                             { return ErrNoCgo }
func (*backend) kernelTimes() []KernelTime                           { return nil }
func (*backend) alloc(int) *alloc                                    { panic(ErrNoCgo) }
func (*backend) free(*alloc)                                         {}
func (*backend) fill(*alloc, int, uint32)                            { panic(ErrNoCgo) }
func (*backend) upload(*alloc, []byte)                               { panic(ErrNoCgo) }
func (*backend) download(*alloc, []byte)                             { panic(ErrNoCgo) }
func (*backend) dispatch(*kernel, []uint32, [3]int, push, []binding) { panic(ErrNoCgo) }
