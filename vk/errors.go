package vk

import "errors"

// Why Vulkan cannot be used. Open, OpenDefault and Devices wrap one of these
// (test with errors.Is) with details; Unavailable reports any of them.
var (
	// ErrNoCgo: the program was built without cgo (CGO_ENABLED=0), which
	// the Vulkan binding needs.
	ErrNoCgo = errors.New("vulkan unavailable: built without cgo")
	// ErrNoLoader: the Vulkan loader libvulkan.so.1 could not be loaded
	// (install the libvulkan1 package).
	ErrNoLoader = errors.New("vulkan unavailable: no Vulkan loader (libvulkan.so.1)")
	// ErrNoDriver: the loader found no Vulkan driver
	// (VK_ERROR_INCOMPATIBLE_DRIVER, or no physical device).
	ErrNoDriver = errors.New("vulkan unavailable: no Vulkan driver")
	// ErrNoDevice: there are devices, but none is suitable or the requested
	// one does not exist.
	ErrNoDevice = errors.New("vulkan unavailable: no suitable Vulkan device")
)

// Unavailable reports whether err says that Vulkan cannot be used here (as
// opposed to a failure of a device that was usable), that is whether the
// caller should fall back to the CPU.
func Unavailable(err error) bool {
	return errors.Is(err, ErrNoCgo) || errors.Is(err, ErrNoLoader) ||
		errors.Is(err, ErrNoDriver) || errors.Is(err, ErrNoDevice)
}
