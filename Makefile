# duo-go: build, test, benchmark and lint.
GO ?= go

.PHONY: all build build-mpi test test-fallback test-mpi bench lint shaders demo clean reproduce

all: build test

build:
	$(GO) build -o bin/duo ./cmd/duo

# With MPI (Open MPI; MPITAGS="mpi mpich" for MPICH): the same program, which
# also runs as several ranks under mpirun or srun (docs/distributed.md).
MPITAGS ?= mpi
build-mpi:
	$(GO) build -tags "$(MPITAGS)" -o bin/duo ./cmd/duo

test:
	$(GO) test ./...

# The MPI tests: real mpirun ranks (needs mpirun on PATH).
test-mpi:
	DUO_REQUIRE_MPI=1 $(GO) test -tags "$(MPITAGS)" ./internal/mpi
	DUO_REQUIRE_MPI=1 $(GO) test -tags "$(MPITAGS)" ./cmd/duo -run MPI

# The portable kernels, as on a CPU without AVX2/FMA.
test-fallback:
	GODEBUG=cpu.avx2=off,cpu.fma=off $(GO) test ./internal/gemm ./tensor ./nn
	$(GO) test -tags purego ./internal/gemm ./tensor

bench:
	$(GO) test -run xxx -bench . -benchtime 3x ./internal/gemm ./nn

lint:
	@test -z "$$(gofmt -l .)" || (echo "gofmt would change:"; gofmt -l .; exit 1)
	$(GO) vet ./...

demo: build
	./bin/duo demo

clean:
	rm -rf bin

# The small-scale reproduction (docs/results.md); DATA=FILE OUT=DIR for your corpus.
reproduce: build
	bash tools/reproduce.sh
