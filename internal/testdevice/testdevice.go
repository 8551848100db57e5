// Package testdevice lets a package's tests run on the device that
// DUO_TEST_DEVICE names: "" or "cpu" (the CPU kernels), or "vulkan" (the
// default Vulkan device as package tensor's backend). A TestMain calls Main.
package testdevice

import (
	"fmt"
	"os"
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

// Main sets the backend DUO_TEST_DEVICE names, runs the tests and exits.
// A device that cannot be opened fails the run: asking for it means it
// must be there.
func Main(m *testing.M) {
	name := os.Getenv("DUO_TEST_DEVICE")
	switch name {
	case "", "cpu":
		os.Exit(m.Run())
	case "vulkan":
		d, err := vk.OpenDefault()
		if err != nil {
			fmt.Fprintf(os.Stderr, "DUO_TEST_DEVICE=vulkan: %v\n", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "DUO_TEST_DEVICE=vulkan: the tests run on %v\n", d.Info())
		tensor.SetBackend(vk.NewTensorBackend(d))
		code := m.Run()
		tensor.SetBackend(nil)
		d.Close()
		os.Exit(code)
	default:
		fmt.Fprintf(os.Stderr, "DUO_TEST_DEVICE=%q: want cpu or vulkan\n", name)
		os.Exit(2)
	}
}
