package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/internal/gemm"
	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "gemm" && args[0] != "train") {
		fmt.Fprintln(stderr, "Usage: duo bench gemm|train [flags]  (duo bench gemm -h for the flags)")
		return errors.New("want a benchmark: gemm or train")
	}
	if args[0] == "gemm" {
		return benchGemm(args[1:], stdout, stderr)
	}
	return benchTrain(args[1:], stdout, stderr)
}

// parseInts reads a comma-separated list of positive integers.
func parseInts(flag, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("--%s: %q is not a positive integer", flag, f)
		}
		out = append(out, v)
	}
	return out, nil
}

// benchGemm prints the engine's SGEMM GFLOP/s for the shapes of the spec and
// the layouts Linear uses, at each thread count, and the Vulkan device's
// when one is available.
func benchGemm(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench gemm", "bench gemm [--threads 1,2] [--time 1s] [--vulkan]", stderr)
	threadsFlag := fs.String("threads", "1,2", "thread counts to measure")
	minTime := fs.Duration("time", time.Second, "minimum time per measurement")
	useVK := fs.Bool("vulkan", false, "also measure the Vulkan device's matmul (square sizes)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	threads, err := parseInts("threads", *threadsFlag)
	if err != nil {
		return err
	}
	shapes := []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"256^3", false, false, 256, 256, 256},
		{"512^3", false, false, 512, 512, 512},
		{"1024^3", false, false, 1024, 1024, 1024},
		{"4096x768 @ 768x3072 (Linear fwd, x W^T)", false, true, 4096, 3072, 768},
		{"dX = dY W (Linear bwd)", false, false, 4096, 768, 3072},
		{"dW = dY^T X (Linear bwd)", true, false, 3072, 768, 4096},
	}
	fmt.Fprintf(stdout, "SGEMM GFLOP/s (assembly kernel: %v)\n%-42s", gemm.Accelerated(), "shape")
	for _, t := range threads {
		fmt.Fprintf(stdout, " %9s", fmt.Sprintf("%d thr", t))
	}
	fmt.Fprintln(stdout)
	for _, s := range shapes {
		fmt.Fprintf(stdout, "%-42s", s.name)
		for _, t := range threads {
			fmt.Fprintf(stdout, " %9.1f", gemm.BenchTrans(s.ta, s.tb, s.m, s.n, s.k, t, *minTime))
		}
		fmt.Fprintln(stdout)
	}
	if *useVK {
		d, err := vk.OpenDefault()
		if err != nil {
			fmt.Fprintf(stdout, "vulkan: unavailable (%v)\n", err)
			return nil
		}
		defer d.Close()
		fmt.Fprintf(stdout, "vulkan %s (%s):", d.Info().Name, d.Info().Type)
		sizes := []int{256, 512, 1024, 2048}
		if t := d.Info().Type; t == "discrete" || t == "integrated" {
			sizes = append(sizes, 4096, 8192) // large enough to approach a GPU's peak
		}
		for _, n := range sizes {
			fmt.Fprintf(stdout, "  %d^3 %.1f", n, d.BenchMatMul(n))
		}
		fmt.Fprintln(stdout, " GFLOP/s")
	}
	return nil
}

// benchTrain measures tokens/s of a full training step (forward, backward,
// AdamW) of a fixed DiT: by default D=256, 4 blocks, 4 heads, L=128, batch
// 16, byte vocabulary, the configuration tools/bench/train_torch.py runs.
func benchTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench train", "bench train [--threads 1,2] [--steps 5] [--device cpu|vulkan]", stderr)
	threadsFlag := fs.String("threads", "1,2", "thread counts to measure")
	steps := fs.Int("steps", 5, "timed steps (after one warm-up step)")
	hidden := fs.Int("hidden", 256, "hidden size D")
	blocks := fs.Int("blocks", 4, "blocks")
	heads := fs.Int("heads", 4, "heads")
	length := fs.Int("length", 128, "sequence length")
	batch := fs.Int("batch", 16, "batch size")
	device := fs.String("device", "cpu", deviceUsage)
	if err := fs.Parse(args); err != nil {
		return err
	}
	release, err := useDevice(*device, stderr)
	if err != nil {
		return err
	}
	defer release()
	threads, err := parseInts("threads", *threadsFlag)
	if err != nil {
		return err
	}
	cfg := nn.Config{Vocab: 256, Length: *length, Hidden: *hidden, Cond: 128, Blocks: *blocks, Heads: *heads, MLPRatio: 4}
	prev := parallel.Threads()
	defer parallel.SetThreads(prev)
	for _, t := range threads {
		parallel.SetThreads(t)
		tps, err := trainThroughput(cfg, *batch, *steps)
		if err != nil {
			return err
		}
		where := fmt.Sprintf("%d threads", t)
		if tensor.CurrentBackend() != nil {
			where = "device " + *device
		}
		fmt.Fprintf(stdout, "train step D=%d blocks=%d heads=%d L=%d B=%d K=256, %s: %.0f tokens/s\n",
			cfg.Hidden, cfg.Blocks, cfg.Heads, cfg.Length, *batch, where, tps)
		if tensor.CurrentBackend() != nil {
			break // the thread count does not apply to the device
		}
	}
	return nil
}

// trainThroughput times steps training steps (cross-entropy on the logits
// of a token-id input) after one warm-up step.
func trainThroughput(cfg nn.Config, B, steps int) (float64, error) {
	rng := tensor.NewRNG(1)
	m, err := nn.NewDiT(cfg, rng)
	if err != nil {
		return 0, err
	}
	params := m.Params()
	opt := nn.NewAdamW(params, 0)
	ids := make([]int32, B*cfg.Length)
	for i := range ids {
		ids[i] = int32(rng.IntN(cfg.Vocab))
	}
	sigma := make([]float32, B)
	for i := range sigma {
		sigma[i] = float32(rng.Float64())
	}
	step := func() error {
		tp := autograd.NewTape()
		logits, err := m.Forward(tp, nn.Input{Batch: B, IDs: ids, Sigma: sigma})
		if err != nil {
			return err
		}
		if err := tp.Backward(tp.CrossEntropy(logits, ids)); err != nil {
			return err
		}
		opt.Step(1e-4)
		nn.ZeroGrad(params)
		return nil
	}
	if err := step(); err != nil {
		return 0, err
	}
	start := time.Now()
	for i := 0; i < steps; i++ {
		if err := step(); err != nil {
			return 0, err
		}
	}
	params[0].Value.Host() // wait for a device to finish the last step
	return float64(B*cfg.Length*steps) / time.Since(start).Seconds(), nil
}
