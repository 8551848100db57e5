//go:build mpi

package mpi

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCollectives runs TestWorker under mpirun at 2 and 4 ranks.
func TestCollectives(t *testing.T) {
	if os.Getenv("DUO_MPI_WORKER") != "" {
		t.Skip("inside mpirun")
	}
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		if os.Getenv("DUO_REQUIRE_MPI") != "" {
			t.Fatal("DUO_REQUIRE_MPI is set and mpirun is not on PATH")
		}
		t.Skip("mpirun not on PATH")
	}
	for _, np := range []int{2, 4} {
		t.Run(fmt.Sprint(np), func(t *testing.T) {
			cmd := exec.Command(mpirun, append(MpirunFlags(), "-np", fmt.Sprint(np), os.Args[0], "-test.run", "^TestWorker$", "-test.v")...)
			cmd.Env = append(os.Environ(), "DUO_MPI_WORKER=1")
			out, err := cmd.CombinedOutput()
			if err != nil || bytes.Count(out, []byte("--- PASS: TestWorker")) != np {
				t.Fatalf("mpirun -np %d: %v\n%s", np, err, out)
			}
		})
	}
}

// TestWorker is one rank of TestCollectives.
func TestWorker(t *testing.T) {
	if os.Getenv("DUO_MPI_WORKER") == "" {
		t.Skip("run by TestCollectives under mpirun")
	}
	w, err := Init()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, n := w.Rank(), w.Size()
	if n < 2 || r < 0 || r >= n || w.LocalSize() != n || w.LocalRank() != r || !strings.Contains(w.Library(), "MPI") {
		t.Fatalf("world %v, local %d of %d", w, w.LocalRank(), w.LocalSize())
	}
	old := maxCount
	defer func() { maxCount = old }()
	for _, mc := range []int{1 << 30, 7} { // 7: every call split, odd tails
		maxCount = mc
		for _, size := range []int{1, n - 1, n, 3*n + 1, 1000} {
			x := make([]float32, size)
			y := make([]float64, size)
			for i := range x {
				x[i] = float32(i*(r+1) + r)
				y[i] = float64(i) + 0.5*float64(r)
			}
			if err := w.AllreduceSum(x); err != nil {
				t.Fatal(err)
			}
			if err := w.AllreduceSum64(y); err != nil {
				t.Fatal(err)
			}
			for i := range x {
				// sum over ranks q of i*(q+1)+q = i*n(n+1)/2 + n(n-1)/2
				want := float32(i*n*(n+1)/2 + n*(n-1)/2)
				if x[i] != want {
					t.Fatalf("maxCount %d, size %d: AllreduceSum[%d] = %v, want %v", mc, size, i, x[i], want)
				}
				if w64 := float64(n*i) + 0.25*float64(n*(n-1)); y[i] != w64 {
					t.Fatalf("maxCount %d, size %d: AllreduceSum64[%d] = %v, want %v", mc, size, i, y[i], w64)
				}
			}
		}
		b := bytes.Repeat([]byte{byte(r)}, 20)
		if r == 0 {
			copy(b, "rank zero's message!")
		}
		if err := w.Broadcast(b); err != nil || string(b) != "rank zero's message!" {
			t.Fatalf("Broadcast: %q %v", b, err)
		}
	}
	if err := w.Barrier(); err != nil {
		t.Fatal(err)
	}
}
