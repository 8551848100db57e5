#!/bin/bash
# The Vulkan backend's checks and measurements on a lent GPU machine, in one
# device call (see /work/.library/device/README.md). That machine has no Go,
# so the programs are built here:
#
#   tools/gpu/build.sh                  # bin/duo, bin/vk.test and the Vulkan loader packages in .gl/
#   device run: command "bash tools/gpu/measure.sh", carry [".gl", "bin"], timeout_s 540
#
# Everything it prints also goes to $OUT/gpu.log.
set -o pipefail
log=${OUT:-/tmp}/gpu.log
exec > >(tee "$log") 2>&1
if [ -d .gl ]; then
	for f in .gl/*.deb; do dpkg -x "$f" /; done
	ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
nvidia-smi --query-gpu=name,clocks.max.sm,memory.total --format=csv 2>/dev/null
bin/duo version
bin/duo devices
echo "== every Vulkan kernel against the CPU, and DiT training/sampling on the device"
(cd vk && DUO_REQUIRE_VULKAN=1 timeout 150 ../bin/vk.test -test.short 2>&1 | tail -30)
echo "== matmul GFLOP/s (fp32)"
timeout 90 bin/duo bench gemm --threads 16 --time 300ms --vulkan
echo "== the large training step on Vulkan with each matmul tiling forced (DUO_VK_MATMUL; auto is below)"
for tiling in small large; do
	echo "DUO_VK_MATMUL=$tiling"
	DUO_VK_MATMUL=$tiling timeout 40 bin/duo bench train --device vulkan --threads 16 --steps 5 --hidden 768 --blocks 12 --heads 12 --length 1024 --batch 8
done
echo "== where the device time of a large training step goes (timestamp per kernel)"
timeout 40 bin/duo bench train --device vulkan --profile --steps 3 --hidden 768 --blocks 12 --heads 12 --length 1024 --batch 8
echo "== training step tokens/s: Vulkan vs the CPU's 16 cores"
for dev in vulkan cpu; do
	timeout 40 bin/duo bench train --device $dev --threads 16 --steps 10
	timeout 40 bin/duo bench train --device $dev --threads 16 --steps 5 --hidden 768 --blocks 12 --heads 12 --length 1024 --batch 8
done
