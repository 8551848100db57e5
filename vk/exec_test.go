package vk_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/duo-go/duo/vk"
)

// Dependent dispatches get a barrier, independent ones do not, and nothing
// is submitted before the host asks for data.
func TestRecorder(t *testing.T) {
	d := device(t)
	a, b := d.NewBufferFrom(randn(rng(30), 64, 1)), d.NewBufferFrom(randn(rng(31), 64, 1))
	x, y, z := d.NewBuffer(64), d.NewBuffer(64), d.NewBuffer(64)
	d.Sync()
	s0 := d.Stats()
	d.Exp(x, a) // independent of the next one
	d.Exp(y, b)
	s1 := d.Stats()
	d.Add(z, x, y, []int{64}, []int{64}) // reads both: one barrier
	d.Scale(z, z, 2)                     // reads z: another
	s2 := d.Stats()
	if s1.Barriers != s0.Barriers {
		t.Errorf("independent dispatches got %d barriers", s1.Barriers-s0.Barriers)
	}
	if s2.Barriers-s1.Barriers != 2 {
		t.Errorf("dependent dispatches got %d barriers, want 2", s2.Barriers-s1.Barriers)
	}
	if s2.Submits != s0.Submits || s2.Waits != s0.Waits {
		t.Error("recording submitted or waited")
	}
	got := z.Download()
	s3 := d.Stats()
	if s3.Submits-s2.Submits != 1 || s3.Waits-s2.Waits != 1 {
		t.Errorf("download: %d submits, %d waits; want 1, 1", s3.Submits-s2.Submits, s3.Waits-s2.Waits)
	}
	ha, hb := a.Download(), b.Download()
	want := make([]float32, 64)
	for i := range want {
		want[i] = 2 * (exp32(ha[i]) + exp32(hb[i]))
	}
	near(t, "chain", got, want, 1e-6, 1e-6)
	// Reading an idle buffer needs no wait where device memory is mapped
	// (with staging copies, a download is a copy command to wait for).
	_ = z.Download()
	if d.Info().HostVisible && d.Stats().Waits != s3.Waits {
		t.Error("download of an idle buffer waited")
	}
}

// Write after read: uploading into a buffer that recorded work still reads
// must not change what that work sees.
func TestUploadOrdering(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		a := d.NewBufferFrom([]float32{1, 2, 3})
		out := d.NewBuffer(3)
		d.Scale(out, a, 10) // recorded, not run
		a.Upload([]float32{4, 5, 6})
		out2 := d.NewBuffer(3)
		d.Scale(out2, a, 10)
		near(t, "before upload", out.Download(), []float32{10, 20, 30}, 0, 0)
		near(t, "after upload", out2.Download(), []float32{40, 50, 60}, 0, 0)
	})
}

func TestPool(t *testing.T) {
	d := device(t)
	b := d.NewBuffer(1000)
	d.Fill(b, 1)
	b.Release()
	s0 := d.Stats()
	c := d.NewBuffer(990) // same size class
	s1 := d.Stats()
	if s1.Allocs != s0.Allocs || s1.Reuses != s0.Reuses+1 {
		t.Errorf("pool: %d allocs, %d reuses", s1.Allocs-s0.Allocs, s1.Reuses-s0.Reuses)
	}
	for _, v := range c.Download() {
		if v != 0 {
			t.Fatal("reused buffer not zeroed")
		}
	}
	c.Release()
	d.Trim()
}

func TestPick(t *testing.T) {
	devs := []vk.Info{
		{Index: 0, Name: "llvmpipe", Type: "cpu", Suitable: true},
		{Index: 1, Name: "Intel UHD", Type: "integrated", Suitable: true},
		{Index: 2, Name: "NVIDIA H200", Type: "discrete", Suitable: true},
		{Index: 3, Name: "Old GPU", Type: "discrete", Reason: "needs Vulkan 1.1"},
	}
	for _, c := range []struct {
		env  string
		want int
		err  bool
	}{
		{"", 2, false}, {"0", 0, false}, {"1", 1, false}, {"llvm", 0, false}, {"nvidia", 2, false},
		{"3", 0, true}, {"7", 0, true}, {"amd", 0, true},
	} {
		got, err := vk.Pick(devs, c.env)
		if (err != nil) != c.err || (err == nil && got != c.want) {
			t.Errorf("DUO_VK_DEVICE=%q: got %d, %v; want %d (error %v)", c.env, got, err, c.want, c.err)
		}
		if err != nil && !errors.Is(err, vk.ErrNoDevice) {
			t.Errorf("DUO_VK_DEVICE=%q: error %v is not ErrNoDevice", c.env, err)
		}
	}
	if _, err := vk.Pick(devs[3:], ""); !errors.Is(err, vk.ErrNoDevice) {
		t.Errorf("no suitable device: %v", err)
	}
}

// Without a driver Open fails with ErrNoDriver (checked in a child process,
// since the loader reads VK_ICD_FILENAMES once).
func TestNoDriver(t *testing.T) {
	if os.Getenv("DUO_VK_CHILD") == "1" {
		_, err := vk.OpenDefault()
		if !errors.Is(err, vk.ErrNoDriver) && !errors.Is(err, vk.ErrNoLoader) && !errors.Is(err, vk.ErrNoCgo) {
			t.Fatalf("want ErrNoDriver, got %v", err)
		}
		if !vk.Unavailable(err) {
			t.Fatal("not reported unavailable")
		}
		t.Logf("fallback line: %v", err)
		return
	}
	device(t) // only meaningful where Vulkan works
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoDriver$", "-test.v")
	cmd.Env = append(os.Environ(), "DUO_VK_CHILD=1", "VK_ICD_FILENAMES=/nonexistent",
		"VK_DRIVER_FILES=/nonexistent", "DUO_REQUIRE_VULKAN=0")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no Vulkan driver") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestBenchMatMul(t *testing.T) {
	d := device(t)
	t.Logf("matmul 128: %.2f GFLOP/s on %s", d.BenchMatMul(128), d.Info().Name)
}

func BenchmarkMatMul(b *testing.B) {
	d := device(b)
	for _, n := range []int{256, 1024} {
		b.Run("", func(b *testing.B) {
			for range b.N {
				b.ReportMetric(d.BenchMatMul(n), "GFLOP/s")
			}
		})
	}
}

// With profiling on, every recorded command is timed under its kernel's
// name; turning it off stops collecting and turning it on again clears.
func TestProfiling(t *testing.T) {
	d := device(t)
	if err := d.SetProfiling(true); err != nil {
		if d.Info().TimestampBits == 0 {
			t.Skipf("no timestamps: %v", err)
		}
		t.Fatal(err)
	}
	defer d.SetProfiling(false)
	n := 96
	a, b := d.NewBufferFrom(randn(rng(40), n*n, 1)), d.NewBufferFrom(randn(rng(41), n*n, 1))
	c := d.NewBuffer(n * n)
	before := d.Stats().Dispatches
	for range 3 {
		d.MatMul(c, a, b, []int{n, n}, []int{n, n}, false, false, 0)
		d.Exp(c, c)
	}
	dispatches := d.Stats().Dispatches - before
	got := map[string]vk.KernelTime{}
	calls := 0
	for _, kt := range d.KernelTimes() {
		got[kt.Kernel] = kt
		calls += kt.Calls
		if kt.Time < 0 || kt.Calls <= 0 {
			t.Errorf("%+v", kt)
		}
	}
	t.Logf("%d dispatches, profile %v", dispatches, got)
	mm := got["matmul"]
	if l := got["matmul_large"]; l.Calls > 0 { // DUO_VK_MATMUL=large
		mm = l
	}
	if mm.Calls != 3 || mm.Time <= 0 {
		t.Errorf("matmul: %+v, want 3 timed calls", mm)
	}
	if got["unary"].Calls != 3 {
		t.Errorf("unary: %+v, want 3 calls", got["unary"])
	}
	if calls < dispatches {
		t.Errorf("%d commands timed, %d dispatches recorded", calls, dispatches)
	}
	if err := d.SetProfiling(false); err != nil {
		t.Fatal(err)
	}
	d.Exp(c, c)
	if err := d.SetProfiling(true); err != nil {
		t.Fatal(err)
	}
	if kts := d.KernelTimes(); len(kts) != 0 {
		t.Errorf("profile after a restart: %v", kts)
	}
}
