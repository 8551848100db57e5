//go:build cgo

package vk

import (
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"

	"github.com/duo-go/duo/shaders"
)

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
