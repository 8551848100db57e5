//go:build cgo

package vk

import (
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

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
