package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/duo-go/duo/internal/gemm"
	"github.com/duo-go/duo/internal/parallel"
)

// Version is the program's release version.
const Version = "0.1.0-dev"

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "version", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	rev := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	fmt.Fprintf(stdout, "duo %s (commit %s, %s, %s/%s, %d threads, %s GEMM kernel)\n", Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH, parallel.Threads(), gemm.Kernel())
	if world != nil {
		fmt.Fprintf(stdout, "ranks: %s\n", world.Library())
	}
	return nil
}
