package vk_test

import (
	"testing"

	"github.com/duo-go/duo/tensor/backendtest"
	"github.com/duo-go/duo/vk"
)

// The device passes package tensor's conformance suite (every operation a
// backend runs, forward and backward, against float64 references), in both
// configurations: subgroup reductions and mapped memory; shared-memory
// reductions and staging copies. The suite's operations must run as device
// kernels, not fall back to the host.
func TestConformance(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		before := d.Stats()
		backendtest.Run(t, vk.NewTensorBackend(d))
		after := d.Stats()
		n := after.Dispatches - before.Dispatches
		t.Logf("%d dispatches, %d waits", n, after.Waits-before.Waits)
		if n < 300 { // the suite records some 320 kernels
			t.Errorf("only %d kernels ran on the device", n)
		}
	})
}

// The compositions that stand in for the fused groups (tensor's
// fallback.go) run on the device's core kernels alone and pass the same
// suite: a backend needs only the core to run everything.
func TestConformanceCoreOnly(t *testing.T) {
	backendtest.Run(t, backendtest.CoreOnly(vk.NewTensorBackend(device(t))))
}
