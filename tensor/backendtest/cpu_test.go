package backendtest

import "testing"

// The CPU kernels pass the suite (package vk runs it on the device).
func TestCPU(t *testing.T) { Run(t, nil) }
