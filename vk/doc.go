// Package vk runs the engine's tensor operations on a GPU through Vulkan
// compute shaders (github.com/vulkan-go/vulkan; the SPIR-V comes from package
// shaders).
//
// # Using it
//
// The device runs package tensor's operations: NewTensorBackend(d)
// implements tensor.Backend, the one public kernel API.
//
//	d, err := vk.OpenDefault()
//	if err != nil {
//		log.Printf("vk: %v; using the CPU", err) // vk.Unavailable(err) is true
//		return
//	}
//	defer d.Close()
//	tensor.SetBackend(vk.NewTensorBackend(d))
//	defer tensor.SetBackend(nil)
//	c := tensor.MatMul(a, b, false, false) // recorded on the device
//	out := c.Host()                        // the only point where the host waits
//
// With the backend set, every tensor operation records its kernel on d, so
// that training (forward, backward, clipping, AdamW, EMA) and sampling
// through packages autograd, nn and duo run on the device unchanged;
// package tensor keeps the host and device copies of each tensor coherent
// and the host waits only when it reads values. The duo command's --device
// flag does this.
//
// The kernels are unexported methods of Device, one per function of package
// tensor, with its semantics on the same row-major data; shapes are passed
// explicitly, since a Buffer is only storage, and size mismatches panic, as
// in package tensor (programming errors). Package tensor/backendtest's
// conformance suite checks every one through the backend against float64
// references (TestConformance).
//
// # Execution model
//
// Kernel methods record a dispatch into the current command buffer and
// return at once. The recorder puts a compute-to-compute memory barrier in
// front of a dispatch only when it reads or writes a buffer that an earlier,
// not yet separated dispatch wrote (or writes one that was read), so
// independent dispatches overlap. Nothing is submitted until the host needs
// values (Buffer.Download, Device.Sync) or a batch grows long (then it is
// submitted without waiting). A whole training step or sampling step is
// therefore one submission and one wait.
//
// Buffers come from a pool of device allocations bucketed by size, so
// releasing a buffer (Buffer.Release) and asking for a similar size reuses
// its memory without a new vkAllocateMemory. Pipelines are built once per
// kernel and set of specialization constants, on first use. Parameters
// travel as push constants. A Device is safe for use by several goroutines,
// but the operations of one goroutine are ordered only among themselves.
//
// # Availability
//
// The Vulkan loader is opened at run time as libvulkan.so.1 (the versioned
// name that the runtime package libvulkan1 installs; libvulkan.so exists only
// with the -dev package), and its vkGetInstanceProcAddr is handed to the
// binding. Open distinguishes why Vulkan cannot be used, so callers can fall
// back to the CPU with one clear line:
//
//   - ErrNoCgo: the program was built with CGO_ENABLED=0;
//   - ErrNoLoader: libvulkan.so.1 cannot be loaded;
//   - ErrNoDriver: the loader found no driver (VK_ERROR_INCOMPATIBLE_DRIVER,
//     or no physical device at all);
//   - ErrNoDevice: no device is suitable (Vulkan 1.1 and a compute queue),
//     or DUO_VK_DEVICE / the index asks for one that does not exist.
//
// Unavailable(err) reports whether err is one of them.
//
// # The binding
//
// Everything goes through github.com/vulkan-go/vulkan except the calls that
// take arrays of structures (descriptor writes, pipeline creation with
// specialization constants, barriers, copies, submits, device and layout
// creation): the binding converts those into C memory that a finalizer can
// free while the driver still reads it, an intermittent use-after-free
// (SIGSEGV in vkCreateComputePipelines under load). Its fork
// github.com/goki/vulkan (v1.0.8) is generated the same way and has the same
// defect, so switching would not help; instead a small C shim (shim.go)
// makes those calls with the structures on the C stack. With that the
// package also passes GOEXPERIMENT=cgocheck2 and the race detector.
//
// # Choosing a device
//
// OpenDefault prefers a discrete GPU, then an integrated one, then a virtual
// one, then a CPU implementation (lavapipe). The environment variable
// DUO_VK_DEVICE overrides the choice with an index into Devices() or a
// case-insensitive substring of the device name. Open(i) opens device i.
//
// # Precision
//
// Everything is float32. Sums are accumulated in float32 in a different
// order than the CPU (which uses float64 for some reductions), so results
// agree to a relative 1e-5 or so, more loosely for long reductions and
// transcendental functions; the tests state each tolerance.
//
// # Matrix multiplication
//
// Two tilings of one algorithm: a 64x64 block per 256-invocation workgroup
// (shaders/src/matmul.comp) and, for products large enough to fill a big
// GPU, a double-buffered 128x128 block with 8x8 outputs per invocation
// (matmul_large.comp); AutoMatMulTiling chooses. DUO_VK_MATMUL=small|large
// forces one for benchmarking (a bad value makes Open fail), and
// Device.BenchMatMulTiling measures each.
//
// # Profiling
//
// Device.SetProfiling(true) times every recorded command with GPU
// timestamps and Device.KernelTimes sums them per kernel (duo bench train
// --device vulkan --profile prints the table).
//
// # Testing
//
// DUO_VK_STAGING=1 treats device memory as not host-visible (the staging
// copies of discrete GPUs, on any device) and DUO_VK_SUBGROUP=0 disables the
// subgroup variants of the reduction kernels; the tests run every kernel in
// both configurations.
//
// Tests skip with a message when Vulkan is unavailable, unless
// DUO_REQUIRE_VULKAN=1, in which case they fail. On a machine without a GPU,
// Mesa's lavapipe runs them on the CPU:
//
//	apt-get install mesa-vulkan-drivers libvulkan1
//	VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json \
//	DUO_REQUIRE_VULKAN=1 go test ./vk
//
// Building needs a C compiler (cgo) but no Vulkan headers or libraries: the
// binding carries its headers and the loader is opened at run time.
//
// The files by concern: loader.go and shim.go (finding and calling the
// Vulkan loader), instance.go (the instance, the physical devices, opening
// one), memory.go (allocations, the buffer pool, uploads and downloads),
// record.go (command buffers, barriers, submission and completion,
// profiling), pipeline.go (shader modules, pipelines, descriptor sets,
// dispatch), device.go (Device and Buffer), tensorbackend.go (the
// tensor.Backend), and one file per kernel family (elementwise.go,
// reduce.go, rows.go, matmul.go, index.go, attention.go, adaln.go,
// optim.go, usdmloss.go).
package vk
