package vk_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

// The tests share one device per configuration. When Vulkan is unavailable
// they skip, unless DUO_REQUIRE_VULKAN=1 (CI with lavapipe), where they fail.
var (
	devOnce sync.Once
	dev     *vk.Device
	devErr  error
)

func device(t testing.TB) *vk.Device {
	t.Helper()
	devOnce.Do(func() {
		dev, devErr = vk.OpenDefault()
		if devErr == nil {
			t.Logf("vk: using %v (subgroup %d, arithmetic %v, host-visible %v)", dev.Info(),
				dev.Info().SubgroupSize, dev.Info().SubgroupArithmetic, dev.Info().HostVisible)
		}
	})
	if devErr != nil {
		skipOrFail(t, devErr)
	}
	return dev
}

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("DUO_REQUIRE_VULKAN") == "1" {
		t.Fatalf("vk: DUO_REQUIRE_VULKAN=1 but Vulkan is unusable: %v", err)
	}
	if !vk.Unavailable(err) {
		t.Fatalf("vk: opening the device failed: %v", err)
	}
	t.Skipf("vk: skipping, %v", err)
}

// The second configuration: the shared-memory reductions instead of the
// subgroup ones, and staging copies instead of mapped memory, the path of
// discrete GPUs.
var (
	altOnce sync.Once
	alt     *vk.Device
	altErr  error
)

func altDevice(t *testing.T) *vk.Device {
	t.Helper()
	d := device(t)
	altOnce.Do(func() {
		oldS, oldG := vk.SetForceStaging(true), vk.SetNoSubgroup(true)
		alt, altErr = vk.Open(d.Info().Index)
		vk.SetForceStaging(oldS)
		vk.SetNoSubgroup(oldG)
	})
	if altErr != nil {
		t.Fatal(altErr)
	}
	return alt
}

// both runs f on the default device and on the alternative configuration.
func both(t *testing.T, f func(t *testing.T, d *vk.Device)) {
	device(t) // skips the whole test when Vulkan is unavailable
	t.Run("default", func(t *testing.T) { f(t, device(t)) })
	if testing.Short() {
		return
	}
	t.Run("fallback", func(t *testing.T) { f(t, altDevice(t)) })
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dev != nil {
		dev.Close()
	}
	if alt != nil {
		alt.Close()
	}
	os.Exit(code)
}

func TestUnavailableErrors(t *testing.T) {
	for _, e := range []error{vk.ErrNoCgo, vk.ErrNoLoader, vk.ErrNoDriver, vk.ErrNoDevice} {
		if !vk.Unavailable(e) {
			t.Errorf("%v not reported unavailable", e)
		}
	}
	if vk.Unavailable(errors.New("other")) {
		t.Error("unrelated error reported unavailable")
	}
}

// randn returns n normal values.
func randn(r *rand.Rand, n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = scale * float32(r.NormFloat64())
	}
	return x
}

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

// near fails unless |got-want| <= atol + rtol*|want| everywhere.
func near(t testing.TB, what string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad, worst, wi := 0, 0.0, -1
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		diff := math.Abs(g - w)
		if math.IsNaN(g) != math.IsNaN(w) || diff > atol+rtol*math.Abs(w) || (math.IsInf(w, 0) && g != w) {
			bad++
			if e := diff / (atol + rtol*math.Abs(w)); wi < 0 || e > worst {
				worst, wi = e, i
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ; worst at %d: got %g, want %g", what, bad, len(got), wi, got[wi], want[wi])
	}
}

func exp32(x float32) float32 { return float32(math.Exp(float64(x))) }

func up(d *vk.Device, t *tensor.Tensor) *vk.Buffer { return d.NewBufferFrom(t.Data()) }

func randT(r *rand.Rand, scale float32, shape ...int) *tensor.Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return tensor.From(randn(r, n, scale), shape...)
}
