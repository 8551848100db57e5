#!/bin/bash
# Sampling at the released checkpoints' 170M shape: seconds per network call of
# duo-go (a whole sampling step: network, softmax, posterior and draw) against
# the authors' DiT forward alone in PyTorch, alternating, RUNS pairs, with each
# pair's ratio. Both load the same weights: MODEL (default runs/bench/owt-170m,
# written once by `duo bench sample --model owt-170m --write`, 680 MB), or any
# model directory of this project's layout.
#
#   tools/bench/compare_sample.sh [RUNS] [BATCH] [THREADS]     # default: 3 runs, batch 1, 2 threads
#   MODEL=DIR tools/bench/compare_sample.sh ...
#
# Needs Debian's python3-torch (/usr/bin/python3) and Go; builds bin/duo.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
batch=${2:-1}
threads=${3:-2}
model=${MODEL:-runs/bench/owt-170m}
go build -o bin/duo ./cmd/duo
if [ ! -f "$model/model.safetensors" ]; then
	bin/duo bench sample --model owt-170m --write "$model" --batch 1 --steps 1 >/dev/null 2>&1
fi
# PyTorch's OpenBLAS on its AVX-512 kernel on CPUs that have AVX-512 (see compare_train.sh).
if grep -qw avx512f /proc/cpuinfo; then
	export OPENBLAS_CORETYPE=SkylakeX
	unset OPENBLAS_L2_SIZE
fi
echo "model: $model"
echo "duo-go: $(bin/duo version)"
echo "PyTorch: $(/usr/bin/python3 tools/bench/train_torch.py --core)"
ratios=()
for ((i = 1; i <= runs; i++)); do
	d=$(bin/duo bench sample --checkpoint "$model" --batch "$batch" --steps 2 --threads "$threads" 2>/dev/null | sed -n 's/.*, \([0-9.]*\) s per network call.*/\1/p')
	p=$(/usr/bin/python3 tools/bench/sample_torch.py --checkpoint "$model" --threads "$threads" --batch "$batch" --calls 3 | sed -n 's/.*: \([0-9.]*\) s per network call/\1/p')
	r=$(awk -v d="$d" -v p="$p" 'BEGIN { printf "%.2f", p / d }')
	ratios+=("$r")
	echo "run $i: duo-go $d s per call, PyTorch forward $p s per call, PyTorch/duo-go $r"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ r[NR] = $1 } END { printf "ratio per pair %s-%s, median %s\n", r[1], r[NR], (NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2) }'
