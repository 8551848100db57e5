//go:build !mpi

package mpi

import "fmt"

// Built reports whether the binary was built with MPI (-tags mpi).
const Built = false

// impl is empty: a one-rank World never calls it.
type impl struct{}

func (*impl) allreduce32([]float32) error { panic("mpi: one rank") }
func (*impl) allreduce64([]float64) error { panic("mpi: one rank") }
func (*impl) broadcast([]byte) error      { panic("mpi: one rank") }
func (*impl) barrier() error              { panic("mpi: one rank") }
func (*impl) abort(int)                   {}
func (*impl) finalize() error             { return nil }

// Init returns the one-rank world, or an error when a launcher started this
// binary as one of several ranks (it was built without -tags mpi).
func Init() (*World, error) {
	if n, v := launcherSize(); n > 1 {
		return nil, fmt.Errorf("started as one of %d ranks (%s=%d), but this binary was built without MPI: "+
			"build it with `make build-mpi` (go build -tags mpi), or run one process", n, v, n)
	}
	return &World{size: 1, localSize: 1, library: "one rank (built without -tags mpi)"}, nil
}
