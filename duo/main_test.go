package duo

import (
	"testing"

	"github.com/duo-go/duo/internal/testdevice"
)

// DUO_TEST_DEVICE=vulkan runs the tests with the Vulkan backend (CI runs
// the loss and sampler tests so: go test ./duo -run 'Loss|NELBO|Golden|Sample').
func TestMain(m *testing.M) { testdevice.Main(m) }
