#!/bin/bash
# Training-step tokens/s of duo-go against PyTorch, side by side: the two
# alternate, RUNS times per thread count, and each pair's ratio is printed,
# so both see the same machine state (this machine's speed drifts by 20-30%).
#
#   tools/bench/compare_train.sh [RUNS] [THREADS...]     # default: 4 runs, 1 and 2 threads
#
# Needs Debian's python3-torch (/usr/bin/python3) and Go; builds bin/duo.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-4}
shift || true
threads=("${@:-1 2}")
go build -o bin/duo ./cmd/duo
# A fair anchor: on a CPU with AVX-512, PyTorch's OpenBLAS runs its AVX-512
# kernel (Debian's OpenBLAS 0.3.21 does not recognise recent CPUs and falls
# back to an older kernel, and some environments pin one).
if grep -qw avx512f /proc/cpuinfo; then
	export OPENBLAS_CORETYPE=SkylakeX
	unset OPENBLAS_L2_SIZE
fi
echo "duo-go: $(bin/duo version)"
echo "PyTorch: $(/usr/bin/python3 tools/bench/train_torch.py --core)"
for t in ${threads[@]}; do
	echo "== $t thread(s): bin/duo bench train --threads $t --steps 20 vs tools/bench/train_torch.py --threads $t --steps 20"
	ratios=()
	for ((i = 1; i <= runs; i++)); do
		out=$(bin/duo bench train --threads "$t" --steps 20 2>/dev/null)
		d=$(sed -n 's/.*: \([0-9]*\) tokens\/s/\1/p' <<<"$out")
		p=$(/usr/bin/python3 tools/bench/train_torch.py --threads "$t" --steps 20 | sed -n 's/.*, \([0-9]*\) tokens\/s/\1/p')
		r=$(awk -v d="$d" -v p="$p" 'BEGIN { printf "%.2f", d / p }')
		ratios+=("$r")
		echo "run $i: duo-go $d tokens/s, PyTorch $p tokens/s, ratio $r"
		# Both run the same matrix products (MFLOP a token, counted by the
		# engine): PyTorch's rate of them, and the ratio a step that did
		# nothing but FMAs at the measured peak would reach against it.
		mf=$(sed -n 's/.*products: \([0-9.]*\) MFLOP a token.*/\1/p' <<<"$out")
		pk=$(sed -n 's/.*(\([0-9.]*\) GFLOP\/s a core.*/\1/p' <<<"$out")
		if [[ -n "$mf" && -n "$pk" ]]; then
			awk -v d="$d" -v p="$p" -v mf="$mf" -v pk="$pk" -v t="$t" 'BEGIN {
				printf "       matrix products %.2f MFLOP a token: duo-go %.1f GFLOP/s (%.2f of peak), PyTorch %.1f (%.2f); all-peak ceiling %.2fx PyTorch\n",
					mf, d * mf / 1e3, d * mf / 1e3 / (t * pk), p * mf / 1e3, p * mf / 1e3 / (t * pk), t * pk / (p * mf / 1e3) }'
		fi
	done
	printf '%s\n' "${ratios[@]}" | sort -n | awk -v t="$t" '{ r[NR] = $1 } END { printf "%s thread(s): ratio per pair %s-%s, median %s\n", t, r[1], r[NR], (NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2) }'
done
