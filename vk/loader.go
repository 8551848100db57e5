//go:build cgo

package vk

/*
#cgo linux LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *duo_vk_lib;

// duo_vk_open loads the Vulkan loader; it returns NULL or dlerror().
static const char *duo_vk_open(const char *name) {
	if (duo_vk_lib) return NULL;
	duo_vk_lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	return duo_vk_lib ? NULL : dlerror();
}

static void *duo_vk_gipa(void) { return dlsym(duo_vk_lib, "vkGetInstanceProcAddr"); }

// The binding predates Vulkan 1.1's vkGetPhysicalDeviceProperties2; the
// subgroup properties are read through it here with the two structures
// spelled out (VkPhysicalDeviceProperties itself is kept opaque).
typedef void *(*duo_pfn_gipa)(void *, const char *);
typedef void (*duo_pfn_props2)(void *, void *);

typedef struct {
	int32_t sType;
	void *pNext;
	uint32_t subgroupSize, supportedStages, supportedOperations, quadOperationsInAllStages;
} duo_subgroup_props;

typedef struct {
	int32_t sType;
	void *pNext;
	uint64_t properties[256]; // VkPhysicalDeviceProperties is 824 bytes
} duo_props2;

static int duo_vk_subgroup(void *gipa, void *instance, void *pd, uint32_t *out) {
	duo_pfn_props2 f = (duo_pfn_props2)((duo_pfn_gipa)gipa)(instance, "vkGetPhysicalDeviceProperties2");
	if (!f) return 0;
	duo_subgroup_props sg;
	memset(&sg, 0, sizeof sg);
	sg.sType = 1000094000; // VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES
	duo_props2 p;
	memset(&p, 0, sizeof p);
	p.sType = 1000059001; // VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
	p.pNext = &sg;
	f(pd, &p);
	out[0] = sg.subgroupSize;
	out[1] = sg.supportedStages;
	out[2] = sg.supportedOperations;
	return 1;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// loaderName is the Vulkan loader's soname: the runtime package (libvulkan1)
// installs it; the unversioned libvulkan.so that the binding's own default
// loader opens comes only with the development package.
const loaderName = "libvulkan.so.1"

// loadVulkan opens the loader and hands its vkGetInstanceProcAddr to the
// binding.
func loadVulkan() (gipa unsafe.Pointer, err error) {
	name := C.CString(loaderName)
	defer C.free(unsafe.Pointer(name))
	if msg := C.duo_vk_open(name); msg != nil {
		return nil, fmt.Errorf("%w: %s", ErrNoLoader, C.GoString(msg))
	}
	gipa = C.duo_vk_gipa()
	if gipa == nil {
		return nil, fmt.Errorf("%w: %s has no vkGetInstanceProcAddr", ErrNoLoader, loaderName)
	}
	vk.SetGetInstanceProcAddr(gipa)
	if err := vk.Init(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoLoader, err)
	}
	return gipa, nil
}

// subgroupProps returns the subgroup size, supported stages and operations
// of a Vulkan 1.1 device (ok false when the query is not available).
func subgroupProps(gipa unsafe.Pointer, inst vk.Instance, pd vk.PhysicalDevice) (size, stages, ops uint32, ok bool) {
	out := (*[3]C.uint32_t)(C.malloc(3 * 4))
	defer C.free(unsafe.Pointer(out))
	if C.duo_vk_subgroup(gipa, unsafe.Pointer(inst), unsafe.Pointer(pd), &out[0]) == 0 {
		return 0, 0, 0, false
	}
	return uint32(out[0]), uint32(out[1]), uint32(out[2]), true
}
