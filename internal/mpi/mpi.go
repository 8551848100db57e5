// Package mpi runs a program as one of several cooperating processes
// (ranks) through MPI, the collective library every cluster runs (mpirun,
// Slurm's srun): the few collectives data-parallel training needs, with
// every return code turned into an error.
//
// Built with -tags mpi (Open MPI, through pkg-config's ompi-c; add -tags
// mpich for MPICH), Init joins the MPI job. Built without it, the package is
// a one-rank implementation with the same API and no cgo, and Init refuses
// to start when a launcher says the job has more than one rank: N copies of
// a program that each think they are alone would overwrite each other's
// files.
//
// All MPI calls of the process are made from one goroutine locked to its
// OS thread (the thread that initialised MPI), so callers may use a World
// from any goroutine; calls are serialised. Counts above MPI's int range
// are split.
package mpi

import (
	"fmt"
	"os"
	"strconv"
)

// World is the job's set of processes (MPI_COMM_WORLD).
type World struct {
	rank, size           int
	localRank, localSize int // among the ranks on this machine
	library              string
	impl                 *impl // nil with one rank
}

// Rank returns this process's rank, in [0, Size()).
func (w *World) Rank() int { return w.rank }

// Size returns the number of processes in the job.
func (w *World) Size() int { return w.size }

// LocalRank returns this process's rank among those on its machine: the
// index of the GPU it should use.
func (w *World) LocalRank() int { return w.localRank }

// LocalSize returns the number of the job's processes on this machine.
func (w *World) LocalSize() int { return w.localSize }

// Library names the MPI library ("one rank (built without -tags mpi)" in
// the default build).
func (w *World) Library() string { return w.library }

// maxCount is the most elements one MPI call is given (its counts are C
// ints); longer buffers are processed in pieces.
var maxCount = 1 << 30 // a variable so that tests can exercise the split

// AllreduceSum replaces x on every rank by the elementwise sum of all
// ranks' x (MPI_Allreduce). x must have the same length on every rank.
// MPI recommends, and Open MPI's and MPICH's algorithms deliver, the same
// bits on every rank (each partial sum is formed once and passed on, or
// formed as a+b and b+a, which are equal); callers that keep replicas
// should still check that they agree now and then.
func (w *World) AllreduceSum(x []float32) error {
	if w.size == 1 {
		return nil
	}
	return chunked(x, w.impl.allreduce32)
}

// AllreduceSum64 is AllreduceSum for float64 values (metrics, losses,
// gathered results), summed on rank 0 and then broadcast, so every rank
// gets the same bits. Adding the zeros of the ranks that do not own an
// element is exact, which makes this a gather as well.
func (w *World) AllreduceSum64(x []float64) error {
	if w.size == 1 {
		return nil
	}
	return chunked(x, w.impl.allreduce64)
}

// Broadcast copies rank 0's b into b on every other rank; b must have the
// same length everywhere.
func (w *World) Broadcast(b []byte) error {
	if w.size == 1 {
		return nil
	}
	return chunked(b, w.impl.broadcast)
}

// chunked calls fn on consecutive pieces of x of at most maxCount elements.
func chunked[T any](x []T, fn func([]T) error) error {
	for len(x) > 0 {
		n := min(len(x), maxCount)
		if err := fn(x[:n]); err != nil {
			return err
		}
		x = x[n:]
	}
	return nil
}

// Barrier returns when every rank has called it.
func (w *World) Barrier() error {
	if w.size == 1 {
		return nil
	}
	return w.impl.barrier()
}

// Abort ends every process of the job with the exit status code (MPI_Abort);
// it does not return. With one rank it is os.Exit.
func (w *World) Abort(code int) {
	if w.size > 1 {
		w.impl.abort(code)
	}
	os.Exit(code)
}

// Close leaves the job (MPI_Finalize); the World must not be used after.
func (w *World) Close() error {
	if w.impl == nil {
		return nil
	}
	return w.impl.finalize()
}

// launcherSize returns the number of ranks a launcher started, from the
// variables that mpirun (Open MPI), Hydra (MPICH's mpiexec, PMI) and srun
// set in each process, and which variable said it; 1 when none is set.
// SLURM_NTASKS is also set in a batch script that runs one process, so the
// per-step SLURM_STEP_NUM_TASKS is read instead.
func launcherSize() (int, string) {
	for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS"} {
		if n, err := strconv.Atoi(os.Getenv(v)); err == nil && n > 1 {
			return n, v
		}
	}
	return 1, ""
}

// String describes the world: "rank 1 of 4 (Open MPI v4.1.4)".
func (w *World) String() string {
	return fmt.Sprintf("rank %d of %d (%s)", w.rank, w.size, w.library)
}

// MpirunFlags are the flags this project's tests and examples give Open
// MPI's mpirun on a single machine: run as root (containers), more ranks
// than cores, and no cross-memory attach (which containers often block).
func MpirunFlags() []string {
	return []string{"--allow-run-as-root", "--oversubscribe", "--mca", "btl_vader_single_copy_mechanism", "none"}
}
