package autograd

import (
	"testing"

	"github.com/duo-go/duo/internal/testdevice"
)

// DUO_TEST_DEVICE=vulkan runs the gradient checks with the Vulkan backend.
func TestMain(m *testing.M) { testdevice.Main(m) }
