//go:build !mpi

package mpi

import (
	"strings"
	"testing"
)

func TestOneRank(t *testing.T) {
	for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS"} {
		t.Setenv(v, "")
	}
	w, err := Init()
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{1, 2, 3}
	y := []float64{4}
	if err := w.AllreduceSum(x); err != nil || x[2] != 3 {
		t.Fatalf("AllreduceSum on one rank: %v %v", x, err)
	}
	if err := w.AllreduceSum64(y); err != nil || y[0] != 4 {
		t.Fatalf("AllreduceSum64 on one rank: %v %v", y, err)
	}
	if w.Rank() != 0 || w.Size() != 1 || w.LocalSize() != 1 || w.Barrier() != nil || w.Broadcast([]byte{1}) != nil || w.Close() != nil {
		t.Fatalf("one-rank world: %v", w)
	}
}

// TestRefusesLauncher: a binary without MPI started as one of several
// ranks must refuse, naming the variable that told it.
func TestRefusesLauncher(t *testing.T) {
	for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS"} {
		t.Run(v, func(t *testing.T) {
			for _, u := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS"} {
				t.Setenv(u, "")
			}
			t.Setenv(v, "1")
			if _, err := Init(); err != nil {
				t.Fatalf("%s=1: %v", v, err)
			}
			t.Setenv(v, "3")
			_, err := Init()
			if err == nil || !strings.Contains(err.Error(), v+"=3") || !strings.Contains(err.Error(), "-tags mpi") {
				t.Fatalf("%s=3: got %v, want a refusal naming it", v, err)
			}
		})
	}
}
