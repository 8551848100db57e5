//go:build cgo

package vk

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"

	"github.com/duo-go/duo/shaders"
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

// alloc is one device buffer with its own memory. Freed allocations wait in
// the device's pool, bucketed by size class, until a buffer of the same
// class is asked for.
type alloc struct {
	buf     vk.Buffer
	mem     vk.DeviceMemory
	size    int            // bytes (the size class)
	ptr     unsafe.Pointer // persistent mapping, or nil
	staging bool

	// Ordering state for the recorder: the serial of the last batch that
	// used the buffer, and the barrier epochs in which it was last read and
	// written.
	lastUse            uint64
	readEpoch, writeEp uint64
}

// layout is the descriptor-set and pipeline layout shared by the kernels
// with the same number of storage-buffer bindings.
type layout struct {
	dsl vk.DescriptorSetLayout
	pl  vk.PipelineLayout
}

type pipeline struct {
	pipe vk.Pipeline
	lay  *layout
}

// batch is one command buffer with what it holds until it completes.
type batch struct {
	cmd     vk.CommandBuffer
	fence   vk.Fence
	serial  uint64
	n       int                 // commands recorded
	pools   []vk.DescriptorPool // descriptor pools used by its dispatches
	staging []*alloc            // staging buffers to recycle when done

	// With profiling: timestamp 0 at the start, i+1 after command i,
	// whose kernel is names[i].
	queries vk.QueryPool
	timed   bool
	names   []string
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

const bufferUsage = vk.BufferUsageStorageBufferBit | vk.BufferUsageTransferSrcBit | vk.BufferUsageTransferDstBit

// chooseMemory picks the memory types of storage and staging buffers. On
// integrated GPUs and CPU drivers device-local memory is normally also
// host-visible, and buffers are then mapped directly; discrete GPUs get
// plain device-local memory and staging copies.
func (be *backend) chooseMemory(info Info) error {
	binfo := vk.BufferCreateInfo{
		SType:       vk.StructureTypeBufferCreateInfo,
		Size:        256,
		Usage:       vk.BufferUsageFlags(bufferUsage),
		SharingMode: vk.SharingModeExclusive,
	}
	defer binfo.Free()
	var probe vk.Buffer
	if res := vk.CreateBuffer(be.dev, &binfo, nil, &probe); res != vk.Success {
		return vkErr("vkCreateBuffer", res)
	}
	var req vk.MemoryRequirements
	vk.GetBufferMemoryRequirements(be.dev, probe, &req)
	req.Deref()
	req.Free()
	vk.DestroyBuffer(be.dev, probe, nil)

	var mp vk.PhysicalDeviceMemoryProperties
	vk.GetPhysicalDeviceMemoryProperties(be.pd, &mp)
	mp.Deref()
	defer mp.Free()
	flags := func(i int) vk.MemoryPropertyFlags {
		mp.MemoryTypes[i].Deref()
		return mp.MemoryTypes[i].PropertyFlags
	}
	find := func(want vk.MemoryPropertyFlagBits) int {
		for i := 0; i < int(mp.MemoryTypeCount); i++ {
			if req.MemoryTypeBits&(1<<i) != 0 && flags(i)&vk.MemoryPropertyFlags(want) == vk.MemoryPropertyFlags(want) {
				return i
			}
		}
		return -1
	}
	const (
		local    = vk.MemoryPropertyDeviceLocalBit
		visible  = vk.MemoryPropertyHostVisibleBit | vk.MemoryPropertyHostCoherentBit
		cached   = visible | vk.MemoryPropertyHostCachedBit
		unifiedM = local | visible
	)
	st := -1
	if info.Type == "integrated" || info.Type == "cpu" {
		st = find(unifiedM)
	}
	if st < 0 {
		st = find(local)
	}
	if st < 0 {
		st = find(0)
	}
	stg := find(cached)
	if stg < 0 {
		stg = find(visible)
	}
	if st < 0 || stg < 0 {
		return fmt.Errorf("vk: no usable memory type for storage buffers")
	}
	be.storage, be.stagingT = uint32(st), uint32(stg)
	be.mappable = flags(st)&vk.MemoryPropertyFlags(visible) == vk.MemoryPropertyFlags(visible) && !forceStaging
	return nil
}

// sizeClass rounds a request up to its pool bucket: at least 256 bytes,
// then to a quarter of the power of two below it (at most 25% slack).
func sizeClass(n int) int {
	if n <= 256 {
		return 256
	}
	p := 256
	for p*2 <= n {
		p *= 2
	}
	step := p / 4
	return (n + step - 1) / step * step
}

func (be *backend) newAlloc(size int, staging bool) (*alloc, error) {
	usage := bufferUsage
	mtype := be.storage
	if staging {
		usage = vk.BufferUsageTransferSrcBit | vk.BufferUsageTransferDstBit
		mtype = be.stagingT
	}
	binfo := vk.BufferCreateInfo{
		SType:       vk.StructureTypeBufferCreateInfo,
		Size:        vk.DeviceSize(size),
		Usage:       vk.BufferUsageFlags(usage),
		SharingMode: vk.SharingModeExclusive,
	}
	defer binfo.Free()
	a := &alloc{size: size, staging: staging}
	if res := vk.CreateBuffer(be.dev, &binfo, nil, &a.buf); res != vk.Success {
		return nil, vkErr("vkCreateBuffer", res)
	}
	var req vk.MemoryRequirements
	vk.GetBufferMemoryRequirements(be.dev, a.buf, &req)
	req.Deref()
	req.Free()
	minfo := vk.MemoryAllocateInfo{
		SType:           vk.StructureTypeMemoryAllocateInfo,
		AllocationSize:  req.Size,
		MemoryTypeIndex: mtype,
	}
	defer minfo.Free()
	if res := vk.AllocateMemory(be.dev, &minfo, nil, &a.mem); res != vk.Success {
		vk.DestroyBuffer(be.dev, a.buf, nil)
		return nil, vkErr("vkAllocateMemory", res)
	}
	if res := vk.BindBufferMemory(be.dev, a.buf, a.mem, 0); res != vk.Success {
		be.destroy(a)
		return nil, vkErr("vkBindBufferMemory", res)
	}
	if staging || be.mappable {
		var p unsafe.Pointer
		if res := vk.MapMemory(be.dev, a.mem, 0, vk.DeviceSize(vk.WholeSize), 0, &p); res != vk.Success {
			be.destroy(a)
			return nil, vkErr("vkMapMemory", res)
		}
		a.ptr = p
	}
	be.allocs[a] = true
	be.stats.Allocs++
	return a, nil
}

func (be *backend) destroy(a *alloc) {
	if a.ptr != nil {
		vk.UnmapMemory(be.dev, a.mem)
	}
	vk.DestroyBuffer(be.dev, a.buf, nil)
	vk.FreeMemory(be.dev, a.mem, nil)
	delete(be.allocs, a)
}

// alloc returns a storage allocation of at least n bytes, from the pool if
// one is free.
func (be *backend) alloc(n int) *alloc {
	c := sizeClass(n)
	if free := be.pool[c]; len(free) > 0 {
		a := free[len(free)-1]
		be.pool[c] = free[:len(free)-1]
		be.stats.Reuses++
		return a
	}
	a, err := be.newAlloc(c, false)
	if err != nil {
		// Out of memory: give back the pooled buffers and try again.
		be.trim()
		if a, err = be.newAlloc(c, false); err != nil {
			panic(fmt.Sprintf("vk: allocating %d bytes: %v", c, err))
		}
	}
	return a
}

func (be *backend) free(a *alloc) { be.pool[a.size] = append(be.pool[a.size], a) }

// stagingBuf returns a host-visible buffer of at least n bytes that the
// current batch owns until it completes.
func (be *backend) stagingBuf(n int) *alloc {
	c := sizeClass(n)
	var a *alloc
	if free := be.stagingFree[c]; len(free) > 0 {
		a = free[len(free)-1]
		be.stagingFree[c] = free[:len(free)-1]
	} else {
		var err error
		if a, err = be.newAlloc(c, true); err != nil {
			be.trim()
			if a, err = be.newAlloc(c, true); err != nil {
				panic(fmt.Sprintf("vk: allocating %d bytes of staging memory: %v", c, err))
			}
		}
	}
	b := be.begin()
	b.staging = append(b.staging, a)
	return a
}

// trim waits for the device and frees every pooled allocation.
func (be *backend) trim() {
	be.sync()
	for c, free := range be.pool {
		for _, a := range free {
			be.destroy(a)
		}
		delete(be.pool, c)
	}
	for c, free := range be.stagingFree {
		for _, a := range free {
			be.destroy(a)
		}
		delete(be.stagingFree, c)
	}
}

// idle reports whether no recorded or running command uses a.
func (be *backend) idle(a *alloc) bool { return a.lastUse <= be.done }

func hostBytes(p unsafe.Pointer, n int) []byte { return unsafe.Slice((*byte)(p), n) }

func (be *backend) upload(a *alloc, src []byte) {
	if be.mappable && be.idle(a) {
		copy(hostBytes(a.ptr, len(src)), src)
		return
	}
	st := be.stagingBuf(len(src))
	copy(hostBytes(st.ptr, len(src)), src)
	b := be.begin()
	be.order(b, []binding{{a: a, write: true}})
	be.sh.copyBuffer(b.cmd, st.buf, a.buf, len(src))
	be.recorded(b, "copy")
}

func (be *backend) fill(a *alloc, n int, v uint32) {
	n = (n + 3) &^ 3
	if n == 0 {
		return
	}
	if be.mappable && be.idle(a) {
		w := unsafe.Slice((*uint32)(a.ptr), n/4)
		for i := range w {
			w[i] = v
		}
		return
	}
	b := be.begin()
	be.order(b, []binding{{a: a, write: true}})
	vk.CmdFillBuffer(b.cmd, a.buf, 0, vk.DeviceSize(n), v)
	be.recorded(b, "fill")
}

func (be *backend) download(a *alloc, dst []byte) {
	if be.mappable {
		if !be.idle(a) {
			be.waitFor(a.lastUse)
		}
		copy(dst, hostBytes(a.ptr, len(dst)))
		return
	}
	// Device-local memory: the copy to a staging buffer goes at the end of
	// the recorded work, so one wait covers both.
	st := be.stagingBuf(len(dst))
	b := be.begin()
	be.order(b, []binding{{a: a}})
	be.sh.copyBuffer(b.cmd, a.buf, st.buf, len(dst))
	be.recorded(b, "copy")
	be.waitFor(b.serial)
	copy(dst, hostBytes(st.ptr, len(dst)))
}

// Memory barrier between dependent commands: compute shaders and transfers
// on both sides.
const (
	stagesAll = vk.PipelineStageFlags(vk.PipelineStageComputeShaderBit | vk.PipelineStageTransferBit)
	accWrite  = vk.AccessFlags(vk.AccessShaderWriteBit | vk.AccessTransferWriteBit)
	accAll    = vk.AccessFlags(vk.AccessShaderReadBit | vk.AccessShaderWriteBit |
		vk.AccessTransferReadBit | vk.AccessTransferWriteBit)
)

func (be *backend) barrier(b *batch, dstStages vk.PipelineStageFlags, dstAccess vk.AccessFlags) {
	be.sh.barrier(b.cmd, stagesAll, dstStages, accWrite, dstAccess)
}

// begin returns the batch being recorded, starting one if needed.
func (be *backend) begin() *batch {
	if be.cur != nil {
		return be.cur
	}
	be.poll()
	if len(be.inflight) >= 3 {
		be.waitFor(be.inflight[0].serial)
	}
	var b *batch
	if n := len(be.spare); n > 0 {
		b = be.spare[n-1]
		be.spare = be.spare[:n-1]
	} else {
		b = &batch{}
		ainfo := vk.CommandBufferAllocateInfo{
			SType:              vk.StructureTypeCommandBufferAllocateInfo,
			CommandPool:        be.cmdPool,
			Level:              vk.CommandBufferLevelPrimary,
			CommandBufferCount: 1,
		}
		cmds := make([]vk.CommandBuffer, 1)
		res := vk.AllocateCommandBuffers(be.dev, &ainfo, cmds)
		ainfo.Free()
		if res != vk.Success {
			panic(vkErr("vkAllocateCommandBuffers", res))
		}
		b.cmd = cmds[0]
		finfo := vk.FenceCreateInfo{SType: vk.StructureTypeFenceCreateInfo}
		res = vk.CreateFence(be.dev, &finfo, nil, &b.fence)
		finfo.Free()
		if res != vk.Success {
			panic(vkErr("vkCreateFence", res))
		}
	}
	be.serial++
	b.serial, b.n = be.serial, 0
	binfo := vk.CommandBufferBeginInfo{
		SType: vk.StructureTypeCommandBufferBeginInfo,
		Flags: vk.CommandBufferUsageFlags(vk.CommandBufferUsageOneTimeSubmitBit),
	}
	res := vk.BeginCommandBuffer(b.cmd, &binfo)
	binfo.Free()
	if res != vk.Success {
		panic(vkErr("vkBeginCommandBuffer", res))
	}
	// Commands of earlier submissions may still run: order this batch
	// after them.
	be.barrier(b, stagesAll, accAll)
	be.epoch++
	be.cur = b
	b.timed, b.names = be.prof != nil, b.names[:0]
	if b.timed {
		if b.queries == vk.NullQueryPool {
			info := vk.QueryPoolCreateInfo{
				SType:      vk.StructureTypeQueryPoolCreateInfo,
				QueryType:  vk.QueryTypeTimestamp,
				QueryCount: batchCommands + 1,
			}
			var qp vk.QueryPool // not &b.queries: cgo rejects a pointer into b
			res := vk.CreateQueryPool(be.dev, &info, nil, &qp)
			info.Free()
			b.queries = qp
			if res != vk.Success {
				panic(vkErr("vkCreateQueryPool", res))
			}
		}
		vk.CmdResetQueryPool(b.cmd, b.queries, 0, batchCommands+1)
		vk.CmdWriteTimestamp(b.cmd, vk.PipelineStageBottomOfPipeBit, b.queries, 0)
	}
	return b
}

// lowBits returns a mask of the n low bits.
func lowBits(n int) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}

// order puts a barrier in front of the next command if it touches a buffer
// that a command since the last barrier wrote (read after write, write after
// write) or writes one that such a command read (write after read), and
// records the command's uses.
func (be *backend) order(b *batch, args []binding) {
	need := false
	for _, x := range args {
		if x.a.writeEp == be.epoch || (x.write && x.a.readEpoch == be.epoch) {
			need = true
		}
	}
	if need {
		be.barrier(b, stagesAll, accAll)
		be.epoch++
		be.stats.Barriers++
	}
	for _, x := range args {
		x.a.lastUse = b.serial
		if x.write {
			x.a.writeEp = be.epoch
		} else {
			x.a.readEpoch = be.epoch
		}
	}
}

// batchCommands is how many commands a batch holds before it is submitted.
const batchCommands = 1024

// recorded counts a command of the named kernel (timing it when profiling);
// long batches are submitted without waiting so the device starts on them.
func (be *backend) recorded(b *batch, name string) {
	if b.timed {
		b.names = append(b.names, name)
		vk.CmdWriteTimestamp(b.cmd, vk.PipelineStageBottomOfPipeBit, b.queries, uint32(len(b.names)))
	}
	b.n++
	if b.n >= batchCommands {
		be.flush()
	}
}

// setProfiling starts (clearing earlier figures) or stops timing commands.
// The batch being recorded is submitted so that timing starts with the next.
func (be *backend) setProfiling(on bool) error {
	if on && (be.tsMask == 0 || be.tsPeriod <= 0) {
		return errors.New("no timestamps on its compute queue")
	}
	be.flush()
	be.prof = nil
	if on {
		be.prof = map[string]*KernelTime{}
	}
	return nil
}

// collect adds the timed commands of a completed batch to the profile.
func (be *backend) collect(b *batch) {
	n := len(b.names)
	if !b.timed || n == 0 || be.prof == nil {
		return
	}
	ts := make([]uint64, n+1)
	res := vk.GetQueryPoolResults(be.dev, b.queries, 0, uint32(n+1), uint(8*(n+1)), unsafe.Pointer(&ts[0]), 8,
		vk.QueryResultFlags(vk.QueryResult64Bit|vk.QueryResultWaitBit))
	if res != vk.Success {
		panic(vkErr("vkGetQueryPoolResults", res))
	}
	for i, name := range b.names {
		kt := be.prof[name]
		if kt == nil {
			kt = &KernelTime{Kernel: name}
			be.prof[name] = kt
		}
		ticks := (ts[i+1] - ts[i]) & be.tsMask
		kt.Calls++
		kt.Time += time.Duration(float64(ticks) * be.tsPeriod)
	}
}

// kernelTimes waits for all recorded work and returns the profile, the
// largest time first.
func (be *backend) kernelTimes() []KernelTime {
	be.sync()
	var out []KernelTime
	for _, kt := range be.prof {
		out = append(out, *kt)
	}
	slices.SortFunc(out, func(a, b KernelTime) int { return cmp.Compare(b.Time, a.Time) })
	return out
}

func (be *backend) flush() {
	b := be.cur
	if b == nil {
		return
	}
	be.cur = nil
	// Make the batch's writes visible to the host once its fence signals.
	be.barrier(b, vk.PipelineStageFlags(vk.PipelineStageHostBit), vk.AccessFlags(vk.AccessHostReadBit))
	if res := vk.EndCommandBuffer(b.cmd); res != vk.Success {
		panic(vkErr("vkEndCommandBuffer", res))
	}
	if res := be.sh.submit(be.queue, b.cmd, b.fence); res != vk.Success {
		panic(vkErr("vkQueueSubmit", res))
	}
	be.stats.Submits++
	be.inflight = append(be.inflight, b)
}

// waitFor waits until the batch with the given serial has completed,
// submitting it first if it is still being recorded.
func (be *backend) waitFor(serial uint64) {
	if be.cur != nil && be.cur.serial <= serial {
		be.flush()
	}
	var fences []vk.Fence
	for _, b := range be.inflight {
		if b.serial <= serial {
			fences = append(fences, b.fence)
		}
	}
	if len(fences) == 0 {
		return
	}
	res := vk.WaitForFences(be.dev, uint32(len(fences)), fences, vk.True, vk.MaxUint64)
	if res != vk.Success {
		panic(vkErr("vkWaitForFences", res))
	}
	be.stats.Waits++
	for range fences {
		be.retire()
	}
}

// poll retires the batches that have completed, without waiting.
func (be *backend) poll() {
	for len(be.inflight) > 0 && vk.GetFenceStatus(be.dev, be.inflight[0].fence) == vk.Success {
		be.retire()
	}
}

// retire recycles the oldest in-flight batch, which has completed.
func (be *backend) retire() {
	b := be.inflight[0]
	be.inflight = be.inflight[1:]
	be.collect(b)
	vk.ResetFences(be.dev, 1, []vk.Fence{b.fence})
	for _, p := range b.pools {
		vk.ResetDescriptorPool(be.dev, p, 0)
		be.freePools = append(be.freePools, p)
	}
	b.pools = b.pools[:0]
	for _, a := range b.staging {
		be.stagingFree[a.size] = append(be.stagingFree[a.size], a)
	}
	b.staging = b.staging[:0]
	be.done = b.serial
	be.spare = append(be.spare, b)
}

func (be *backend) sync() {
	be.flush()
	be.waitFor(be.serial)
}

// Descriptor pools hold the sets of one batch's dispatches; they are reset
// together when the batch completes.
const setsPerPool = 256

func (be *backend) descriptorSet(b *batch, lay *layout) vk.DescriptorSet {
	for try := 0; try < 2; try++ {
		if n := len(b.pools); n > 0 {
			if set, res := be.sh.allocateSet(be.dev, b.pools[n-1], lay.dsl); res == vk.Success {
				return set
			}
		}
		b.pools = append(b.pools, be.descriptorPool())
	}
	panic("vk: cannot allocate a descriptor set")
}

func (be *backend) descriptorPool() vk.DescriptorPool {
	if n := len(be.freePools); n > 0 {
		p := be.freePools[n-1]
		be.freePools = be.freePools[:n-1]
		return p
	}
	p, res := be.sh.descriptorPool(be.dev, setsPerPool, setsPerPool*6)
	if res != vk.Success {
		panic(vkErr("vkCreateDescriptorPool", res))
	}
	return p
}

func (be *backend) layout(nb int) *layout {
	if l := be.layouts[nb]; l != nil {
		return l
	}
	l := &layout{}
	var res vk.Result
	if l.dsl, res = be.sh.setLayout(be.dev, nb); res != vk.Success {
		panic(vkErr("vkCreateDescriptorSetLayout", res))
	}
	// 128 bytes of push constants: the minimum every device supports.
	if l.pl, res = be.sh.pipelineLayout(be.dev, l.dsl, 128); res != vk.Success {
		panic(vkErr("vkCreatePipelineLayout", res))
	}
	be.layouts[nb] = l
	return l
}

func (be *backend) module(name string) vk.ShaderModule {
	if m, ok := be.modules[name]; ok {
		return m
	}
	code, err := shaders.Code(name)
	if err != nil {
		panic(err)
	}
	// The binding stores PCode's pointer in C memory: give it C memory.
	ccode := cWords(code)
	defer freeWords(ccode)
	minfo := vk.ShaderModuleCreateInfo{
		SType:    vk.StructureTypeShaderModuleCreateInfo,
		CodeSize: uint(4 * len(code)),
		PCode:    ccode,
	}
	var m vk.ShaderModule
	res := vk.CreateShaderModule(be.dev, &minfo, nil, &m)
	minfo.Free()
	if res != vk.Success {
		panic(vkErr("vkCreateShaderModule "+name, res))
	}
	be.modules[name] = m
	return m
}

// pipeline returns the pipeline of kernel k specialized with spec
// (constant_id i takes spec[i]), building it on first use.
func (be *backend) pipeline(k *kernel, spec []uint32) *pipeline {
	name := k.module
	if k.subgroup && be.subgroup {
		name += "_sg"
	}
	key := fmt.Sprint(name, spec)
	if p := be.pipes[key]; p != nil {
		return p
	}
	lay := be.layout(k.bindings)
	pipe, res := be.sh.computePipeline(be.dev, lay.pl, be.module(name), spec)
	if res != vk.Success {
		panic(vkErr("vkCreateComputePipelines "+key, res))
	}
	p := &pipeline{pipe: pipe, lay: lay}
	be.pipes[key] = p
	be.stats.Pipelines++
	return p
}

func (be *backend) dispatch(k *kernel, spec []uint32, groups [3]int, pc push, args []binding) {
	p := be.pipeline(k, spec)
	b := be.begin()
	set := be.descriptorSet(b, p.lay)
	var bufs [16]vk.Buffer
	for i, x := range args {
		bufs[i] = x.a.buf
	}
	be.sh.bindBuffers(be.dev, set, bufs[:len(args)])
	be.order(b, args)
	vk.CmdBindPipeline(b.cmd, vk.PipelineBindPointCompute, p.pipe)
	vk.CmdBindDescriptorSets(b.cmd, vk.PipelineBindPointCompute, p.lay.pl, 0, 1, []vk.DescriptorSet{set}, 0, nil)
	if len(pc) > 0 {
		vk.CmdPushConstants(b.cmd, p.lay.pl, vk.ShaderStageFlags(vk.ShaderStageComputeBit), 0, uint32(len(pc)), unsafe.Pointer(&pc[0]))
	}
	vk.CmdDispatch(b.cmd, uint32(groups[0]), uint32(groups[1]), uint32(groups[2]))
	be.stats.Dispatches++
	be.recorded(b, k.module)
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
