package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/internal/checkpoint"
	"github.com/duo-go/duo/internal/data"
	"github.com/duo-go/duo/internal/safetensors"
	"github.com/duo-go/duo/tokenizer"
)

// The reliability tests run the real program: the test binary re-executes
// itself as duo (TestMain below), so SIGKILL and SIGINT reach a process
// whose main is the command's.

func TestMain(m *testing.M) {
	if os.Getenv("DUO_TEST_AS_MAIN") == "1" {
		os.Exit(runMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// duoCmd returns the program as a subprocess with args.
func duoCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DUO_TEST_AS_MAIN=1")
	return cmd
}

// writeCorpus writes a small text corpus and returns its path.
func writeCorpus(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "corpus.txt")
	text := strings.Repeat("It was the best of times, it was the worst of times, it was the age of wisdom. ", 60)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tinyTrain is a run small enough to take a millisecond a step. Its
// schedules do not depend on --steps, so runs of different lengths follow
// one trajectory.
func tinyTrain(corpus, out string, steps int, extra ...string) []string {
	args := []string{"train", "--data", corpus, "--out", out, "--model", "micro", "--hidden", "16", "--blocks", "1",
		"--heads", "2", "--cond", "8", "--length", "8", "--batch", "2", "--steps", strconv.Itoa(steps),
		"--warmup", "10", "--curriculum-steps", "50", "--eval-every", "25", "--eval-batches", "1", "--threads", "1", "--device", "cpu"}
	return append(args, extra...)
}

// weightFiles are the files of a checkpoint that hold tensors: raw and EMA
// weights and the AdamW moments (state.json also holds timings).
var weightFiles = []string{"raw.safetensors", "model.safetensors", "optimizer.safetensors"}

// sameWeights fails the test unless checkpoints a and b hold identical
// tensors, bit for bit.
func sameWeights(t *testing.T, a, b string) {
	t.Helper()
	for _, f := range weightFiles {
		x, err1 := os.ReadFile(filepath.Join(a, f))
		y, err2 := os.ReadFile(filepath.Join(b, f))
		if err1 != nil || err2 != nil {
			t.Fatalf("reading %s: %v %v", f, err1, err2)
		}
		if !bytes.Equal(x, y) {
			t.Fatalf("%s differs between %s and %s", f, a, b)
		}
	}
}

// SIGKILL at random moments of a run that checkpoints every step: after
// every kill the newest complete checkpoint resumes, and it holds, bit for
// bit, the weights, EMA and AdamW moments of an uninterrupted run at its
// step (replayed in this process from the run's own configuration and
// corpus); so do the final weights.
func TestKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns dozens of processes")
	}
	const steps, kills = 1000000, 36 // the run is killed long before its end
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)
	out := filepath.Join(dir, "run")
	type point struct {
		step int
		dir  string
	}
	var points []point // the resume points, checked against the reference at the end
	rng := rand.New(rand.NewPCG(2026, 12))
	var resumes, midSave, fresh int
	var delays []time.Duration
	last := -1
	for k := 0; k < kills; k++ {
		args := tinyTrain(corpus, out, steps, "--checkpoint-every", "1")
		ck, err := duo.OpenCheckpoint(out)
		switch {
		case err == nil:
			args = append(args, "--resume")
			resumes++
			if ck.Step < last {
				t.Fatalf("kill %d: the newest checkpoint went back from step %d to %d", k, last, ck.Step)
			}
			last = ck.Step
			keep := filepath.Join(dir, "points", checkpoint.Name(ck.Step))
			if err := os.CopyFS(keep, os.DirFS(ck.Dir)); err == nil {
				points = append(points, point{ck.Step, keep})
			}
		case strings.Contains(err.Error(), "no training checkpoint"):
			fresh++
		default:
			t.Fatalf("kill %d: the run cannot resume: %v", k, err)
		}
		cmd := duoCmd(args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		d := time.Duration(40+rng.IntN(210)) * time.Millisecond
		delays = append(delays, d)
		time.Sleep(d)
		cmd.Process.Signal(syscall.SIGKILL)
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("kill %d: exited with %v, not by SIGKILL\n%s", k, err, stderr.String())
		}
		ents, _ := os.ReadDir(filepath.Join(out, "train"))
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".tmp-step-") {
				midSave++ // this kill landed inside a save
				break
			}
		}
	}
	// Ten steps past the newest checkpoint (the last life may have gone on
	// after the last resume point was recorded).
	newest, err := duo.OpenCheckpoint(out)
	if err != nil {
		t.Fatalf("after the last kill: %v", err)
	}
	end := newest.Step + 10
	runOK(t, tinyTrain(corpus, out, end, "--checkpoint-every", "1", "--resume")...)
	final, err := duo.OpenCheckpoint(out)
	if err != nil || final.Step != end {
		t.Fatalf("final checkpoint: %v, %v", final, err)
	}
	points = append(points, point{end, final.Dir})
	// The uninterrupted run, replayed here from the run's configuration.
	c, err := data.Load(corpus, tokenizer.Bytes{}, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := duo.NewTrainer(final.Config, c.Train, c.Val)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range points {
		for ref.Step < p.step {
			if _, err := ref.TrainStep(); err != nil {
				t.Fatal(err)
			}
		}
		sameTensors(t, p.dir, p.step, ref)
	}
	t.Logf("%d SIGKILLs (seeded delays %v..%v after start): %d landed inside a save, %d resumes (last from step %d), %d fresh starts (killed before the first checkpoint); every resume point and the final state equal the uninterrupted run's",
		kills, slicesMin(delays), slicesMax(delays), midSave, resumes, last, fresh)
	if resumes < kills/2 {
		t.Errorf("only %d of %d kills left a checkpoint to resume", resumes, kills)
	}
}

// sameTensors fails unless the checkpoint in dir holds ref's raw weights,
// EMA and AdamW moments bit for bit.
func sameTensors(t *testing.T, dir string, step int, ref *duo.Trainer) {
	t.Helper()
	files := []struct {
		name  string
		value func(i int) []float32
	}{
		{"raw.safetensors", func(i int) []float32 { return ref.Params[i].Value.Data() }},
		{"model.safetensors", func(i int) []float32 { return ref.EMA.Shadow[i].Data() }},
	}
	for _, f := range files {
		st, err := safetensors.Open(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range ref.Params {
			tn, ok := st.Get(p.Name)
			if !ok {
				t.Fatalf("%s: no %s", f.name, p.Name)
			}
			got, _ := tn.Float32s()
			if !slices.Equal(got, f.value(i)) {
				t.Fatalf("step %d: %s of %s differs from the uninterrupted run", step, p.Name, f.name)
			}
		}
		st.Close()
	}
	st, err := safetensors.Open(filepath.Join(dir, "optimizer.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, p := range ref.Params {
		for _, mv := range []struct {
			name string
			want []float32
		}{{"m." + p.Name, ref.Opt.M[i].Data()}, {"v." + p.Name, ref.Opt.V[i].Data()}} {
			tn, ok := st.Get(mv.name)
			if !ok {
				t.Fatalf("optimizer.safetensors: no %s", mv.name)
			}
			if got, _ := tn.Float32s(); !slices.Equal(got, mv.want) {
				t.Fatalf("step %d: %s differs from the uninterrupted run", step, mv.name)
			}
		}
	}
}

func slicesMin(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = min(m, x)
	}
	return m
}

func slicesMax(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = max(m, x)
	}
	return m
}

// startUntil starts the program and returns once its standard error has
// printed a line containing marker, with the rest of stderr collected in
// the returned buffer after Wait.
func startUntil(t *testing.T, marker string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := duoCmd(args...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	seen := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := bufio.NewReader(pipe)
		once := false
		for {
			line, err := r.ReadString('\n')
			buf.WriteString(line)
			if !once && strings.Contains(line, marker) {
				once = true
				close(seen)
			}
			if err != nil {
				if !once {
					close(seen)
				}
				return
			}
		}
	}()
	select {
	case <-seen:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("duo %v never printed %q", args, marker)
	}
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	return cmd, &buf
}

// SIGINT finishes the step, saves, says how to resume and exits 130; the
// resumed run ends bit-identical to an uninterrupted one. A second signal
// exits at once and leaves a resumable run.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const steps = 1000000 // stopped long before its end
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)
	out := filepath.Join(dir, "run")
	// The status line of the first validation (step 25): training is under way.
	cmd, stderr := startUntil(t, "step 25/", tinyTrain(corpus, out, steps, "--checkpoint-every", "1000")...)
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit status %d after SIGINT, want 130\n%s", code, stderr)
	}
	msg := stderr.String()
	if !strings.Contains(msg, "stopping after this step") || !strings.Contains(msg, "resume with: duo train --resume --out "+out) {
		t.Fatalf("no stop message:\n%s", msg)
	}
	ck, err := duo.OpenCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, fmt.Sprintf("stopped at step %d of %d", ck.Step, steps)) || ck.Step == 0 || ck.Step == steps {
		t.Fatalf("checkpoint at step %d; stderr:\n%s", ck.Step, msg)
	}
	end := ck.Step + 20
	runOK(t, tinyTrain(corpus, out, end, "--checkpoint-every", "1000", "--resume")...)
	ref := filepath.Join(dir, "ref")
	runOK(t, tinyTrain(corpus, ref, end)...)
	final, _ := duo.OpenCheckpoint(out)
	refCk, _ := duo.OpenCheckpoint(ref)
	if final.Step != end || refCk.Step != end {
		t.Fatalf("final steps %d and %d, want %d", final.Step, refCk.Step, end)
	}
	sameWeights(t, final.Dir, refCk.Dir)
	t.Logf("SIGINT stopped the run at step %d; resumed to step %d, it is bit-identical to an uninterrupted run", ck.Step, end)

	// Two signals: the second exits at once.
	out2 := filepath.Join(dir, "run2")
	cmd, stderr = startUntil(t, "step 25/", tinyTrain(corpus, out2, steps, "--checkpoint-every", "1")...)
	cmd.Process.Signal(os.Interrupt)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit status %d after two signals, want 130\n%s", code, stderr)
	}
	if ck, err := duo.OpenCheckpoint(out2); err == nil {
		runOK(t, tinyTrain(corpus, out2, ck.Step+2, "--checkpoint-every", "1", "--resume")...)
	} else if !strings.Contains(err.Error(), "no training checkpoint") {
		t.Fatalf("after two signals: %v", err)
	}
}

// A second trainer on the same --out fails at once, naming the first.
func TestOneWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)
	out := filepath.Join(dir, "run")
	first, _ := startUntil(t, "checkpoints: every", tinyTrain(corpus, out, 100000)...)
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(tinyTrain(corpus, out, 10, "--resume"), &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "in use by another training run") || !strings.Contains(stderr.String(), fmt.Sprintf("pid %d", first.Process.Pid)) {
		t.Fatalf("second trainer: status %d, %q", code, stderr.String())
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the second trainer took %v to fail", time.Since(start))
	}
}

// A full disk mid-save reports ENOSPC, removes the partial checkpoint and
// leaves the previous one, from which the run resumes (elsewhere) and ends
// bit-identical to an uninterrupted run. It needs a size-limited tmpfs
// (root); the injected-writer test of internal/checkpoint covers the same
// path without one.
func TestFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a filesystem")
	}
	const steps = 12
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)
	ref := filepath.Join(dir, "ref")
	runOK(t, tinyTrain(corpus, ref, steps, "--checkpoint-every", "1", "--keep", strconv.Itoa(steps))...)
	ck := filepath.Join(ref, "train", checkpoint.Name(1))
	var size int64
	ents, _ := os.ReadDir(ck)
	for _, e := range ents {
		fi, _ := e.Info()
		size += fi.Size()
	}
	// Room for two checkpoints and the top-level links, not for the third
	// that a save with --keep 2 writes before it prunes.
	mnt := filepath.Join(dir, "small")
	os.Mkdir(mnt, 0o755)
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, fmt.Sprintf("size=%dk", (size*5/2+64<<10)>>10)); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v); internal/checkpoint's TestFullDisk covers ENOSPC by injection", err)
	}
	defer syscall.Unmount(mnt, 0)
	out := filepath.Join(mnt, "run")
	var stdout, stderr bytes.Buffer
	code := run(tinyTrain(corpus, out, steps, "--checkpoint-every", "1"), &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "no space left on device") {
		t.Fatalf("status %d, stderr %q: want an ENOSPC error", code, stderr.String())
	}
	left, _ := os.ReadDir(filepath.Join(out, "train"))
	for _, e := range left {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("partial checkpoint %s left behind", e.Name())
		}
	}
	got, err := duo.OpenCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	sameWeights(t, got.Dir, filepath.Join(ref, "train", checkpoint.Name(got.Step)))
	moved := filepath.Join(dir, "moved")
	if err := os.CopyFS(moved, os.DirFS(out)); err != nil {
		t.Fatal(err)
	}
	runOK(t, tinyTrain(corpus, moved, steps, "--checkpoint-every", "1", "--resume")...)
	final, _ := duo.OpenCheckpoint(moved)
	sameWeights(t, final.Dir, filepath.Join(ref, "train", checkpoint.Name(steps)))
	t.Logf("tmpfs of %d KiB filled at the save after step %d (%q); resumed elsewhere, the run ends bit-identical", (size*5/2+64<<10)>>10, got.Step, lastLine(stderr.String()))
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

// Bad input of every kind seen in the reliability review: a clear error
// naming the flag or file, a non-zero status, and never a panic.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	corpus := writeCorpus(t, dir)
	run1 := filepath.Join(dir, "run")
	runOK(t, tinyTrain(corpus, run1, 3)...)
	ck, err := duo.OpenCheckpoint(run1)
	if err != nil {
		t.Fatal(err)
	}
	// A run directory whose state.json was edited, with its manifest
	// rewritten to match (as a user who edits it by hand would).
	editedState := func(name string, fromTo ...string) string {
		d := filepath.Join(dir, name)
		if err := os.CopyFS(d, os.DirFS(run1)); err != nil {
			t.Fatal(err)
		}
		stepDir := filepath.Join(d, "train", filepath.Base(ck.Dir))
		for i := 0; i < len(fromTo); i += 2 {
			rewrite(t, filepath.Join(stepDir, "state.json"), fromTo[i], fromTo[i+1])
		}
		remanifest(t, stepDir)
		return d
	}
	editedConfig := func(name, from, to string) string {
		d := filepath.Join(dir, name)
		if err := os.CopyFS(d, os.DirFS(run1)); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(d, "config.json"))
		b, _ := os.ReadFile(filepath.Join(run1, "config.json"))
		os.WriteFile(filepath.Join(d, "config.json"), b, 0o644)
		rewrite(t, filepath.Join(d, "config.json"), from, to)
		return d
	}
	nanModel := filepath.Join(dir, "nan")
	os.CopyFS(nanModel, os.DirFS(run1))
	poisonModel(t, filepath.Join(nanModel, "model.safetensors"))
	badTasks := filepath.Join(dir, "tasks.jsonl")
	os.WriteFile(badTasks, []byte(`{"context": "a", "choices": ["b", "c"], "answer": 0}`+"\n"+`{"context": "a", "choices": ["b", "c"], "answer": 2}`+"\n"), 0o644)
	emptyMerges := filepath.Join(dir, "bpe")
	os.Mkdir(emptyMerges, 0o755)
	os.WriteFile(filepath.Join(emptyMerges, "encoder.json"), []byte(`{"a": 0}`), 0o644)
	os.WriteFile(filepath.Join(emptyMerges, "vocab.bpe"), nil, 0o644)

	cases := []struct {
		name string
		env  string // NAME=value set for the case
		args []string
		want string // substring of stderr
	}{
		{"eval batch 0", "", []string{"eval", "--checkpoint", run1, "--data", corpus, "--batch", "0"}, "--batch 0: want at least 1"},
		{"eval batch -3", "", []string{"eval", "--checkpoint", run1, "--data", corpus, "--batch", "-3"}, "--batch -3"},
		{"denoise top -1", "", []string{"denoise", "--checkpoint", run1, "--ids", "1,2", "--top", "-1"}, "--top -1"},
		{"denoise sigma Inf", "", []string{"denoise", "--checkpoint", run1, "--ids", "1,2", "--sigma", "Inf"}, "--sigma +Inf"},
		{"denoise ids past int32", "", []string{"denoise", "--checkpoint", run1, "--ids", "4294967393"}, `"4294967393" is not a token id`},
		{"config model_length 2^20", "", []string{"sample", "--checkpoint", editedConfig("long", `"model_length": 8`, `"model_length": 1048576`), "--n", "4"}, "more than this machine's"},
		{"state hidden_dim 1e9", "", []string{"train", "--data", corpus, "--out", editedState("wide", `"hidden_dim": 16`, `"hidden_dim": 1000000000`), "--resume"}, "implausibly large"},
		{"state vocab 2^24", "", []string{"train", "--data", corpus, "--out", editedState("vocab", `"vocab_size": 256`, `"vocab_size": 16777216`, `"hidden_dim": 16`, `"hidden_dim": 1024`), "--resume"}, "more than this machine's"},
		{"state batch 1e9", "", []string{"train", "--data", corpus, "--out", editedState("batch", `"batch": 2`, `"batch": 1000000000`), "--resume"}, "more than this machine's"},
		{"state lr -1", "", []string{"train", "--data", corpus, "--out", editedState("lrneg", `"lr": 0.0003`, `"lr": -1`), "--resume"}, "learning rate -1"},
		{"train hidden 1e9", "", tinyTrain(corpus, filepath.Join(dir, "x1"), 3, "--hidden", "1000000000"), "implausibly large"},
		{"train batch 1e9", "", tinyTrain(corpus, filepath.Join(dir, "x2"), 3, "--batch", "1000000000"), "more than this machine's"},
		{"sample n 1e9", "", []string{"sample", "--checkpoint", run1, "--n", "1000000000"}, "more than this machine's"},
		{"lr NaN", "", tinyTrain(corpus, filepath.Join(dir, "x3"), 3, "--lr", "NaN"), "--lr NaN"},
		{"ema Inf", "", tinyTrain(corpus, filepath.Join(dir, "x3"), 3, "--ema", "Inf"), "--ema +Inf"},
		{"clip NaN", "", tinyTrain(corpus, filepath.Join(dir, "x3"), 3, "--clip", "NaN"), "--clip NaN"},
		{"weight decay NaN", "", tinyTrain(corpus, filepath.Join(dir, "x3"), 3, "--weight-decay", "NaN"), "--weight-decay NaN"},
		{"non-finite weights", "", []string{"sample", "--checkpoint", nanModel}, "non-finite value"},
		{"init with another width", "", tinyTrain(corpus, filepath.Join(dir, "x10"), 3, "--init", run1, "--hidden", "32"), "--hidden 32 (with --model micro): the model in " + run1 + " has hidden_dim 16"},
		{"init mdlm from a duo model", "", tinyTrain(corpus, filepath.Join(dir, "x10"), 3, "--init", run1, "--objective", "mdlm"), "needs 257 ids, the model in " + run1 + " has vocab_size 256"},
		{"init ar from a duo model", "", tinyTrain(corpus, filepath.Join(dir, "x10"), 3, "--init", run1, "--objective", "ar"), "needs a model with causal true"},
		{"init and resume", "", tinyTrain(corpus, run1, 6, "--init", run1, "--resume"), "--init starts a new run"},
		{"init of nothing", "", tinyTrain(corpus, filepath.Join(dir, "x10"), 3, "--init", filepath.Join(dir, "none")), "--init: open " + filepath.Join(dir, "none", "config.json")},
		{"score without choices", "", []string{"score", "--checkpoint", run1, "--context", "a"}, "give --context and --choices, or --tasks"},
		{"score answer out of range", "", []string{"score", "--checkpoint", run1, "--tasks", badTasks}, badTasks + ":2: answer 2 outside the 2 choices"},
		{"score mc 1", "", []string{"score", "--checkpoint", run1, "--context", "a", "--choices", "b,c", "--mc", "1"}, "--mc 1: want at least 2"},
		{"score too long", "", []string{"score", "--checkpoint", run1, "--context", "a much longer context", "--choices", "b,c"}, "more than the model's length 8"},
		{"sampler mode bogus", "", []string{"sample", "--checkpoint", run1, "--sampler-mode", "psy"}, "--sampler-mode psy: want ancestral or psi"},
		{"psi mode bogus", "", []string{"sample", "--checkpoint", run1, "--sampler-mode", "psi", "--psi-low", "max-capped-x"}, `--psi-low: kappa mode "max-capped-x": "x" is not a number`},
		{"psi constant past 1", "", []string{"sample", "--checkpoint", run1, "--sampler-mode", "psi", "--psi-low", "constant-1.5"}, "a constant kappa must lie in [0, 1]"},
		{"psi fractions past 1", "", []string{"sample", "--checkpoint", run1, "--sampler-mode", "psi", "--psi-high-frac", "0.7", "--psi-middle-frac", "0.5"}, "--psi-middle-frac 0.5"},
		{"psi profile bogus", "", []string{"sample", "--checkpoint", run1, "--sampler-mode", "psi", "--psi-profile", "cosine"}, `psi time profile "cosine"`},
		{"schedule bogus", "", tinyTrain(corpus, filepath.Join(dir, "x11"), 3, "--schedule", "linear"), "--schedule linear: want loglinear or cosine"},
		{"sample schedule bogus", "", []string{"sample", "--checkpoint", run1, "--schedule", "cos"}, "--schedule cos: want loglinear or cosine"},
		{"config schedule bogus", "", []string{"sample", "--checkpoint", editedConfig("sched", `"schedule": "loglinear"`, `"schedule": "sigmoid"`)}, `noise schedule "sigmoid"`},
		{"lr-decay bogus", "", tinyTrain(corpus, filepath.Join(dir, "x11"), 3, "--lr-decay", "linear"), "--lr-decay linear: want constant or cosine"},
		{"lr-min above lr", "", tinyTrain(corpus, filepath.Join(dir, "x11"), 3, "--lr-decay", "cosine", "--lr-min", "1"), "--lr-min 1: want in [0, --lr]"},
		{"resume with another schedule", "", tinyTrain(corpus, run1, 6, "--resume", "--schedule", "cosine"), "--schedule cannot change on --resume: the run in " + run1 + " has loglinear"},
		{"top-p 0", "", []string{"sample", "--checkpoint", run1, "--top-p", "0"}, "--top-p 0"},
		{"top-p NaN", "", []string{"sample", "--checkpoint", run1, "--top-p", "NaN"}, "--top-p NaN"},
		{"0-byte vocab.bpe", "", tinyTrain(corpus, filepath.Join(dir, "x4"), 3, "--tokenizer", emptyMerges), "vocab.bpe is empty"},
		{"convert ar of a diffusion model", "", []string{"convert", "--ckpt", "../../testdata/hf_tiny", "--out", filepath.Join(dir, "x5"), "--objective", "ar"}, "not causal"},
		{"device vulkan:7", "", []string{"sample", "--checkpoint", run1, "--device", "vulkan:7"}, "--device vulkan:7"},
		{"threads -1", "", tinyTrain(corpus, filepath.Join(dir, "x6"), 3, "--threads", "-1"), "--threads -1"},
		{"threads 1000", "", []string{"sample", "--checkpoint", run1, "--threads", "1000"}, "--threads 1000"},
		{"DUO_THREADS bad", "DUO_THREADS=lots", []string{"sample", "--checkpoint", run1}, `DUO_THREADS="lots"`},
		{"steps 0", "", tinyTrain(corpus, filepath.Join(dir, "x7"), 0), "--steps 0"},
		{"demo time -5s", "", []string{"demo", "--time", "-5s"}, "--time -5s"},
		{"bench train steps -3", "", []string{"bench", "train", "--steps", "-3"}, "--steps -3"},
		{"fresh train over a run", "", tinyTrain(corpus, run1, 3), "--resume continues it, --force starts over"},
		{"resume with another batch", "", tinyTrain(corpus, run1, 6, "--resume", "--batch", "4"), "--batch cannot change on --resume"},
		{"resume with another width", "", tinyTrain(corpus, run1, 6, "--resume", "--hidden", "32"), "--hidden cannot change on --resume"},
		{"resume with another curriculum", "", tinyTrain(corpus, run1, 6, "--resume", "--curriculum", "topk"), "--curriculum cannot change on --resume"},
		{"curriculum bogus", "", tinyTrain(corpus, filepath.Join(dir, "x9"), 3, "--curriculum", "sparse"), "--curriculum sparse: want auto, simple or topk"},
		{"topk 0", "", tinyTrain(corpus, filepath.Join(dir, "x9"), 3, "--topk", "0"), "--topk 0"},
		{"topk past the vocabulary", "", tinyTrain(corpus, filepath.Join(dir, "x9"), 3, "--curriculum", "topk", "--topk", "256"), "topk 256 outside [0, 256)"},
		{"resume on another corpus", "", tinyTrain(filepath.Join(dir, "other.txt"), run1, 6, "--resume"), "not the one the run was trained on"},
		{"resume below the step", "", tinyTrain(corpus, run1, 2, "--resume"), "below the checkpoint's step 3"},
		{"resume of nothing", "", tinyTrain(corpus, filepath.Join(dir, "x8"), 3, "--resume"), "holds no training checkpoint"},
	}
	os.WriteFile(filepath.Join(dir, "other.txt"), []byte(strings.Repeat("a different corpus altogether. ", 100)), 0o644)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				k, v, _ := strings.Cut(c.env, "=")
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := run(c.args, &stdout, &stderr)
			msg := stderr.String()
			if code == 0 || !strings.Contains(msg, c.want) {
				t.Fatalf("duo %v: status %d, stderr %q; want a failure saying %q", c.args, code, msg, c.want)
			}
			if last := lastLine(msg); strings.Count(last, ": ") > 1 && repeats(last) {
				t.Errorf("the error repeats itself: %q", last)
			}
		})
	}
	// The documented behaviours: bench -h succeeds; --force starts over;
	// --steps on resume extends the run.
	runOK(t, "bench", "-h")
	runOK(t, tinyTrain(corpus, run1, 6, "--resume")...)
	if ck, _ := duo.OpenCheckpoint(run1); ck.Step != 6 {
		t.Errorf("--resume --steps 6 stopped at step %d", ck.Step)
	}
	runOK(t, tinyTrain(corpus, run1, 2, "--force")...)
	if ck, _ := duo.OpenCheckpoint(run1); ck.Step != 2 {
		t.Errorf("--force: the new run's checkpoint is at step %d", ck.Step)
	}
}

// repeats reports whether some clause of an error message occurs twice
// ("open x: open x: no such file").
func repeats(msg string) bool {
	parts := strings.Split(msg, ": ")
	seen := map[string]bool{}
	for _, p := range parts {
		if len(p) > 6 && seen[p] {
			return true
		}
		seen[p] = true
	}
	return false
}

// rewrite replaces from by to in a file, failing if from is absent.
func rewrite(t *testing.T, path, from, to string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(from)) {
		t.Fatalf("%s lacks %q:\n%s", path, from, b)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(from), []byte(to), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// remanifest rewrites a checkpoint's manifest to match its files.
func remanifest(t *testing.T, dir string) {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(dir), "step-"))
	if err != nil {
		t.Fatal(err)
	}
	m := checkpoint.Manifest{Step: n}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() == checkpoint.ManifestFile {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m.Files = append(m.Files, checkpoint.FileInfo{Name: e.Name(), Size: int64(len(b)), CRC32C: crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))})
	}
	raw, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, checkpoint.ManifestFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.Verify(dir); err != nil {
		t.Fatal(err)
	}
}

// poisonModel writes a NaN into the first float of a safetensors file.
func poisonModel(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16 | int(b[3])<<24
	copy(b[8+n:], []byte{0, 0, 0xc0, 0x7f}) // float32 NaN, little-endian
	os.Remove(path)                         // a hard link: do not write through it
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// duo serve answers on the address it prints, and on SIGTERM stops
// accepting, gives the request under way --shutdown-timeout, cancels it
// between steps, and exits 0 with an access log line per request.
func TestServeShutdown(t *testing.T) {
	dir := t.TempDir()
	run1 := filepath.Join(dir, "run")
	runOK(t, tinyTrain(writeCorpus(t, dir), run1, 3)...)
	cmd := duoCmd("serve", "--checkpoint", run1, "--addr", "127.0.0.1:0", "--max-steps", "100000000", "--shutdown-timeout", "300ms", "--threads", "1", "--device", "cpu")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	var url string
	for url == "" && sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), " on http://"); ok {
			url = "http://" + strings.Fields(rest)[0]
		}
	}
	if url == "" {
		t.Fatal("duo serve printed no address")
	}
	go io.Copy(io.Discard, stderr)
	resp, err := http.Post(url+"v1/completions", "application/json", strings.NewReader(`{"prompt": "It was", "steps": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Choices []struct{ Text string } }
	json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(c.Choices) != 1 {
		t.Fatalf("completion: %d %+v", resp.StatusCode, c)
	}
	long, err := http.Post(url+"v1/completions", "application/json", strings.NewReader(`{"steps": 100000000, "stream": true}`))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(long.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	rest, _ := io.ReadAll(br) // the stream ends when the request is cancelled
	long.Body.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("duo serve after SIGTERM: %v", err)
	}
	if took := time.Since(begin); took > 20*time.Second || !strings.Contains(string(rest), "[DONE]") {
		t.Errorf("shutdown took %v; the stream ended with %q", took, tail(string(rest), 200))
	}
	if log := stdout.String(); strings.Count(log, "POST /v1/completions 200") != 2 {
		t.Errorf("access log %q", log)
	}
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }
