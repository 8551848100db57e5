// Package shaders holds the engine's GLSL compute shaders (src/) and their
// SPIR-V bytecode (spv/), which is committed and embedded in the binary, so
// neither a shader compiler nor the sources are needed at run time.
//
// Each kernel is one module, named after its source file: "matmul" is
// src/matmul.comp. Variants of a kernel are specialization constants set
// when the pipeline is built, not copies of the shader; the one exception is
// NAME_sg, the same source compiled with -DSUBGROUP for devices with
// subgroup arithmetic (a module that merely mentions those instructions is
// invalid on devices without them).
//
// Regenerate spv/ after editing src/ with `make -C shaders` (Debian packages
// glslc and spirv-tools; glslc --target-env=vulkan1.1 -O, then spirv-val);
// `shaders/check.sh` fails when the committed bytecode is stale.
package shaders

import (
	"embed"
	"encoding/binary"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed spv/*.spv
var spv embed.FS

// magic is the first word of every SPIR-V module.
const magic = 0x07230203

// Names lists the embedded modules, sorted.
func Names() []string {
	ents, _ := fs.ReadDir(spv, "spv") // the embedded directory always exists
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".spv"))
	}
	sort.Strings(names)
	return names
}

// Bytes returns the SPIR-V bytecode of the named module.
func Bytes(name string) ([]byte, error) {
	b, err := spv.ReadFile("spv/" + name + ".spv")
	if err != nil {
		return nil, fmt.Errorf("shaders: no module %q", name)
	}
	return b, nil
}

// Code returns the named module as SPIR-V words, the form
// vkCreateShaderModule takes, after checking the header.
func Code(name string) ([]uint32, error) {
	b, err := Bytes(name)
	if err != nil {
		return nil, err
	}
	if len(b) < 20 || len(b)%4 != 0 || binary.LittleEndian.Uint32(b) != magic {
		return nil, fmt.Errorf("shaders: module %q is not little-endian SPIR-V", name)
	}
	words := make([]uint32, len(b)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return words, nil
}
