//go:build !unix

package safetensors

import (
	"fmt"
	"os"
)

// Open reads and parses the file at path (no mmap on this platform). Errors
// are prefixed with path.
func Open(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
