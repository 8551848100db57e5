//go:build cgo

package vk

// The binding converts slices of structs (VkWriteDescriptorSet,
// VkSpecializationInfo, VkMemoryBarrier, VkSubmitInfo, ...) into C memory
// that a finalizer set on a local variable frees; the finalizer can run
// while the Vulkan call still reads the memory (a use-after-free that shows
// up as an intermittent SIGSEGV in vkCreateComputePipelines). Its fork
// github.com/goki/vulkan is generated the same way and has the same defect.
// The calls that take such arguments therefore go through this small C
// shim, which builds the structures on the C stack and calls the driver
// through function pointers from vkGetDeviceProcAddr. The structures are
// declared here (their layout is fixed by the Vulkan ABI) so that building
// needs no Vulkan headers; non-dispatchable handles are 64-bit integers.

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t duoH; // non-dispatchable handle
typedef void *(*duoGIPA)(void *, const char *);
typedef void *(*duoGDPA)(void *, const char *);

typedef struct { int32_t sType; const void *pNext; uint32_t flags, queueFamilyIndex, queueCount; const float *pQueuePriorities; } duoDeviceQueueCreateInfo;
typedef struct {
	int32_t sType; const void *pNext; uint32_t flags;
	uint32_t queueCreateInfoCount; const duoDeviceQueueCreateInfo *pQueueCreateInfos;
	uint32_t enabledLayerCount; const char *const *ppEnabledLayerNames;
	uint32_t enabledExtensionCount; const char *const *ppEnabledExtensionNames;
	const void *pEnabledFeatures;
} duoDeviceCreateInfo;
typedef struct { uint32_t queueFlags, queueCount, timestampValidBits, w, h, d; } duoQueueFamilyProperties;
typedef struct { duoH buffer; uint64_t offset, range; } duoDescriptorBufferInfo;
typedef struct {
	int32_t sType; const void *pNext; duoH dstSet; uint32_t dstBinding, dstArrayElement, descriptorCount;
	int32_t descriptorType; const void *pImageInfo; const duoDescriptorBufferInfo *pBufferInfo; const void *pTexelBufferView;
} duoWriteDescriptorSet;
typedef struct { uint32_t constantID, offset; size_t size; } duoSpecializationMapEntry;
typedef struct { uint32_t mapEntryCount; const duoSpecializationMapEntry *pMapEntries; size_t dataSize; const void *pData; } duoSpecializationInfo;
typedef struct {
	int32_t sType; const void *pNext; uint32_t flags; uint32_t stage; duoH module; const char *pName;
	const duoSpecializationInfo *pSpecializationInfo;
} duoPipelineShaderStageCreateInfo;
typedef struct {
	int32_t sType; const void *pNext; uint32_t flags; duoPipelineShaderStageCreateInfo stage;
	duoH layout, basePipelineHandle; int32_t basePipelineIndex;
} duoComputePipelineCreateInfo;
typedef struct { int32_t sType; const void *pNext; uint32_t srcAccessMask, dstAccessMask; } duoMemoryBarrier;
typedef struct { uint64_t srcOffset, dstOffset, size; } duoBufferCopy;
typedef struct {
	int32_t sType; const void *pNext; uint32_t waitSemaphoreCount; const duoH *pWaitSemaphores;
	const uint32_t *pWaitDstStageMask; uint32_t commandBufferCount; void *const *pCommandBuffers;
	uint32_t signalSemaphoreCount; const duoH *pSignalSemaphores;
} duoSubmitInfo;
typedef struct { uint32_t binding; int32_t descriptorType; uint32_t descriptorCount, stageFlags; const duoH *pImmutableSamplers; } duoDescriptorSetLayoutBinding;
typedef struct { int32_t sType; const void *pNext; uint32_t flags, bindingCount; const duoDescriptorSetLayoutBinding *pBindings; } duoDescriptorSetLayoutCreateInfo;
typedef struct { uint32_t stageFlags, offset, size; } duoPushConstantRange;
typedef struct {
	int32_t sType; const void *pNext; uint32_t flags, setLayoutCount; const duoH *pSetLayouts;
	uint32_t pushConstantRangeCount; const duoPushConstantRange *pPushConstantRanges;
} duoPipelineLayoutCreateInfo;
typedef struct { int32_t type; uint32_t descriptorCount; } duoDescriptorPoolSize;
typedef struct { int32_t sType; const void *pNext; uint32_t flags, maxSets, poolSizeCount; const duoDescriptorPoolSize *pPoolSizes; } duoDescriptorPoolCreateInfo;
typedef struct { int32_t sType; const void *pNext; duoH descriptorPool; uint32_t descriptorSetCount; const duoH *pSetLayouts; } duoDescriptorSetAllocateInfo;

enum {
	duoSTDeviceQueueCreateInfo = 2, duoSTDeviceCreateInfo = 3, duoSTSubmitInfo = 4,
	duoSTPipelineShaderStageCreateInfo = 18, duoSTComputePipelineCreateInfo = 29,
	duoSTPipelineLayoutCreateInfo = 30, duoSTDescriptorSetLayoutCreateInfo = 32,
	duoSTDescriptorPoolCreateInfo = 33, duoSTDescriptorSetAllocateInfo = 34,
	duoSTWriteDescriptorSet = 35, duoSTMemoryBarrier = 46,
	duoStorageBuffer = 7, duoComputeStage = 0x20,
};

typedef void (*duoPFNQueueFamilies)(void *, uint32_t *, duoQueueFamilyProperties *);
typedef int32_t (*duoPFNCreateDevice)(void *, const duoDeviceCreateInfo *, const void *, void **);

// The device-level entry points the shim calls.
typedef struct {
	void (*updateDescriptorSets)(void *, uint32_t, const duoWriteDescriptorSet *, uint32_t, const void *);
	int32_t (*createComputePipelines)(void *, duoH, uint32_t, const duoComputePipelineCreateInfo *, const void *, duoH *);
	void (*cmdPipelineBarrier)(void *, uint32_t, uint32_t, uint32_t, uint32_t, const duoMemoryBarrier *, uint32_t, const void *, uint32_t, const void *);
	void (*cmdCopyBuffer)(void *, duoH, duoH, uint32_t, const duoBufferCopy *);
	int32_t (*queueSubmit)(void *, uint32_t, const duoSubmitInfo *, duoH);
	int32_t (*createDescriptorSetLayout)(void *, const duoDescriptorSetLayoutCreateInfo *, const void *, duoH *);
	int32_t (*createPipelineLayout)(void *, const duoPipelineLayoutCreateInfo *, const void *, duoH *);
	int32_t (*createDescriptorPool)(void *, const duoDescriptorPoolCreateInfo *, const void *, duoH *);
	int32_t (*allocateDescriptorSets)(void *, const duoDescriptorSetAllocateInfo *, duoH *);
} duoDeviceFns;

static int duo_queue_families(void *gipa, void *inst, void *pd, uint32_t *flags, uint32_t *counts, uint32_t *tsbits, uint32_t max) {
	duoPFNQueueFamilies f = (duoPFNQueueFamilies)((duoGIPA)gipa)(inst, "vkGetPhysicalDeviceQueueFamilyProperties");
	if (!f) return 0;
	uint32_t n = 0;
	f(pd, &n, NULL);
	if (n > max) n = max;
	duoQueueFamilyProperties *p = calloc(n ? n : 1, sizeof *p);
	f(pd, &n, p);
	for (uint32_t i = 0; i < n; i++) {
		flags[i] = p[i].queueFlags;
		counts[i] = p[i].queueCount;
		tsbits[i] = p[i].timestampValidBits;
	}
	free(p);
	return (int)n;
}

static int32_t duo_create_device(void *gipa, void *inst, void *pd, uint32_t qfam, void **dev) {
	duoPFNCreateDevice f = (duoPFNCreateDevice)((duoGIPA)gipa)(inst, "vkCreateDevice");
	if (!f) return -3; // VK_ERROR_INITIALIZATION_FAILED
	float prio = 1.0f;
	duoDeviceQueueCreateInfo q;
	memset(&q, 0, sizeof q);
	q.sType = duoSTDeviceQueueCreateInfo;
	q.queueFamilyIndex = qfam;
	q.queueCount = 1;
	q.pQueuePriorities = &prio;
	duoDeviceCreateInfo d;
	memset(&d, 0, sizeof d);
	d.sType = duoSTDeviceCreateInfo;
	d.queueCreateInfoCount = 1;
	d.pQueueCreateInfos = &q;
	return f(pd, &d, NULL, dev);
}

// duo_load_device fills a malloc'ed table; NULL if an entry point is missing.
static duoDeviceFns *duo_load_device(void *gipa, void *inst, void *dev) {
	duoGDPA gdpa = (duoGDPA)((duoGIPA)gipa)(inst, "vkGetDeviceProcAddr");
	if (!gdpa) return NULL;
	duoDeviceFns *t = calloc(1, sizeof *t);
	*(void **)&t->updateDescriptorSets = gdpa(dev, "vkUpdateDescriptorSets");
	*(void **)&t->createComputePipelines = gdpa(dev, "vkCreateComputePipelines");
	*(void **)&t->cmdPipelineBarrier = gdpa(dev, "vkCmdPipelineBarrier");
	*(void **)&t->cmdCopyBuffer = gdpa(dev, "vkCmdCopyBuffer");
	*(void **)&t->queueSubmit = gdpa(dev, "vkQueueSubmit");
	*(void **)&t->createDescriptorSetLayout = gdpa(dev, "vkCreateDescriptorSetLayout");
	*(void **)&t->createPipelineLayout = gdpa(dev, "vkCreatePipelineLayout");
	*(void **)&t->createDescriptorPool = gdpa(dev, "vkCreateDescriptorPool");
	*(void **)&t->allocateDescriptorSets = gdpa(dev, "vkAllocateDescriptorSets");
	if (!t->updateDescriptorSets || !t->createComputePipelines || !t->cmdPipelineBarrier ||
	    !t->cmdCopyBuffer || !t->queueSubmit || !t->createDescriptorSetLayout ||
	    !t->createPipelineLayout || !t->createDescriptorPool || !t->allocateDescriptorSets) {
		free(t);
		return NULL;
	}
	return t;
}

// duo_bind_buffers points bindings 0..n-1 of set at whole buffers.
static void duo_bind_buffers(duoDeviceFns *t, void *dev, duoH set, uint32_t n, const duoH *bufs) {
	duoDescriptorBufferInfo info[16];
	duoWriteDescriptorSet w[16];
	if (n > 16) n = 16;
	memset(w, 0, sizeof w);
	for (uint32_t i = 0; i < n; i++) {
		info[i].buffer = bufs[i];
		info[i].offset = 0;
		info[i].range = ~(uint64_t)0; // VK_WHOLE_SIZE
		w[i].sType = duoSTWriteDescriptorSet;
		w[i].dstSet = set;
		w[i].dstBinding = i;
		w[i].descriptorCount = 1;
		w[i].descriptorType = duoStorageBuffer;
		w[i].pBufferInfo = &info[i];
	}
	t->updateDescriptorSets(dev, n, w, 0, NULL);
}

static int32_t duo_compute_pipeline(duoDeviceFns *t, void *dev, duoH layout, duoH module,
                                    const uint32_t *spec, uint32_t nspec, duoH *out) {
	duoSpecializationMapEntry e[16];
	if (nspec > 16) nspec = 16;
	for (uint32_t i = 0; i < nspec; i++) {
		e[i].constantID = i;
		e[i].offset = 4 * i;
		e[i].size = 4;
	}
	duoSpecializationInfo si = {nspec, e, 4 * (size_t)nspec, spec};
	duoComputePipelineCreateInfo c;
	memset(&c, 0, sizeof c);
	c.sType = duoSTComputePipelineCreateInfo;
	c.stage.sType = duoSTPipelineShaderStageCreateInfo;
	c.stage.stage = duoComputeStage;
	c.stage.module = module;
	c.stage.pName = "main";
	c.stage.pSpecializationInfo = nspec ? &si : NULL;
	c.layout = layout;
	c.basePipelineIndex = -1;
	return t->createComputePipelines(dev, 0, 1, &c, NULL, out);
}

static void duo_barrier(duoDeviceFns *t, void *cmd, uint32_t srcStages, uint32_t dstStages, uint32_t srcAccess, uint32_t dstAccess) {
	duoMemoryBarrier b = {duoSTMemoryBarrier, NULL, srcAccess, dstAccess};
	t->cmdPipelineBarrier(cmd, srcStages, dstStages, 0, 1, &b, 0, NULL, 0, NULL);
}

static void duo_copy(duoDeviceFns *t, void *cmd, duoH src, duoH dst, uint64_t size) {
	duoBufferCopy c = {0, 0, size};
	t->cmdCopyBuffer(cmd, src, dst, 1, &c);
}

static int32_t duo_submit(duoDeviceFns *t, void *queue, void *cmd, duoH fence) {
	duoSubmitInfo s;
	memset(&s, 0, sizeof s);
	s.sType = duoSTSubmitInfo;
	s.commandBufferCount = 1;
	s.pCommandBuffers = &cmd;
	return t->queueSubmit(queue, 1, &s, fence);
}

static int32_t duo_set_layout(duoDeviceFns *t, void *dev, uint32_t n, duoH *out) {
	duoDescriptorSetLayoutBinding b[16];
	if (n > 16) n = 16;
	memset(b, 0, sizeof b);
	for (uint32_t i = 0; i < n; i++) {
		b[i].binding = i;
		b[i].descriptorType = duoStorageBuffer;
		b[i].descriptorCount = 1;
		b[i].stageFlags = duoComputeStage;
	}
	duoDescriptorSetLayoutCreateInfo c = {duoSTDescriptorSetLayoutCreateInfo, NULL, 0, n, b};
	return t->createDescriptorSetLayout(dev, &c, NULL, out);
}

static int32_t duo_pipeline_layout(duoDeviceFns *t, void *dev, duoH setLayout, uint32_t pushBytes, duoH *out) {
	duoPushConstantRange r = {duoComputeStage, 0, pushBytes};
	duoPipelineLayoutCreateInfo c = {duoSTPipelineLayoutCreateInfo, NULL, 0, 1, &setLayout, 1, &r};
	return t->createPipelineLayout(dev, &c, NULL, out);
}

static int32_t duo_descriptor_pool(duoDeviceFns *t, void *dev, uint32_t maxSets, uint32_t nDesc, duoH *out) {
	duoDescriptorPoolSize s = {duoStorageBuffer, nDesc};
	duoDescriptorPoolCreateInfo c = {duoSTDescriptorPoolCreateInfo, NULL, 0, maxSets, 1, &s};
	return t->createDescriptorPool(dev, &c, NULL, out);
}

static int32_t duo_allocate_set(duoDeviceFns *t, void *dev, duoH pool, duoH layout, duoH *out) {
	duoDescriptorSetAllocateInfo a = {duoSTDescriptorSetAllocateInfo, NULL, pool, 1, &layout};
	return t->allocateDescriptorSets(dev, &a, out);
}
*/
import "C"

import (
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// handle converts a binding handle (a C pointer on 64-bit platforms, a
// uint64 on 32-bit ones) to the shim's 64-bit integer, and back.
func handle[T any](x T) C.duoH { return C.duoH(*(*uint64)(unsafe.Pointer(&x))) }

func fromHandle[T any](h C.duoH) T {
	var x T
	*(*uint64)(unsafe.Pointer(&x)) = uint64(h)
	return x
}

// ptr converts a dispatchable handle (always a pointer) for the shim.
func ptr[T any](x T) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&x)) }

// shim is the table of device entry points the C shim calls.
type shim struct{ fns *C.duoDeviceFns }

// queueFamilies returns the flags, queue counts and timestamp valid bits of
// pd's queue families.
func queueFamilies(gipa unsafe.Pointer, inst vk.Instance, pd vk.PhysicalDevice) (flags, counts, tsBits []uint32) {
	const max = 64
	mem := (*[3 * max]C.uint32_t)(C.malloc(3 * max * 4))
	defer C.free(unsafe.Pointer(mem))
	n := int(C.duo_queue_families(gipa, ptr(inst), ptr(pd), &mem[0], &mem[max], &mem[2*max], max))
	for i := 0; i < n; i++ {
		flags = append(flags, uint32(mem[i]))
		counts = append(counts, uint32(mem[max+i]))
		tsBits = append(tsBits, uint32(mem[2*max+i]))
	}
	return flags, counts, tsBits
}

// createDevice creates a logical device with one queue of family qfam and
// loads the shim's entry points for it.
func createDevice(gipa unsafe.Pointer, inst vk.Instance, pd vk.PhysicalDevice, qfam uint32) (vk.Device, shim, vk.Result) {
	out := (*unsafe.Pointer)(C.malloc(C.size_t(unsafe.Sizeof(unsafe.Pointer(nil)))))
	defer C.free(unsafe.Pointer(out))
	res := vk.Result(C.duo_create_device(gipa, ptr(inst), ptr(pd), C.uint32_t(qfam), out))
	if res != vk.Success {
		return nil, shim{}, res
	}
	dev := *(*vk.Device)(unsafe.Pointer(out))
	fns := C.duo_load_device(gipa, ptr(inst), *out)
	if fns == nil {
		vk.DestroyDevice(dev, nil)
		return nil, shim{}, vk.ErrorInitializationFailed
	}
	return dev, shim{fns}, vk.Success
}

func (s shim) free() { C.free(unsafe.Pointer(s.fns)) }

// cHandles holds handles in C memory for the duration of one call.
type cHandles struct {
	p *C.duoH
	n int
}

func newCHandles(n int) cHandles {
	return cHandles{(*C.duoH)(C.malloc(C.size_t(8 * max(n, 1)))), n}
}

func (h cHandles) at(i int) *C.duoH { return (*C.duoH)(unsafe.Add(unsafe.Pointer(h.p), 8*i)) }
func (h cHandles) release()         { C.free(unsafe.Pointer(h.p)) }

func (s shim) bindBuffers(dev vk.Device, set vk.DescriptorSet, bufs []vk.Buffer) {
	h := newCHandles(len(bufs))
	defer h.release()
	for i, b := range bufs {
		*h.at(i) = handle(b)
	}
	C.duo_bind_buffers(s.fns, ptr(dev), handle(set), C.uint32_t(len(bufs)), h.p)
}

func (s shim) computePipeline(dev vk.Device, layout vk.PipelineLayout, mod vk.ShaderModule, spec []uint32) (vk.Pipeline, vk.Result) {
	data := (*C.uint32_t)(C.malloc(C.size_t(4 * max(len(spec), 1))))
	defer C.free(unsafe.Pointer(data))
	for i, v := range spec {
		*(*C.uint32_t)(unsafe.Add(unsafe.Pointer(data), 4*i)) = C.uint32_t(v)
	}
	out := newCHandles(1)
	defer out.release()
	res := vk.Result(C.duo_compute_pipeline(s.fns, ptr(dev), handle(layout), handle(mod), data, C.uint32_t(len(spec)), out.p))
	return fromHandle[vk.Pipeline](*out.p), res
}

func (s shim) barrier(cmd vk.CommandBuffer, srcStages, dstStages vk.PipelineStageFlags, srcAccess, dstAccess vk.AccessFlags) {
	C.duo_barrier(s.fns, ptr(cmd), C.uint32_t(srcStages), C.uint32_t(dstStages), C.uint32_t(srcAccess), C.uint32_t(dstAccess))
}

func (s shim) copyBuffer(cmd vk.CommandBuffer, src, dst vk.Buffer, size int) {
	C.duo_copy(s.fns, ptr(cmd), handle(src), handle(dst), C.uint64_t(size))
}

func (s shim) submit(q vk.Queue, cmd vk.CommandBuffer, fence vk.Fence) vk.Result {
	return vk.Result(C.duo_submit(s.fns, ptr(q), ptr(cmd), handle(fence)))
}

func (s shim) setLayout(dev vk.Device, n int) (vk.DescriptorSetLayout, vk.Result) {
	out := newCHandles(1)
	defer out.release()
	res := vk.Result(C.duo_set_layout(s.fns, ptr(dev), C.uint32_t(n), out.p))
	return fromHandle[vk.DescriptorSetLayout](*out.p), res
}

func (s shim) pipelineLayout(dev vk.Device, set vk.DescriptorSetLayout, pushBytes int) (vk.PipelineLayout, vk.Result) {
	out := newCHandles(1)
	defer out.release()
	res := vk.Result(C.duo_pipeline_layout(s.fns, ptr(dev), handle(set), C.uint32_t(pushBytes), out.p))
	return fromHandle[vk.PipelineLayout](*out.p), res
}

func (s shim) descriptorPool(dev vk.Device, maxSets, descriptors int) (vk.DescriptorPool, vk.Result) {
	out := newCHandles(1)
	defer out.release()
	res := vk.Result(C.duo_descriptor_pool(s.fns, ptr(dev), C.uint32_t(maxSets), C.uint32_t(descriptors), out.p))
	return fromHandle[vk.DescriptorPool](*out.p), res
}

func (s shim) allocateSet(dev vk.Device, pool vk.DescriptorPool, layout vk.DescriptorSetLayout) (vk.DescriptorSet, vk.Result) {
	out := newCHandles(1)
	defer out.release()
	res := vk.Result(C.duo_allocate_set(s.fns, ptr(dev), handle(pool), handle(layout), out.p))
	return fromHandle[vk.DescriptorSet](*out.p), res
}

// cWords copies w into C memory (freed with freeWords).
func cWords(w []uint32) []uint32 {
	c := unsafe.Slice((*uint32)(C.malloc(C.size_t(4*max(len(w), 1)))), len(w))
	copy(c, w)
	return c
}

func freeWords(w []uint32) { C.free(unsafe.Pointer(unsafe.SliceData(w))) }
