//go:build cgo

package vk

import (
	"cmp"
	"errors"
	"slices"
	"time"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

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
