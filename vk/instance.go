//go:build cgo

package vk

import (
	"fmt"
	"sync"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// The process-wide instance and the physical devices it sees, created on
// first use and kept for the life of the process.
var global struct {
	once  sync.Once
	err   error
	gipa  unsafe.Pointer
	inst  vk.Instance
	pds   []vk.PhysicalDevice
	infos []Info
	qfam  []uint32 // the compute queue family of each device
}

func initGlobal() {
	gipa, err := loadVulkan()
	if err != nil {
		global.err = err
		return
	}
	global.gipa = gipa
	app := vk.ApplicationInfo{
		SType:            vk.StructureTypeApplicationInfo,
		PApplicationName: "duo\x00",
		PEngineName:      "duo\x00",
		ApiVersion:       vk.MakeVersion(1, 1, 0),
	}
	info := vk.InstanceCreateInfo{
		SType:            vk.StructureTypeInstanceCreateInfo,
		PApplicationInfo: &app,
	}
	defer info.Free()
	var inst vk.Instance
	switch res := vk.CreateInstance(&info, nil, &inst); res {
	case vk.Success:
	case vk.ErrorIncompatibleDriver:
		global.err = fmt.Errorf("%w: vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER (is a Vulkan driver installed, VK_ICD_FILENAMES right?)", ErrNoDriver)
		return
	default:
		global.err = fmt.Errorf("%w: vkCreateInstance: %v", ErrNoDriver, vk.Error(res))
		return
	}
	if err := vk.InitInstance(inst); err != nil {
		global.err = fmt.Errorf("%w: %v", ErrNoLoader, err)
		return
	}
	global.inst = inst
	var n uint32
	if res := vk.EnumeratePhysicalDevices(inst, &n, nil); res != vk.Success {
		global.err = fmt.Errorf("%w: vkEnumeratePhysicalDevices: %v", ErrNoDriver, vk.Error(res))
		return
	}
	if n == 0 {
		global.err = fmt.Errorf("%w: the loader found no physical device", ErrNoDriver)
		return
	}
	pds := make([]vk.PhysicalDevice, n)
	if res := vk.EnumeratePhysicalDevices(inst, &n, pds); res != vk.Success && res != vk.Incomplete {
		global.err = fmt.Errorf("%w: vkEnumeratePhysicalDevices: %v", ErrNoDriver, vk.Error(res))
		return
	}
	global.pds = pds[:n]
	for i, pd := range global.pds {
		info, qfam := describe(i, pd)
		global.infos = append(global.infos, info)
		global.qfam = append(global.qfam, qfam)
	}
}

func listDevices() ([]Info, error) {
	global.once.Do(initGlobal)
	if global.err != nil {
		return nil, global.err
	}
	return append([]Info(nil), global.infos...), nil
}

// describe fills in the Info of a physical device and picks its compute
// queue family.
func describe(index int, pd vk.PhysicalDevice) (Info, uint32) {
	var props vk.PhysicalDeviceProperties
	vk.GetPhysicalDeviceProperties(pd, &props)
	props.Deref()
	props.Limits.Deref()
	defer props.Free()
	info := Info{
		Index:           index,
		Name:            vk.ToString(props.DeviceName[:]),
		VendorID:        props.VendorID,
		DeviceID:        props.DeviceID,
		MaxSharedMemory: int(props.Limits.MaxComputeSharedMemorySize),
		APIVersion: fmt.Sprintf("%d.%d.%d", props.ApiVersion>>22, (props.ApiVersion>>12)&0x3ff,
			props.ApiVersion&0xfff),
	}
	switch props.DeviceType {
	case vk.PhysicalDeviceTypeDiscreteGpu:
		info.Type = "discrete"
	case vk.PhysicalDeviceTypeIntegratedGpu:
		info.Type = "integrated"
	case vk.PhysicalDeviceTypeVirtualGpu:
		info.Type = "virtual"
	case vk.PhysicalDeviceTypeCpu:
		info.Type = "cpu"
	default:
		info.Type = "other"
	}

	qflags, qcounts, qbits := queueFamilies(global.gipa, global.inst, pd)
	qfam := -1
	for i, f := range qflags {
		if f&uint32(vk.QueueComputeBit) != 0 && qcounts[i] > 0 {
			qfam = i
			info.TimestampBits = int(qbits[i])
			info.TimestampPeriod = float64(props.Limits.TimestampPeriod)
			break
		}
	}

	var mp vk.PhysicalDeviceMemoryProperties
	vk.GetPhysicalDeviceMemoryProperties(pd, &mp)
	mp.Deref()
	defer mp.Free()
	for i := 0; i < int(mp.MemoryHeapCount); i++ {
		mp.MemoryHeaps[i].Deref()
		if mp.MemoryHeaps[i].Flags&vk.MemoryHeapFlags(vk.MemoryHeapDeviceLocalBit) != 0 {
			info.DeviceMemory += int64(mp.MemoryHeaps[i].Size)
		}
	}

	major, minor := props.ApiVersion>>22, (props.ApiVersion>>12)&0x3ff
	switch {
	case major < 1 || (major == 1 && minor < 1):
		info.Reason = "needs Vulkan 1.1"
	case qfam < 0:
		info.Reason = "no compute queue"
	default:
		info.Suitable = true
		size, stages, ops, ok := subgroupProps(global.gipa, global.inst, pd)
		if ok {
			const computeStage, basic, arithmetic = 0x20, 0x1, 0x4
			info.SubgroupSize = int(size)
			info.SubgroupArithmetic = stages&computeStage != 0 && ops&(basic|arithmetic) == basic|arithmetic
		}
	}
	return info, uint32(max(qfam, 0))
}

// backend is the Vulkan side of a Device. Its methods run under the
// Device's mutex.
type backend struct {
	pd       vk.PhysicalDevice
	dev      vk.Device
	sh       shim // entry points called through the C shim
	queue    vk.Queue
	qfam     uint32
	cmdPool  vk.CommandPool
	subgroup bool
	mappable bool   // storage memory is host-visible and coherent
	storage  uint32 // memory type of storage buffers
	stagingT uint32 // memory type of staging buffers

	modules map[string]vk.ShaderModule
	layouts map[int]*layout
	pipes   map[string]*pipeline

	pool        map[int][]*alloc // free storage allocations by size class
	stagingFree map[int][]*alloc
	allocs      map[*alloc]bool // every allocation, for Close

	cur       *batch
	inflight  []*batch
	spare     []*batch
	freePools []vk.DescriptorPool
	serial    uint64 // of the newest batch
	done      uint64 // every batch up to this serial has completed
	epoch     uint64 // barrier epoch within the current batch

	stats Stats

	tsPeriod float64                // ns per timestamp tick
	tsMask   uint64                 // valid timestamp bits; 0: no timestamps
	prof     map[string]*KernelTime // nil unless profiling
}

func vkErr(what string, res vk.Result) error {
	return fmt.Errorf("vk: %s: %v", what, vk.Error(res))
}

func openBackend(index int, info Info) (*backend, Info, error) {
	pd := global.pds[index]
	be := &backend{
		pd:          pd,
		qfam:        global.qfam[index],
		tsPeriod:    info.TimestampPeriod,
		tsMask:      lowBits(info.TimestampBits),
		subgroup:    info.SubgroupArithmetic && !noSubgroup,
		modules:     map[string]vk.ShaderModule{},
		layouts:     map[int]*layout{},
		pipes:       map[string]*pipeline{},
		pool:        map[int][]*alloc{},
		stagingFree: map[int][]*alloc{},
		allocs:      map[*alloc]bool{},
		epoch:       1,
	}
	dev, sh, res := createDevice(global.gipa, global.inst, pd, be.qfam)
	if res != vk.Success {
		return nil, info, vkErr("vkCreateDevice", res)
	}
	be.dev, be.sh = dev, sh
	var q vk.Queue
	vk.GetDeviceQueue(dev, be.qfam, 0, &q)
	be.queue = q

	pinfo := vk.CommandPoolCreateInfo{
		SType:            vk.StructureTypeCommandPoolCreateInfo,
		Flags:            vk.CommandPoolCreateFlags(vk.CommandPoolCreateResetCommandBufferBit),
		QueueFamilyIndex: be.qfam,
	}
	defer pinfo.Free()
	var cp vk.CommandPool
	if res := vk.CreateCommandPool(dev, &pinfo, nil, &cp); res != vk.Success {
		be.close()
		return nil, info, vkErr("vkCreateCommandPool", res)
	}
	be.cmdPool = cp

	if err := be.chooseMemory(info); err != nil {
		be.close()
		return nil, info, err
	}
	info.HostVisible = be.mappable
	return be, info, nil
}

func (be *backend) close() {
	if be.dev == nil {
		return
	}
	if be.cur != nil || len(be.inflight) > 0 {
		be.sync()
	}
	vk.DeviceWaitIdle(be.dev)
	for _, p := range be.pipes {
		vk.DestroyPipeline(be.dev, p.pipe, nil)
	}
	for _, l := range be.layouts {
		vk.DestroyPipelineLayout(be.dev, l.pl, nil)
		vk.DestroyDescriptorSetLayout(be.dev, l.dsl, nil)
	}
	for _, m := range be.modules {
		vk.DestroyShaderModule(be.dev, m, nil)
	}
	for _, b := range be.spare {
		vk.DestroyFence(be.dev, b.fence, nil)
		if b.queries != vk.NullQueryPool {
			vk.DestroyQueryPool(be.dev, b.queries, nil)
		}
	}
	for _, p := range be.freePools {
		vk.DestroyDescriptorPool(be.dev, p, nil)
	}
	for a := range be.allocs {
		be.destroy(a)
	}
	if be.cmdPool != nil {
		vk.DestroyCommandPool(be.dev, be.cmdPool, nil)
	}
	vk.DestroyDevice(be.dev, nil)
	be.sh.free()
	be.dev = nil
}
