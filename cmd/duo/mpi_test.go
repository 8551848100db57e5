//go:build mpi

package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/internal/mpi"
	"github.com/duo-go/duo/internal/safetensors"
	"github.com/duo-go/duo/vk"
)

// The data-parallel tests run the program as real MPI ranks: mpirun starts
// this test binary as duo (TestMain), np times. They need a binary built
// with -tags mpi and mpirun on PATH (go test -tags mpi ./cmd/duo -run MPI).

// mpirunPath returns mpirun's path, skipping the test without it (or
// failing when DUO_REQUIRE_MPI says it must be there).
func mpirunPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("mpirun")
	if err != nil {
		if os.Getenv("DUO_REQUIRE_MPI") != "" {
			t.Fatal("DUO_REQUIRE_MPI is set and mpirun is not on PATH")
		}
		t.Skip("mpirun not on PATH")
	}
	return p
}

// mpiDuo returns `mpirun -np np duo args...`. An app context may be added
// with colon (MPMD: other arguments for the next ranks).
func mpiDuo(t *testing.T, np int, args ...string) *exec.Cmd {
	t.Helper()
	full := append(mpi.MpirunFlags(), "-x", "DUO_TEST_AS_MAIN", "-np", strconv.Itoa(np))
	for _, v := range []string{"VK_ICD_FILENAMES", "LP_NUM_THREADS"} { // lavapipe's, when set
		if os.Getenv(v) != "" {
			full = append(full, "-x", v)
		}
	}
	full = append(full, os.Args[0])
	full = append(full, args...)
	cmd := exec.Command(mpirunPath(t), full...)
	cmd.Env = append(os.Environ(), "DUO_TEST_AS_MAIN=1")
	return cmd
}

// mustRun runs cmd and returns its stdout, failing with its output.
func mustRun(t *testing.T, cmd *exec.Cmd) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v\n%s%s", cmd.Args, err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

// maxWeightDiff returns the largest difference between the tensors of the
// weight files of two checkpoint directories.
func maxWeightDiff(t *testing.T, a, b string) float64 {
	t.Helper()
	var d float64
	for _, f := range weightFiles {
		x, err1 := safetensors.Open(filepath.Join(a, f))
		y, err2 := safetensors.Open(filepath.Join(b, f))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", f, err1, err2)
		}
		for _, tx := range x.Tensors {
			ty, ok := y.Get(tx.Name)
			if !ok {
				t.Fatalf("%s: %s has no %s", f, b, tx.Name)
			}
			u, _ := tx.Float32s()
			v, _ := ty.Float32s()
			for i := range u {
				d = max(d, math.Abs(float64(u[i]-v[i])))
			}
		}
		x.Close()
		y.Close()
	}
	return d
}

// lastCheckpoint returns the newest complete checkpoint of run directory out.
func lastCheckpoint(t *testing.T, out string) string {
	t.Helper()
	ck, err := duo.OpenCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	return ck.Dir
}

// Two ranks, one micro-batch each, give the weights, EMA and AdamW moments
// of one process running both (--grad-accum 2) bit for bit; four ranks
// agree within 1e-6; a run resumed with another number of ranks ends where
// the uninterrupted run does.
func TestMPITrain(t *testing.T) {
	mpirunPath(t)
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)
	run := func(np, steps int, out string, extra ...string) {
		t.Helper()
		args := tinyTrain(corpus, filepath.Join(dir, out), steps, extra...)
		if np == 0 {
			mustRun(t, duoCmd(args...))
			return
		}
		mustRun(t, mpiDuo(t, np, args...))
	}
	accum2 := []string{"--batch", "4", "--grad-accum", "2", "--checkpoint-every", "3"}
	run(0, 6, "one", accum2...)
	run(2, 6, "two", accum2...)
	sameWeights(t, lastCheckpoint(t, filepath.Join(dir, "one")), lastCheckpoint(t, filepath.Join(dir, "two")))

	accum4 := []string{"--batch", "8", "--grad-accum", "4"}
	run(0, 6, "one4", accum4...)
	run(4, 6, "four", accum4...)
	if d := maxWeightDiff(t, lastCheckpoint(t, filepath.Join(dir, "one4")), lastCheckpoint(t, filepath.Join(dir, "four"))); d > 1e-6 {
		t.Errorf("4 ranks: weights differ from one process by %g", d)
	} else {
		t.Logf("4 ranks: largest difference from one process %g", d)
	}

	// 2 ranks for 3 steps, then 1; and 1, then 2.
	run(2, 3, "2then1", accum2...)
	run(0, 6, "2then1", append([]string{"--resume"}, accum2...)...)
	run(0, 3, "1then2", accum2...)
	run(2, 6, "1then2", append([]string{"--resume"}, accum2...)...)
	for _, r := range []string{"2then1", "1then2"} {
		if d := maxWeightDiff(t, lastCheckpoint(t, filepath.Join(dir, "one")), lastCheckpoint(t, filepath.Join(dir, r))); d > 1e-6 {
			t.Errorf("%s: weights differ from the uninterrupted run by %g", r, d)
		}
	}
	// Distillation (DCD) from the 2-rank run: 2 ranks equal 1 process.
	for _, c := range []struct {
		np  int
		out string
	}{{0, "dcd1"}, {2, "dcd2"}} {
		args := []string{"distill", "--teacher", filepath.Join(dir, "two"), "--data", corpus, "--out", filepath.Join(dir, c.out),
			"--rounds", "2", "--steps-per-round", "2", "--batch", "4", "--grad-accum", "2", "--eval-batches", "1", "--threads", "1", "--device", "cpu"}
		if c.np == 0 {
			mustRun(t, duoCmd(args...))
		} else {
			mustRun(t, mpiDuo(t, c.np, args...))
		}
	}
	sameWeights(t, lastCheckpoint(t, filepath.Join(dir, "dcd1")), lastCheckpoint(t, filepath.Join(dir, "dcd2")))

	// The progress line and the log name the ranks.
	log, err := os.ReadFile(filepath.Join(dir, "two", "run.json"))
	if err != nil || !strings.Contains(string(log), `"ranks": 2`) {
		t.Errorf("run.json of the 2-rank run does not record the ranks: %v\n%.400s", err, log)
	}
}

// eval, sample and genppl on two ranks print what one process prints.
func TestMPIEvalSample(t *testing.T) {
	mpirunPath(t)
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)
	out := filepath.Join(dir, "run")
	mustRun(t, duoCmd(tinyTrain(corpus, out, 4)...))
	judge := filepath.Join(dir, "judge")
	mustRun(t, duoCmd(tinyTrain(corpus, judge, 4, "--objective", "ar")...))
	for _, args := range [][]string{
		{"eval", "--checkpoint", out, "--data", corpus, "--batch", "2", "--batches", "5", "--mc", "3", "--json", "--device", "cpu"},
		{"sample", "--checkpoint", out, "--n", "5", "--steps", "4", "--judge", judge, "--device", "cpu"},
		{"sample", "--checkpoint", out, "--n", "5", "--steps", "4", "--json", "--device", "cpu"},
		{"sample", "--checkpoint", out, "--n", "3", "--steps", "4", "--prompt", "It", "--device", "cpu"},
	} {
		want := mustRun(t, duoCmd(args...))
		got := mustRun(t, mpiDuo(t, 2, args...))
		if !bytes.Equal(got, want) || len(want) == 0 {
			t.Errorf("duo %s on 2 ranks:\n%s\none process:\n%s", args[0], got, want)
		}
	}
}

// A rank that fails ends the job at once with a non-zero status and a
// message naming it; a rank killed mid-run ends it too, and the run
// resumes from its newest complete checkpoint.
func TestMPIFaults(t *testing.T) {
	mpirunPath(t)
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)

	// MPMD: rank 1 is given a corpus that does not exist.
	args := tinyTrain(corpus, filepath.Join(dir, "bad"), 100, "--batch", "4", "--grad-accum", "2")
	bad := append(append([]string{}, args...), ":", "-np", "1", os.Args[0])
	bad = append(bad, tinyTrain(filepath.Join(dir, "missing.txt"), filepath.Join(dir, "bad"), 100, "--batch", "4", "--grad-accum", "2")...)
	cmd := mpiDuo(t, 1, bad...)
	start := time.Now()
	outb, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(outb), "rank 1 of 2: ") || !strings.Contains(string(outb), "missing.txt") {
		t.Errorf("a failing rank 1: %v\n%s", err, outb)
	}
	t.Logf("a failing rank ended the job in %v", time.Since(start).Round(time.Millisecond))

	// Rank 1 is SIGKILLed once the run has checkpointed.
	out := filepath.Join(dir, "killed")
	args = tinyTrain(corpus, out, 1000000, "--batch", "4", "--grad-accum", "2", "--checkpoint-every", "5")
	tag := fmt.Sprintf("DUO_TEST_VICTIM=%d", time.Now().UnixNano())
	victim := append(append([]string{}, args...), ":", "-np", "1", "-x", tag, os.Args[0])
	cmd = mpiDuo(t, 1, append(victim, args...)...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !duo.HasRun(out) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no checkpoint after 60 s:\n%s", buf.Bytes())
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid := findProcess(t, tag)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	done := make(chan error)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("the job exited 0 after rank 1 was killed:\n%s", buf.Bytes())
		}
		t.Logf("rank 1 killed: the job ended in %v: %v\n%s", time.Since(start).Round(time.Millisecond), err, lastLines(buf.String(), 6))
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the job still runs 30 s after rank 1 was killed:\n%s", buf.Bytes())
	}
	if !strings.Contains(buf.String(), "rank 1") {
		t.Errorf("mpirun's message does not name rank 1:\n%s", buf.Bytes())
	}
	ck := lastCheckpoint(t, out)
	resumed := tinyTrain(corpus, out, 0, "--batch", "4", "--grad-accum", "2", "--resume")
	step, _ := strconv.Atoi(strings.TrimPrefix(filepath.Base(ck), "step-"))
	resumed[slicesIndex(resumed, "--steps")+1] = strconv.Itoa(step + 2)
	mustRun(t, duoCmd(resumed...))
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// findProcess returns the pid of the process whose environment holds tag.
func findProcess(t *testing.T, tag string) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(env, append([]byte(tag), 0)) && bytes.Contains(env, []byte("DUO_TEST_AS_MAIN=1")) {
			return pid
		}
	}
	t.Fatalf("no process with %s", tag)
	return 0
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Each rank on its own Vulkan device (here lavapipe, twice), gradients
// staged through the host: the weights of one process on the device.
func TestMPIVulkan(t *testing.T) {
	mpirunPath(t)
	if _, err := vk.DefaultDevice(); err != nil {
		if os.Getenv("DUO_REQUIRE_VULKAN") != "" {
			t.Fatalf("DUO_REQUIRE_VULKAN is set: %v", err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)
	args := func(out string) []string {
		a := tinyTrain(corpus, filepath.Join(dir, out), 3, "--batch", "4", "--grad-accum", "2")
		a[slicesIndex(a, "--device")+1] = "vulkan"
		return a
	}
	mustRun(t, duoCmd(args("one")...))
	mustRun(t, mpiDuo(t, 2, args("two")...))
	sameWeights(t, lastCheckpoint(t, filepath.Join(dir, "one")), lastCheckpoint(t, filepath.Join(dir, "two")))
}
