package vk

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// forceStaging makes devices opened afterwards treat device memory as not
// host-visible, so the staging-copy path of discrete GPUs runs everywhere
// (tests and DUO_VK_STAGING=1).
var forceStaging = os.Getenv("DUO_VK_STAGING") == "1"

// noSubgroup disables the subgroup variants of the reduction kernels (tests
// and DUO_VK_SUBGROUP=0).
var noSubgroup = os.Getenv("DUO_VK_SUBGROUP") == "0"

// Info describes a physical device.
type Info struct {
	Index      int    // position in Devices(), the argument of Open
	Name       string // as the driver reports it
	Type       string // "discrete", "integrated", "virtual", "cpu" or "other"
	APIVersion string // highest Vulkan version the device supports
	VendorID   uint32
	DeviceID   uint32

	// Suitable says whether the engine can run on it (Vulkan 1.1 and a
	// compute queue); Reason says why not.
	Suitable bool
	Reason   string

	SubgroupSize       int  // 0 when unknown
	SubgroupArithmetic bool // subgroup reductions usable in compute shaders
	MaxSharedMemory    int  // bytes of workgroup shared memory
	DeviceMemory       int64
	HostVisible        bool // device memory mapped directly (no staging copies)

	// TimestampPeriod is the length of a timestamp tick in nanoseconds
	// and TimestampBits how many bits of a timestamp are valid on the
	// compute queue; 0 bits: no timestamps (no kernel timing, SetProfiling).
	TimestampPeriod float64
	TimestampBits   int
}

func (i Info) String() string {
	return fmt.Sprintf("#%d %s (%s, Vulkan %s)", i.Index, i.Name, i.Type, i.APIVersion)
}

// typeRank orders device types for OpenDefault: discrete GPUs first.
func typeRank(t string) int {
	switch t {
	case "discrete":
		return 4
	case "integrated":
		return 3
	case "virtual":
		return 2
	case "cpu":
		return 1
	}
	return 0
}

// pick chooses a device from the list: the DUO_VK_DEVICE selection if env
// is set (an index or a name substring), else the best suitable one.
func pick(devs []Info, env string) (int, error) {
	if env != "" {
		if i, err := strconv.Atoi(env); err == nil {
			if i < 0 || i >= len(devs) {
				return 0, fmt.Errorf("%w: DUO_VK_DEVICE=%d but there are %d devices", ErrNoDevice, i, len(devs))
			}
			if !devs[i].Suitable {
				return 0, fmt.Errorf("%w: %v: %s", ErrNoDevice, devs[i], devs[i].Reason)
			}
			return i, nil
		}
		for _, d := range devs {
			if d.Suitable && strings.Contains(strings.ToLower(d.Name), strings.ToLower(env)) {
				return d.Index, nil
			}
		}
		return 0, fmt.Errorf("%w: no suitable device matches DUO_VK_DEVICE=%q (devices: %s)", ErrNoDevice, env, listNames(devs))
	}
	best := -1
	for _, d := range devs {
		if d.Suitable && (best < 0 || typeRank(d.Type) > typeRank(devs[best].Type)) {
			best = d.Index
		}
	}
	if best < 0 {
		return 0, fmt.Errorf("%w (devices: %s)", ErrNoDevice, listNames(devs))
	}
	return best, nil
}

func listNames(devs []Info) string {
	var s []string
	for _, d := range devs {
		r := d.String()
		if !d.Suitable {
			r += ": " + d.Reason
		}
		s = append(s, r)
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}

// Devices lists the physical devices that the Vulkan driver(s) expose.
func Devices() ([]Info, error) { return listDevices() }

// OpenDefault opens the device named by DUO_VK_DEVICE (an index or a name
// substring), or else the best suitable one: discrete GPU, integrated,
// virtual, CPU.
func OpenDefault() (*Device, error) {
	devs, err := listDevices()
	if err != nil {
		return nil, err
	}
	i, err := pick(devs, os.Getenv("DUO_VK_DEVICE"))
	if err != nil {
		return nil, err
	}
	return Open(i)
}

// DefaultDevice describes the device OpenDefault would open (the
// DUO_VK_DEVICE selection, or the best suitable one), without opening it.
func DefaultDevice() (Info, error) {
	devs, err := listDevices()
	if err != nil {
		return Info{}, err
	}
	i, err := pick(devs, os.Getenv("DUO_VK_DEVICE"))
	if err != nil {
		return Info{}, err
	}
	return devs[i], nil
}

// Open opens the physical device with the given index in Devices().
func Open(index int) (*Device, error) {
	if _, err := MatMulTilingEnv(); err != nil {
		return nil, err
	}
	devs, err := listDevices()
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= len(devs) {
		return nil, fmt.Errorf("%w: device index %d, but there are %d devices (%s)", ErrNoDevice, index, len(devs), listNames(devs))
	}
	if !devs[index].Suitable {
		return nil, fmt.Errorf("%w: %v: %s", ErrNoDevice, devs[index], devs[index].Reason)
	}
	be, info, err := openBackend(index, devs[index])
	if err != nil {
		return nil, err
	}
	return &Device{be: be, info: info}, nil
}

// Device is an opened Vulkan device with its queue, pipelines, buffer pool
// and command recorder.
type Device struct {
	mu     sync.Mutex
	be     *backend
	info   Info
	closed bool
	tb     *TensorBackend // the device's tensor backend, made on first use
}

// Info describes the device.
func (d *Device) Info() Info { return d.info }

// Close waits for pending work and frees everything the device holds,
// buffers included.
func (d *Device) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	d.be.close()
}

// Flush submits the recorded work without waiting for it.
func (d *Device) Flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mustOpen()
	d.be.flush()
}

// Sync submits the recorded work and waits until the device has finished
// all of it.
func (d *Device) Sync() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mustOpen()
	d.be.sync()
}

// Stats counts what the device has done since it was opened.
type Stats struct {
	Dispatches int // kernel dispatches recorded
	Barriers   int // memory barriers recorded between dependent commands
	Submits    int // command buffers submitted
	Waits      int // times the host waited for the device
	Pipelines  int // pipelines built
	Allocs     int // device memory allocations made (pool misses)
	Reuses     int // buffers served from the pool
}

// Stats returns the device's counters.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.be.stats
}

// KernelTime is the device time that the commands of one kernel took
// (KernelTimes).
type KernelTime struct {
	Kernel string        // shader module, or "copy" / "fill" for transfers
	Calls  int           // commands timed
	Time   time.Duration // summed over the calls
}

// SetProfiling turns timing of every recorded command on or off and clears
// what was collected. Timing writes a GPU timestamp after each command, so
// a command's time runs from the end of the one recorded before it to its
// own end: it includes the wait at a barrier in front of it, commands the
// device overlaps (no barrier between them) split their common time
// unevenly, and the times add up to the device's busy time. It fails on
// devices without timestamps on the compute queue.
func (d *Device) SetProfiling(on bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mustOpen()
	if err := d.be.setProfiling(on); err != nil {
		return fmt.Errorf("vk: profiling on %s: %w", d.info.Name, err)
	}
	return nil
}

// KernelTimes waits for the recorded work and returns the device time per
// kernel since SetProfiling(true), the largest first.
func (d *Device) KernelTimes() []KernelTime {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mustOpen()
	return d.be.kernelTimes()
}

// Trim frees the pooled device memory that no buffer uses.
func (d *Device) Trim() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mustOpen()
	d.be.trim()
}

// Buffer is device storage for n 4-byte elements: float32, or int32 for
// token ids and targets.
type Buffer struct {
	d *Device
	n int
	a *alloc
}

// NewBuffer returns a zeroed buffer of n elements (zeroed in the command
// stream: no host wait).
func (d *Device) NewBuffer(n int) *Buffer {
	b := d.newBuffer(n)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mustOpen()
	d.be.fill(b.a, 4*n, 0)
	return b
}

// mustOpen panics on a closed device; callers hold d.mu.
func (d *Device) mustOpen() {
	if d.closed {
		panic("vk: use of a closed device")
	}
}

// newBuffer returns a buffer with undefined contents.
func (d *Device) newBuffer(n int) *Buffer {
	if n < 0 {
		panic(fmt.Sprintf("vk: buffer of %d elements", n))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mustOpen()
	a := d.be.alloc(4 * max(n, 1))
	return &Buffer{d: d, n: n, a: a}
}

// NewBufferFrom returns a buffer holding a copy of data.
func (d *Device) NewBufferFrom(data []float32) *Buffer {
	b := d.newBuffer(len(data))
	b.Upload(data)
	return b
}

// NewBufferInt32 returns a buffer holding a copy of data (token ids,
// targets).
func (d *Device) NewBufferInt32(data []int32) *Buffer {
	b := d.newBuffer(len(data))
	b.UploadInt32(data)
	return b
}

// Len returns the number of elements.
func (b *Buffer) Len() int { return b.n }

// Device returns the device that owns the buffer.
func (b *Buffer) Device() *Device { return b.d }

// Release returns the buffer's memory to the device's pool. The buffer must
// not be used afterwards; work already recorded on it still completes
// correctly.
func (b *Buffer) Release() {
	if b == nil || b.a == nil {
		return
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	if !b.d.closed {
		b.d.be.free(b.a)
	}
	b.a = nil
}

func (b *Buffer) live() *alloc {
	if b.a == nil {
		panic("vk: use of a released buffer")
	}
	return b.a
}

// Upload copies data into the buffer, in order with the recorded work: the
// kernels recorded before see the old contents, those after the new ones.
func (b *Buffer) Upload(data []float32) {
	if len(data) != b.n {
		panic(fmt.Sprintf("vk: upload of %d values into a buffer of %d", len(data), b.n))
	}
	b.upload(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), 4*len(data)))
}

// UploadInt32 is Upload for int32 data.
func (b *Buffer) UploadInt32(data []int32) {
	if len(data) != b.n {
		panic(fmt.Sprintf("vk: upload of %d values into a buffer of %d", len(data), b.n))
	}
	b.upload(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), 4*len(data)))
}

func (b *Buffer) upload(src []byte) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	b.d.mustOpen()
	if len(src) > 0 {
		b.d.be.upload(b.live(), src)
	}
}

// Download returns the buffer's contents once the work recorded so far that
// touches it has finished: it submits pending work and waits if needed.
func (b *Buffer) Download() []float32 {
	out := make([]float32, b.n)
	b.download(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), 4*len(out)))
	return out
}

// DownloadInt32 is Download for int32 data.
func (b *Buffer) DownloadInt32() []int32 {
	out := make([]int32, b.n)
	b.download(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), 4*len(out)))
	return out
}

// Item downloads the first element (a loss, a norm).
func (b *Buffer) Item() float32 {
	if b.n == 0 {
		panic("vk: Item of an empty buffer")
	}
	out := make([]float32, 1)
	b.download(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4))
	return out[0]
}

func (b *Buffer) download(dst []byte) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	b.d.mustOpen()
	if len(dst) > 0 {
		b.d.be.download(b.live(), dst)
	}
}

// binding is one buffer argument of a dispatch.
type binding struct {
	a     *alloc
	write bool
}

func rd(b *Buffer) binding { return binding{a: b.live()} }
func wr(b *Buffer) binding { return binding{a: b.live(), write: true} }

// push builds a push-constant block: 4-byte unsigned and float fields in
// declaration order. Every shader's block puts its uvec4 members first
// (16-byte aligned) and then 4-byte scalars, so std430 adds no padding.
type push []byte

func (p push) u(v ...int) push {
	for _, x := range v {
		if x < 0 || x > math.MaxUint32 {
			panic(fmt.Sprintf("vk: push constant %d out of range", x))
		}
		p = append(p, byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
	}
	return p
}

func (p push) f(v ...float32) push {
	for _, x := range v {
		b := math.Float32bits(x)
		p = append(p, byte(b), byte(b>>8), byte(b>>16), byte(b>>24))
	}
	return p
}

// run records one dispatch of kernel k.
func (d *Device) run(k *kernel, spec []uint32, groups [3]int, pc push, args ...binding) {
	if len(args) != k.bindings {
		panic(fmt.Sprintf("vk: %s takes %d buffers, got %d", k.module, k.bindings, len(args)))
	}
	if len(pc) > 128 {
		panic(fmt.Sprintf("vk: %s: %d bytes of push constants", k.module, len(pc)))
	}
	for i, g := range groups {
		if g <= 0 {
			return // nothing to do
		}
		if g > 65535 {
			panic(fmt.Sprintf("vk: %s: %d workgroups along %d", k.module, g, i))
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mustOpen()
	d.be.dispatch(k, spec, groups, pc, args)
}

// gridGroups returns how many workgroups of size wg cover n items with a
// grid-stride loop: all of them up to a cap, after which the shaders loop.
func gridGroups(n, wg int) int {
	if n <= 0 {
		return 0
	}
	g := (n + wg - 1) / wg
	return min(max(g, 1), 4096)
}
