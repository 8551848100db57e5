#!/bin/bash
# Builds what tools/gpu/measure.sh runs on the GPU machine (x86-64 Linux),
# and downloads the Vulkan loader packages into .gl/ (ignored by git), as the
# device README says.
set -e
cd "$(dirname "$0")/../.."
go build -o bin/duo ./cmd/duo
go test -c -o bin/vk.test ./vk
if [ ! -d .gl ]; then
	grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >>.git/info/exclude
	mkdir -p .gl /tmp/amd64/partial
	o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
	apt-get $o update
	(cd .gl && apt-get $o download libvulkan1)
fi
ls -l bin .gl
