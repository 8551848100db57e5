#!/bin/sh
# build.sh [OUTDIR]: compiles every compute shader in src/ to SPIR-V and
# validates it. With no argument it writes into spv/, the bytecode the Go
# package embeds; check.sh builds into a temporary directory and compares.
#
# Needs glslc (Debian package glslc) and spirv-val (spirv-tools). The
# committed bytecode was produced by Debian bookworm's glslc (shaderc
# 2023.2); another glslc may emit different (equally valid) bytes.
set -eu
cd "$(dirname "$0")"
out=${1:-spv}
mkdir -p "$out"

# Kernels with workgroup reductions also get a subgroup-arithmetic variant,
# NAME_sg.spv, compiled from the same source with -DSUBGROUP.
SUBGROUP_VARIANTS="reduce_axis reduce_all softmax cross_entropy layernorm embedding argmax usdm_loss"

GLSLC="glslc --target-env=vulkan1.1 -O -Isrc"
for src in src/*.comp; do
	name=$(basename "$src" .comp)
	$GLSLC -o "$out/$name.spv" "$src"
	spirv-val --target-env vulkan1.1 "$out/$name.spv"
	for v in $SUBGROUP_VARIANTS; do
		if [ "$v" = "$name" ]; then
			$GLSLC -DSUBGROUP -o "$out/${name}_sg.spv" "$src"
			spirv-val --target-env vulkan1.1 "$out/${name}_sg.spv"
		fi
	done
done
