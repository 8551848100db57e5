package backendtest

import (
	"testing"

	"github.com/duo-go/duo/tensor"
)

func TestCPU(t *testing.T) { Run(t, tensor.CPU()) }

// The compositions of every fused group, on the CPU's core: the CPU's
// buffers are host memory, but behind the wrapper package tensor treats it
// as a device (separate device copies, uploads, downloads, partial views
// through temporaries), so this also checks that plumbing.
func TestCPUCoreOnly(t *testing.T) { Run(t, CoreOnly(tensor.CPU())) }
