package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

// duo devices always succeeds: it lists devices or says why there are none.
func TestDevicesCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"devices"}, &stdout, &stderr); code != 0 {
		t.Fatalf("duo devices: status %d, stderr %q", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "Vulkan devices") && !strings.Contains(out, "no Vulkan devices") {
		t.Errorf("duo devices printed %q", out)
	}
	t.Logf("%s", out)
}

// --device: cpu and auto always work (auto falls back to the CPU with one
// line when Vulkan is unavailable); a named device that cannot be opened and
// nonsense are errors.
func TestDeviceFlag(t *testing.T) {
	_, vkErr := vk.DefaultDevice()
	for _, c := range []struct {
		spec string
		ok   bool
		line string // substring of the device line
	}{
		{"cpu", true, "device: CPU"},
		{"auto", true, "device: "},
		{"vulkan", vkErr == nil, "device: #"},
		{"vulkan:99", false, ""},
		{"vulkan:x", false, ""},
		{"gpu", false, ""},
	} {
		var w bytes.Buffer
		release, err := useDevice(c.spec, &w)
		if (err == nil) != c.ok {
			t.Errorf("--device %s: error %v", c.spec, err)
			continue
		}
		if err != nil {
			continue
		}
		line := w.String()
		if strings.Count(line, "\n") != 1 || !strings.Contains(line, c.line) {
			t.Errorf("--device %s printed %q, want one line with %q", c.spec, line, c.line)
		}
		onCPU := !tensor.OnDevice()
		if c.spec == "vulkan" && (onCPU != (vkErr != nil)) {
			t.Errorf("--device vulkan: on the CPU %v, but Vulkan error %v", onCPU, vkErr)
		}
		if vkErr != nil && !strings.Contains(line, "CPU") {
			t.Errorf("--device %s without Vulkan (%v) printed %q", c.spec, vkErr, line)
		}
		release()
		if tensor.OnDevice() {
			t.Errorf("--device %s: the backend stays set after release", c.spec)
		}
	}
}

// The whole CLI runs on a Vulkan device: train, sample, eval and denoise
// with --device vulkan. It skips without Vulkan, unless DUO_REQUIRE_VULKAN=1
// (lavapipe in CI), where it fails; a build without cgo always skips.
func TestCLIOnVulkan(t *testing.T) {
	if _, err := vk.DefaultDevice(); err != nil {
		if os.Getenv("DUO_REQUIRE_VULKAN") == "1" && !errors.Is(err, vk.ErrNoCgo) {
			t.Fatalf("DUO_REQUIRE_VULKAN=1 but Vulkan is unusable: %v", err)
		}
		t.Skipf("Vulkan unavailable: %v", err)
	}
	dir := t.TempDir()
	corpus := dir + "/corpus.txt"
	if err := os.WriteFile(corpus, []byte(strings.Repeat("pack my box with five dozen liquor jugs. ", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := dir + "/run"
	for _, args := range [][]string{
		{"train", "--data", corpus, "--out", out, "--model", "micro", "--hidden", "32", "--blocks", "1",
			"--heads", "2", "--cond", "16", "--length", "16", "--batch", "4", "--steps", "3", "--eval-batches", "1"},
		{"sample", "--checkpoint", out, "--steps", "3", "--n", "2"},
		{"eval", "--checkpoint", out, "--data", corpus, "--batch", "4", "--batches", "2", "--json"},
		{"denoise", "--checkpoint", out, "--ids", "116,104,101", "--json"},
		{"bench", "train", "--profile", "--hidden", "16", "--blocks", "1", "--heads", "2", "--length", "8", "--batch", "2", "--steps", "1"},
		{"distill", "--teacher", out, "--data", corpus, "--out", dir + "/dcd", "--rounds", "2", "--steps-per-round", "1", "--batch", "4", "--eval-batches", "1"},
		{"train", "--data", corpus, "--out", dir + "/mdlm", "--objective", "mdlm", "--model", "micro", "--hidden", "32", "--blocks", "1",
			"--heads", "2", "--cond", "16", "--length", "16", "--batch", "4", "--steps", "2", "--eval-batches", "1"},
		{"sample", "--checkpoint", dir + "/mdlm", "--steps", "2", "--n", "2"},
	} {
		var stdout, stderr bytes.Buffer
		args = append(args, "--device", "vulkan")
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Fatalf("duo %v: status %d\n%s", args, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "device: #") {
			t.Errorf("duo %s: no Vulkan device line in %q", args[0], stderr.String())
		}
		if args[0] == "bench" && !strings.Contains(stdout.String(), "matmul") {
			t.Errorf("duo bench train --profile: no matmul line in\n%s", stdout.String())
		}
	}
}
