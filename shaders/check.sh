#!/bin/sh
# check.sh: fails if the committed SPIR-V in spv/ is stale, that is if
# rebuilding src/ (build.sh into a temporary directory) gives different
# bytes, or if spv/ holds a file no source produces.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
./build.sh "$tmp"
status=0
for f in "$tmp"/*.spv; do
	name=$(basename "$f")
	if ! cmp -s "$f" "spv/$name"; then
		echo "shaders: spv/$name is stale or missing: run 'make -C shaders'" >&2
		status=1
	fi
done
for f in spv/*.spv; do
	name=$(basename "$f")
	if [ ! -e "$tmp/$name" ]; then
		echo "shaders: spv/$name has no source in src/" >&2
		status=1
	fi
done
[ $status -eq 0 ] && echo "shaders: spv/ is up to date ($(ls "$tmp" | wc -l) modules)"
exit $status
