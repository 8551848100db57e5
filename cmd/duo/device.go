package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

// The --device flag of train, sample, eval, denoise and demo, and the
// devices command.

func init() {
	commands["devices"] = command{"list the Vulkan devices --device can use", runDevices}
}

// deviceUsage documents --device.
const deviceUsage = `where the tensors run: "cpu"; "vulkan" (the device DUO_VK_DEVICE names, else the best one); ` +
	`"vulkan:N" (device N of 'duo devices'); "auto" (a Vulkan GPU if there is one, else the CPU)`

// deviceFlag registers --device on fs.
func deviceFlag(fs *flag.FlagSet) *string { return fs.String("device", "auto", deviceUsage) }

// useDevice makes the device named by spec (see deviceUsage) the one that
// package tensor runs on, and prints one line to w saying which device is
// used, or why the CPU is used instead. Only "auto" falls back to the CPU
// (when Vulkan cannot be used: built without cgo, no loader, no driver, no
// suitable device), and it also passes over CPU implementations of Vulkan
// (lavapipe), which are slower than the engine's own CPU kernels, unless
// DUO_VK_DEVICE names one. A device asked for by name ("vulkan",
// "vulkan:N", or DUO_VK_DEVICE) that cannot be opened is an error saying
// which devices there are. The returned function releases the device; call
// it when the command is done.
func useDevice(spec string, w io.Writer) (release func(), err error) {
	cpu := func(why string) (func(), error) {
		tensor.SetBackend(nil)
		fmt.Fprintf(w, "device: CPU, %d threads%s\n", parallel.Threads(), why)
		return func() {}, nil
	}
	env := os.Getenv("DUO_VK_DEVICE")
	var d *vk.Device
	switch {
	case spec == "cpu":
		return cpu("")
	case spec == "auto":
		info, err := vk.DefaultDevice()
		if err != nil && env != "" && !vk.Unavailable(err) {
			return nil, fmt.Errorf("DUO_VK_DEVICE=%s: %w", env, err)
		}
		if err != nil {
			return cpu(fmt.Sprintf(" (%v)", err))
		}
		if info.Type == "cpu" && env == "" {
			return cpu(fmt.Sprintf(" (the only Vulkan device, %s, is a CPU implementation; --device vulkan uses it)", info.Name))
		}
		if d, err = vk.OpenDefault(); err != nil {
			if env != "" {
				return nil, fmt.Errorf("DUO_VK_DEVICE=%s: %w", env, err)
			}
			return cpu(fmt.Sprintf(" (%v)", err))
		}
	case spec == "vulkan" || strings.HasPrefix(spec, "vulkan:"):
		if n, ok := strings.CutPrefix(spec, "vulkan:"); ok {
			i, perr := strconv.Atoi(n)
			if perr != nil || i < 0 {
				return nil, fmt.Errorf("--device %q: want vulkan:N with N a device number of 'duo devices'", spec)
			}
			d, err = vk.Open(i)
		} else if i, ok := localDevice(env); ok {
			d, err = vk.Open(i)
		} else {
			d, err = vk.OpenDefault()
		}
		if err != nil {
			return nil, fmt.Errorf("--device %s: %w (--device cpu or auto run on the CPU)", spec, err)
		}
	default:
		return nil, fmt.Errorf("--device %q: want cpu, vulkan, vulkan:N or auto", spec)
	}
	tensor.SetBackend(vk.NewTensorBackend(d))
	fmt.Fprintf(w, "device: %v\n", d.Info())
	return func() {
		tensor.SetBackend(nil)
		d.Close()
	}, nil
}

// runDevices lists the Vulkan devices, or says why there are none.
func runDevices(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("devices", "devices", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	devs, err := vk.Devices()
	if err != nil {
		if vk.Unavailable(err) {
			fmt.Fprintf(stdout, "no Vulkan devices: %v\ntensors run on the CPU (%d threads)\n", err, parallel.Threads())
			return nil
		}
		return err
	}
	fmt.Fprintln(stdout, "Vulkan devices (--device vulkan:N):")
	for _, d := range devs {
		line := fmt.Sprintf("  %v", d)
		if d.Suitable {
			line += fmt.Sprintf(": %d MiB", d.DeviceMemory>>20)
			if d.SubgroupSize > 0 {
				line += fmt.Sprintf(", subgroups of %d", d.SubgroupSize)
			}
			if d.SubgroupArithmetic {
				line += " with arithmetic"
			}
		} else {
			line += ": not usable, " + d.Reason
		}
		fmt.Fprintln(stdout, line)
	}
	def, err := vk.DefaultDevice()
	switch {
	case err != nil:
		fmt.Fprintf(stdout, "--device vulkan: none (%v)\n", err)
	case os.Getenv("DUO_VK_DEVICE") != "":
		fmt.Fprintf(stdout, "--device vulkan: #%d (DUO_VK_DEVICE=%s)\n", def.Index, os.Getenv("DUO_VK_DEVICE"))
	default:
		fmt.Fprintf(stdout, "--device vulkan: #%d (DUO_VK_DEVICE=N or a name overrides)\n", def.Index)
	}
	if err == nil && def.Type == "cpu" && os.Getenv("DUO_VK_DEVICE") == "" {
		fmt.Fprintln(stdout, "--device auto: the CPU (the Vulkan device is a CPU implementation)")
	} else if err == nil {
		fmt.Fprintf(stdout, "--device auto: #%d\n", def.Index)
	}
	return nil
}

// execFlags are the --threads and --device flags of the inference commands.
type execFlags struct {
	fs      *flag.FlagSet
	threads *int
	device  *string
}

// addExecFlags registers --threads and --device on fs.
func addExecFlags(fs *flag.FlagSet) execFlags {
	return execFlags{fs: fs, threads: fs.Int("threads", 0, "CPU threads (0: all cores, or DUO_THREADS)"), device: deviceFlag(fs)}
}

// inferenceGCPercent is the garbage collector's target for the inference
// commands: they hold the weights and replace a working set every step, and
// with Go's default (100) the heap grows to twice the live set. Sampling the
// 170M model one sequence at a time peaked at 2.83x the weights at 100,
// 1.54x at 25 and 1.35-1.37x at 10, with 10 no slower than 25 (duo bench
// sample, alternating, 2026-12-06). A GOGC the user sets wins.
const inferenceGCPercent = 10

// start checks the command's flags (checks, then --threads), applies
// --threads and opens the --device; call release when done.
func (e execFlags) start(stderr io.Writer, checks ...check) (release func(), err error) {
	if err := checkFlags(e.fs, append(checks, threadsCheck(*e.threads))...); err != nil {
		return nil, err
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(inferenceGCPercent)
	}
	if *e.threads > 0 {
		parallel.SetThreads(*e.threads)
	}
	return useDevice(*e.device, stderr)
}

// localDevice returns the device of this rank when several ranks share the
// machine and DUO_VK_DEVICE (env) names none: the usable devices in turn,
// by the rank's index on the machine, the GPUs before CPU implementations.
func localDevice(env string) (int, bool) {
	if world == nil || world.LocalSize() == 1 || env != "" {
		return 0, false
	}
	devs, err := vk.Devices()
	if err != nil {
		return 0, false
	}
	var gpus, cpus []int
	for _, d := range devs {
		switch {
		case !d.Suitable:
		case d.Type == "cpu":
			cpus = append(cpus, d.Index)
		default:
			gpus = append(gpus, d.Index)
		}
	}
	if usable := append(gpus, cpus...); len(usable) > 0 {
		return usable[world.LocalRank()%len(usable)], true
	}
	return 0, false
}
