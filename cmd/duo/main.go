// Command duo trains, distils, samples and evaluates Duo diffusion language
// models on the CPU or any Vulkan GPU.
//
// Usage:
//
//	duo <command> [flags]
//
// Run `duo help` for the list of commands and `duo <command> -h` for the
// flags of one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand: its one-line summary and its entry point.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"version": {"print the version and build information", runVersion},
	"bench":   {"benchmarks: bench gemm (GFLOP/s), bench train (tokens/s)", runBench},
	"train":   {"train a Duo, UDLM or AR model on a corpus", runTrain},
	"sample":  {"generate text from a checkpoint", runSample},
	"eval":    {"validation NLL bound, PPL and bits per token of a checkpoint", runEval},
	"denoise": {"show the denoiser's prediction for one sequence at a noise level", runDenoise},
	"demo":    {"train a small Duo on the Go source tree for a few minutes, then sample", runDemo},
}

func main() { os.Exit(runMain(os.Args[1:])) }

// runMain runs the command line args as the program's main and returns its
// exit status, having left the MPI job (MPI_Finalize: a rank that skips it
// fails the job).
func runMain(args []string) int {
	code := run(args, os.Stdout, os.Stderr)
	if world != nil {
		world.Close()
	}
	return code
}

// run dispatches to a subcommand and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "duo: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	err := checkThreadsEnv()
	if err == nil {
		err = joinWorld(args[0])
	}
	if err == nil {
		out, errOut := rankOutput(stdout, stderr)
		err = cmd.run(args[1:], out, errOut)
	}
	code := 0
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errInterrupted), errors.Is(err, context.Canceled): // a signal here, or on another rank
		code = 130
	default:
		code = 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "duo %s: %s%v\n", args[0], rankPrefix(), err)
	}
	if code == 1 && group() != nil {
		world.Abort(code) // the other ranks would wait for this one forever
	}
	return code
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "duo: uniform-state discrete diffusion language models (The Diffusion Duality)")
	fmt.Fprintln(w, "\nUsage: duo <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'duo <command> -h' for the flags of a command.")
}

// newFlags returns a flag set for a subcommand that reports errors instead
// of exiting.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: duo %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}
