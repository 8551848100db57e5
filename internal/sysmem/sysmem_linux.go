package sysmem

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

func total() uint64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}

// status reads a kB field of /proc/self/status, in bytes (0 when absent).
func status(field string) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// resetPeak resets VmHWM to the current RSS (Linux 4.0+).
func resetPeak() error { return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }
