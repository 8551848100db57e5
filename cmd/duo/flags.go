package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
)

// Flag validation shared by the commands: every number that enters from
// the command line is checked here, and the error names the flag.

// check is one condition on a flag's value and what the flag wants.
type check struct {
	name string // the flag, without dashes
	ok   bool
	want string
}

// checkFlags returns an error naming the first flag whose check fails,
// with its value as given. Checks of flags fs does not define are skipped
// (commands share checks over a common set of flags).
func checkFlags(fs *flag.FlagSet, checks ...check) error {
	for _, c := range checks {
		f := fs.Lookup(c.name)
		if c.ok || f == nil {
			continue
		}
		return fmt.Errorf("--%s %s: want %s", c.name, f.Value.String(), c.want)
	}
	return nil
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// maxThreads bounds --threads and DUO_THREADS: more threads than this many
// per core only slow the engine down.
func maxThreads() int { return 4 * runtime.NumCPU() }

// threadsCheck validates a --threads flag (0: all cores, or DUO_THREADS).
func threadsCheck(n int) check {
	return check{"threads", n >= 0 && n <= maxThreads(), fmt.Sprintf("0 (all cores) to %d (4 per core)", maxThreads())}
}

// checkThreadsEnv validates DUO_THREADS, which package parallel reads at
// start-up (and would otherwise ignore when malformed).
func checkThreadsEnv() error {
	s, ok := os.LookupEnv("DUO_THREADS")
	if !ok || s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxThreads() {
		return fmt.Errorf("DUO_THREADS=%q: want an integer from 1 to %d (4 per core)", s, maxThreads())
	}
	return nil
}

// errInterrupted is the cause of a run stopped by SIGINT or SIGTERM; the
// command exits with status 130.
var errInterrupted = errors.New("interrupted")
