// Package sysmem reports the machine's memory, so that a run too large for
// it fails with an error naming its sizes instead of a fatal out-of-memory.
package sysmem

import (
	"fmt"
)

// Total returns the machine's physical memory in bytes, or 0 where it is
// not known.
func Total() uint64 { return total() }

// Check returns an error when a job estimated to need `need` bytes cannot
// fit in the machine's memory. what describes the job and its sizes, as the
// user set them ("training with batch 16 x length 128, hidden_dim 768").
func Check(what string, need float64) error {
	have := Total()
	if have == 0 || need <= float64(have) {
		return nil
	}
	return fmt.Errorf("%s needs about %s of memory, more than this machine's %s", what, Format(need), Format(float64(have)))
}

// Format prints a byte count with a binary unit.
func Format(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// PeakRSS returns the process's peak resident set (VmHWM) in bytes, or 0
// where it is not known.
func PeakRSS() int64 { return status("VmHWM") }

// RSS returns the process's resident set (VmRSS) in bytes, or 0.
func RSS() int64 { return status("VmRSS") }

// ResetPeak starts a new PeakRSS measurement from the current resident set.
func ResetPeak() error { return resetPeak() }
