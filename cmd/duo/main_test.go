package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestCLI(t *testing.T) {
	cases := []struct {
		args   []string
		status int
		out    string // substring of stdout
		errOut string // substring of stderr
	}{
		{[]string{"version"}, 0, "duo " + Version, ""},
		{[]string{"help"}, 0, "Commands:", ""},
		{nil, 2, "Usage:", ""},
		{[]string{"nosuch"}, 2, "", `unknown command "nosuch"`},
		{[]string{"version", "-bogus"}, 1, "", "flag provided but not defined"},
		{[]string{"version", "-h"}, 0, "", "Usage: duo version"},
		{[]string{"bench"}, 1, "", "gemm|train"},
		{[]string{"bench", "train", "--hidden", "16", "--blocks", "1", "--heads", "2", "--length", "8", "--batch", "2", "--steps", "1", "--threads", "1"}, 0, "tokens/s", ""},
		{[]string{"bench", "gemm", "--threads", "0"}, 1, "", "not a positive integer"},
		{[]string{"bench", "train", "--profile", "--steps", "1", "--hidden", "16", "--blocks", "1", "--heads", "2", "--length", "8", "--batch", "2"}, 1, "", "needs --device vulkan"},
		{[]string{"bench", "gemm", "--cases", "NN:20:30:40,TN:7:5:3", "--threads", "1", "--time", "1ms", "--reps", "1"}, 0, "TN:7:5:3", ""},
		{[]string{"bench", "gemm", "--cases", "NX:2:2:2"}, 1, "", `unknown case "NX:2:2:2"`},
		{[]string{"bench", "gemm", "--reps", "0"}, 1, "", "--reps"},
		{[]string{"bench", "gemm", "--stat", "mean"}, 1, "", "want best or median"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		if got := run(c.args, &stdout, &stderr); got != c.status {
			t.Errorf("duo %v: status %d, want %d (stderr %q)", c.args, got, c.status, stderr.String())
		}
		if !strings.Contains(stdout.String(), c.out) || !strings.Contains(stderr.String(), c.errOut) {
			t.Errorf("duo %v: stdout %q, stderr %q; want %q / %q", c.args, stdout.String(), stderr.String(), c.out, c.errOut)
		}
	}
}

// duo train, then sample, eval and denoise on its checkpoint, and resume.
func TestTrainSampleEvalDenoise(t *testing.T) {
	dir := t.TempDir()
	corpus := dir + "/corpus.txt"
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 200)
	if err := os.WriteFile(corpus, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := dir + "/run"
	trainArgs := []string{"train", "--data", corpus, "--out", out, "--model", "micro", "--hidden", "32", "--blocks", "1",
		"--heads", "2", "--cond", "16", "--length", "16", "--batch", "4", "--steps", "4", "--eval-batches", "2"}
	steps := []struct {
		args []string
		out  string // substring of stdout
	}{
		{trainArgs, ""},
		{[]string{"sample", "--checkpoint", out, "--steps", "4", "--n", "2", "--sampler", "greedy"}, "=== sample 2"},
		{[]string{"sample", "--checkpoint", out, "--steps", "3", "--n", "1", "--json", "--top-p", "0.9"}, `"samples"`},
		{[]string{"eval", "--checkpoint", out, "--data", corpus, "--batch", "4", "--json", "--mc", "2"}, `"bpd"`},
		{[]string{"denoise", "--checkpoint", out, "--ids", "116,104,101", "--sigma", "0.5", "--json"}, `"logprobs"`},
		{append(append([]string{}, trainArgs...), "--steps", "6", "--resume"), ""},
	}
	for _, s := range steps {
		var stdout, stderr bytes.Buffer
		if code := run(s.args, &stdout, &stderr); code != 0 {
			t.Fatalf("duo %v: status %d\n%s", s.args, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), s.out) {
			t.Fatalf("duo %v: stdout %q lacks %q", s.args, stdout.String(), s.out)
		}
	}
	if _, err := os.Stat(out + "/loss.png"); err != nil {
		t.Error(err)
	}
	// Bad input is reported, not a panic.
	for _, args := range [][]string{
		{"sample", "--checkpoint", dir + "/missing"},
		{"denoise", "--checkpoint", out, "--ids", "1,x"},
		{"denoise", "--checkpoint", out, "--ids", "99999"},
		{"train", "--data", dir + "/missing.txt", "--out", dir + "/r2"},
		{"train", "--data", corpus, "--out", dir + "/r3", "--model", "huge"},
		{"eval", "--checkpoint", out},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 1 || stderr.Len() == 0 {
			t.Errorf("duo %v: status %d, stderr %q; want 1 and a message", args, code, stderr.String())
		}
	}
}
