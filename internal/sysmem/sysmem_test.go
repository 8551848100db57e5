package sysmem

import (
	"runtime"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	if runtime.GOOS == "linux" && Total() < 1<<28 {
		t.Fatalf("Total() = %d on linux", Total())
	}
	if err := Check("a small job", 1<<20); err != nil {
		t.Fatal(err)
	}
	err := Check("training with batch 1000000000", 1e18)
	if Total() > 0 && (err == nil || !strings.Contains(err.Error(), "batch 1000000000") || !strings.Contains(err.Error(), "888.2 PiB")) {
		t.Fatalf("Check(1e18) = %v", err)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		b    float64
		want string
	}{{512, "512 B"}, {1536, "1.5 KiB"}, {24 << 30, "24.0 GiB"}} {
		if got := Format(c.b); got != c.want {
			t.Errorf("Format(%g) = %q, want %q", c.b, got, c.want)
		}
	}
}

// The peak resident set grows with a large allocation, and a reset brings
// it back to the current resident set.
func TestPeakRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	if err := ResetPeak(); err != nil {
		t.Skip(err)
	}
	before := PeakRSS()
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	if after := PeakRSS(); after < before+60<<20 {
		t.Errorf("peak RSS %d after touching 64 MiB, %d before", after, before)
	}
	runtime.KeepAlive(buf)
	if RSS() <= 0 {
		t.Error("no RSS")
	}
}
