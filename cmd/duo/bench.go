package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/internal/gemm"
	"github.com/duo-go/duo/internal/gemmref"
	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/internal/sysmem"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
	"golang.org/x/sys/cpu"
)

// benchmarks are duo bench's subcommands.
var benchmarks = map[string]func(args []string, stdout, stderr io.Writer) error{
	"gemm": benchGemm, "train": benchTrain, "sample": benchSample, "curriculum": benchCurriculum, "serve": benchServe,
}

func runBench(args []string, stdout, stderr io.Writer) error {
	names := slices.Sorted(maps.Keys(benchmarks))
	usage := "Usage: duo bench " + strings.Join(names, "|") + " [flags]  (duo bench gemm -h etc. for the flags)"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	if len(args) > 0 {
		if b, ok := benchmarks[args[0]]; ok {
			if group() != nil && args[0] != "allreduce" && args[0] != "dp" {
				return fmt.Errorf("bench %s runs as one process (bench allreduce and bench dp run as several ranks)", args[0])
			}
			return b(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintln(stderr, usage)
	return errors.New("want a benchmark: " + strings.Join(names, ", "))
}

// startProfile starts a CPU profile into path ("": none) and returns the
// function that stops it.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// reexecMark is set in the environment of a benchmark that re-ran itself.
const reexecMark = "DUO_BENCH_REEXEC"

// reexecWith replaces the process by the same command line with the
// environment changed as env says ("" removes a variable): for settings a
// library reads when it loads, before main runs.
func reexecWith(env map[string]string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var vars []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := env[k]; !ok {
			vars = append(vars, kv)
		}
	}
	for k, v := range env {
		if v != "" {
			vars = append(vars, k+"="+v)
		}
	}
	return syscall.Exec(exe, os.Args, vars)
}

// parseInts reads a comma-separated list of positive integers.
// parseFloats parses a comma-separated list of numbers >= 0.
func parseFloats(flag, s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("--%s: %q is not a finite number >= 0", flag, f)
		}
		out = append(out, v)
	}
	return out, nil
}

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

// benchGemm prints one table of SGEMM GFLOP/s: the engine and, in a build
// with -tags openblas, gonum and OpenBLAS side by side on the same operands,
// for the speed evaluation's shapes at each thread count; with --vulkan also
// the Vulkan device's matmul. The libraries take turns, --reps rounds per
// row; each measurement keeps its fastest call.
func benchGemm(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench gemm", "bench gemm [--threads 1,2] [--time 300ms] [--reps 3] [--stat best|median] [--cases NN/512,NT:m:n:k] [--vulkan]", stderr)
	threadsFlag := fs.String("threads", "1,2", "thread counts to measure")
	minTime := fs.Duration("time", 300*time.Millisecond, "least time per measurement")
	reps := fs.Int("reps", 3, "rounds per row (the libraries take turns)")
	stat := fs.String("stat", "best", "round to report: best or median")
	casesFlag := fs.String("cases", "", "comma-separated cases (default all): NN/256, NN/512, NN/1024, NN|NT|TN/4096x768x3072, or LAYOUT:m:n:k")
	useVK := fs.Bool("vulkan", false, "also measure the Vulkan device's matmul (square sizes)")
	fairCore := fs.Bool("fair-openblas", true, "on an AVX-512 CPU, run OpenBLAS with its AVX-512 kernel (OPENBLAS_CORETYPE=SkylakeX) when it would use an older one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	threads, err := parseInts("threads", *threadsFlag)
	if err != nil {
		return err
	}
	if *reps < 1 {
		return errors.New("--reps must be at least 1")
	}
	if *stat != "best" && *stat != "median" {
		return fmt.Errorf("--stat %q: want best or median", *stat)
	}
	cases := gemmref.Cases
	if *casesFlag != "" {
		cases = nil
		for _, name := range strings.Split(*casesFlag, ",") {
			c, err := gemmref.ParseCase(strings.TrimSpace(name))
			if err != nil {
				return fmt.Errorf("--cases: %w", err)
			}
			cases = append(cases, c)
		}
	}
	if core := gemmref.OpenBLASCore(); core != "" && *fairCore && cpu.X86.HasAVX512F && !gemmref.AVX512Core(core) && os.Getenv(reexecMark) == "" {
		// Debian's OpenBLAS 0.3.21 does not know recent AVX-512 CPUs and
		// falls back to an AVX2 or SSE kernel (or the environment pins one):
		// a crippled anchor. Run again with its AVX-512 kernel selected.
		fmt.Fprintf(stderr, "OpenBLAS runs its %s kernel on this AVX-512 CPU: running again with OPENBLAS_CORETYPE=SkylakeX, its AVX-512 kernel (--fair-openblas=false keeps %s)\n", core, core)
		return reexecWith(map[string]string{"OPENBLAS_CORETYPE": "SkylakeX", "OPENBLAS_L2_SIZE": "", reexecMark: "1"})
	}
	libs := append([]gemmref.Lib{gemmref.Engine}, gemmref.References()...)
	fmt.Fprintf(stdout, "SGEMM GFLOP/s, fastest call of each measurement, %s of %d rounds (engine kernel: %s)\n",
		*stat, *reps, gemm.Kernel())
	if core := gemmref.OpenBLASCore(); core != "" {
		fmt.Fprintf(stdout, "OpenBLAS kernel core: %s (select another with OPENBLAS_CORETYPE)\n", core)
	}
	if len(libs) == 1 {
		fmt.Fprintln(stdout, "(gonum and OpenBLAS columns: go build -tags openblas ./cmd/duo, with cgo and libopenblas-dev)")
	}
	peak := gemm.MeasurePeak(*minTime)
	if peak.Of() > 0 {
		fmt.Fprintf(stdout, "core peak, one thread, register-only FMAs: AVX-512 %.1f, AVX2 %.1f GFLOP/s; the %s micro-kernel on cached panels: %.1f (%.0f%% of its peak)\n",
			peak.AVX512, peak.AVX2, gemm.Kernel(), peak.Kernel, 100*peak.Kernel/peak.Of())
	}
	fmt.Fprintf(stdout, "%-20s %7s", "case", "threads")
	for _, l := range libs {
		fmt.Fprintf(stdout, " %9s", l.Name)
	}
	for _, l := range libs[1:] {
		fmt.Fprintf(stdout, " %15s", "engine/"+l.Name)
	}
	if peak.Of() > 0 {
		fmt.Fprintf(stdout, " %11s", "engine/peak")
	}
	fmt.Fprintln(stdout)
	for _, c := range cases {
		o := gemmref.NewOperands(c)
		for _, l := range libs[1:] {
			if err := o.Agree(l); err != nil {
				return fmt.Errorf("the libraries disagree, so their speeds do not compare: %w", err)
			}
		}
		for _, t := range threads {
			rounds := make([][]float64, len(libs))
			for range *reps {
				for i, l := range libs {
					rounds[i] = append(rounds[i], o.Measure(l, t, *minTime))
					if i > 0 {
						time.Sleep(100 * time.Millisecond) // let a library's spinning threads go idle
					}
				}
			}
			g := make([]float64, len(libs))
			for i, r := range rounds {
				slices.Sort(r)
				g[i] = r[len(r)-1]
				if *stat == "median" {
					g[i] = r[len(r)/2]
				}
			}
			fmt.Fprintf(stdout, "%-20s %7d", c.Name, t)
			for _, v := range g {
				fmt.Fprintf(stdout, " %9.1f", v)
			}
			for _, v := range g[1:] {
				fmt.Fprintf(stdout, " %15.2f", g[0]/v)
			}
			if peak.Of() > 0 {
				fmt.Fprintf(stdout, " %11.2f", g[0]/(float64(t)*peak.Of()))
			}
			fmt.Fprintln(stdout)
		}
	}
	if *useVK {
		d, err := vk.OpenDefault()
		if err != nil {
			fmt.Fprintf(stdout, "vulkan: unavailable (%v)\n", err)
			return nil
		}
		defer d.Close()
		fmt.Fprintf(stdout, "vulkan %s (%s), square matmul GFLOP/s by tiling (auto: the one products get):\n%-8s %9s %9s %9s\n",
			d.Info().Name, d.Info().Type, "n", "auto", "small", "large")
		sizes := []int{256, 512, 1024, 2048}
		if t := d.Info().Type; t == "discrete" || t == "integrated" {
			sizes = append(sizes, 4096, 8192) // large enough to approach a GPU's peak
		}
		for _, n := range sizes {
			fmt.Fprintf(stdout, "%-8d %9.1f %9.1f %9.1f\n", n, d.BenchMatMulTiling(n, vk.TilingAuto),
				d.BenchMatMulTiling(n, vk.TilingSmall), d.BenchMatMulTiling(n, vk.TilingLarge))
		}
	}
	return nil
}

// benchTrain measures tokens/s of a full training step (forward, backward,
// AdamW) of a fixed DiT: by default D=256, 4 blocks, 4 heads, L=128, batch
// 16, byte vocabulary, the configuration tools/bench/train_torch.py runs.
func benchTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench train", "bench train [--threads 1,2] [--steps 5] [--device cpu|vulkan] [--profile] [--cpuprofile FILE]", stderr)
	threadsFlag := fs.String("threads", "1,2", "thread counts to measure")
	steps := fs.Int("steps", 5, "timed steps (after one warm-up step)")
	hidden := fs.Int("hidden", 256, "hidden size D")
	blocks := fs.Int("blocks", 4, "blocks")
	heads := fs.Int("heads", 4, "heads")
	length := fs.Int("length", 128, "sequence length")
	batch := fs.Int("batch", 16, "batch size")
	device := fs.String("device", "cpu", deviceUsage)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed steps to this file (go tool pprof)")
	gpuProfile := fs.Bool("profile", false, "with --device vulkan: print the device time per kernel of the timed steps")
	if err := fs.Parse(args); err != nil {
		return err
	}
	err := checkFlags(fs,
		check{"steps", *steps >= 1, "at least 1"},
		check{"hidden", *hidden >= 1, "at least 1"},
		check{"blocks", *blocks >= 1, "at least 1"},
		check{"heads", *heads >= 1, "at least 1"},
		check{"length", *length >= 1, "at least 1"},
		check{"batch", *batch >= 1, "at least 1"},
	)
	if err != nil {
		return err
	}
	stopProfile, err := startProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	release, err := useDevice(*device, stderr)
	if err != nil {
		return err
	}
	defer release()
	threads, err := parseInts("threads", *threadsFlag)
	if err != nil {
		return err
	}
	var dev *vk.Device
	if tb, ok := tensor.CurrentBackend().(*vk.TensorBackend); ok {
		dev = tb.Device()
	}
	if *gpuProfile && dev == nil {
		return errors.New("--profile times Vulkan kernels: it needs --device vulkan (on the CPU, --cpuprofile)")
	}
	cfg := nn.Config{Vocab: 256, Length: *length, Hidden: *hidden, Cond: 128, Blocks: *blocks, Heads: *heads, MLPRatio: 4}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := sysmem.Check(fmt.Sprintf("bench train (--batch %d, --length %d, --hidden %d, --blocks %d)", *batch, *length, *hidden, *blocks), cfg.MemoryBytes(*batch, *length, true)); err != nil {
		return err
	}
	prev := parallel.Threads()
	defer parallel.SetThreads(prev)
	var peak *gemm.Peak // measured once, before the first figure that needs it
	for _, t := range threads {
		parallel.SetThreads(t)
		var timed func() error
		if *gpuProfile {
			timed = func() error { return dev.SetProfiling(true) }
		}
		tps, flopsPerToken, err := trainThroughput(cfg, *batch, *steps, timed)
		if err != nil {
			return err
		}
		where := fmt.Sprintf("%d threads", t)
		if tensor.OnDevice() {
			where = "device " + *device
		}
		fmt.Fprintf(stdout, "train step D=%d blocks=%d heads=%d L=%d B=%d K=256, %s: %.0f tokens/s\n",
			cfg.Hidden, cfg.Blocks, cfg.Heads, cfg.Length, *batch, where, tps)
		if flopsPerToken > 0 {
			if peak == nil {
				p := gemm.MeasurePeak(300 * time.Millisecond)
				peak = &p
			}
			rate := tps * flopsPerToken / 1e9
			fmt.Fprintf(stdout, "  matrix products: %.2f MFLOP a token, %.1f GFLOP/s", flopsPerToken/1e6, rate)
			if pk := peak.Of(); pk > 0 {
				fmt.Fprintf(stdout, " = %.2f of %d threads' FMA peak (%.1f GFLOP/s a core, %s)", rate/(float64(t)*pk), t, pk, gemm.Kernel())
			}
			fmt.Fprintln(stdout)
		}
		if *gpuProfile {
			printKernelTimes(stdout, dev.KernelTimes(), *steps)
		}
		if tensor.OnDevice() {
			break // the thread count does not apply to the device
		}
	}
	return nil
}

// printKernelTimes prints a device profile of steps training steps: time
// per step and share of each kernel.
func printKernelTimes(w io.Writer, kts []vk.KernelTime, steps int) {
	var total time.Duration
	for _, kt := range kts {
		total += kt.Time
	}
	fmt.Fprintf(w, "device time per step %.2f ms, by kernel:\n%-22s %10s %12s %7s\n", ms(total)/float64(steps), "kernel", "calls/step", "ms/step", "share")
	for _, kt := range kts {
		fmt.Fprintf(w, "%-22s %10.1f %12.3f %6.1f%%\n", kt.Kernel, float64(kt.Calls)/float64(steps),
			ms(kt.Time)/float64(steps), 100*float64(kt.Time)/float64(max(total, 1)))
	}
}

func ms(d time.Duration) float64 { return d.Seconds() * 1e3 }

// trainThroughput times steps training steps (cross-entropy on the logits
// of a token-id input) after one warm-up step; timed, when not nil, runs
// between the two. It returns tokens/s and the matrix products' flops a
// token (gemm.Flops across the timed steps: 0 when they ran elsewhere, on a
// device).
func trainThroughput(cfg nn.Config, B, steps int, timed func() error) (tokensPerSec, flopsPerToken float64, err error) {
	rng := tensor.NewRNG(1)
	m, err := nn.NewDiT(cfg, rng)
	if err != nil {
		return 0, 0, err
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
		tp.SetReleaseValues(true)
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
		return 0, 0, err
	}
	if timed != nil {
		params[0].Value.Host() // the warm-up step is not timed
		if err := timed(); err != nil {
			return 0, 0, err
		}
	}
	flops0, start := gemm.Flops(), time.Now()
	for i := 0; i < steps; i++ {
		if err := step(); err != nil {
			return 0, 0, err
		}
	}
	params[0].Value.Host() // wait for a device to finish the last step
	tokens := float64(B * cfg.Length * steps)
	return tokens / time.Since(start).Seconds(), float64(gemm.Flops()-flops0) / tokens, nil
}
