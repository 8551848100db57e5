package main

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/internal/mpi"
	"github.com/duo-go/duo/internal/parallel"
)

// Running as one of several processes (docs/distributed.md): a binary built
// with -tags mpi and started by mpirun or srun joins the MPI job, and the
// commands below share their work among its ranks. Rank 0 prints and
// writes; the other ranks' output is discarded, except their errors.

// world is the MPI job of this process (one rank in the default build).
var world *mpi.World

// rankedCommands run as several ranks.
var rankedCommands = map[string]bool{"train": true, "distill": true, "eval": true, "sample": true, "genppl": true, "bench": true}

// joinWorld joins the job for command cmd; a command that runs as one
// process refuses to run as several. With several ranks on a machine and no
// DUO_THREADS, each rank takes its share of the cores.
func joinWorld(cmd string) error {
	w, err := mpi.Init()
	if err != nil {
		return err
	}
	world = w
	if w.Size() == 1 {
		return nil
	}
	if !rankedCommands[cmd] {
		return fmt.Errorf("duo %s runs as one process, and this one was started as %v", cmd, w)
	}
	if os.Getenv("DUO_THREADS") == "" {
		parallel.SetThreads(max(1, runtime.NumCPU()/w.LocalSize()))
	}
	return nil
}

// group returns the job as a duo.Group, or nil when this process is alone.
func group() duo.Group {
	if world == nil || world.Size() == 1 {
		return nil
	}
	return world
}

// rank0 reports whether this process prints and writes (rank 0, or alone).
func rank0() bool { return world == nil || world.Rank() == 0 }

// rankOutput returns the writers a command gets: its own on rank 0,
// io.Discard on the others.
func rankOutput(stdout, stderr io.Writer) (io.Writer, io.Writer) {
	if rank0() {
		return stdout, stderr
	}
	return io.Discard, io.Discard
}

// rankPrefix names this rank in error messages when there are several.
func rankPrefix() string {
	if world == nil || world.Size() == 1 {
		return ""
	}
	return fmt.Sprintf("rank %d of %d: ", world.Rank(), world.Size())
}
