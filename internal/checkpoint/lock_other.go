//go:build !unix

package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// lockFile creates path exclusively. Without flock a killed holder leaves
// the file behind; the error says to remove it then.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s is in use by another training run (%s); if that process is gone, remove the file", path, holder(path))
	}
	return f, err
}

// unlockFile closes and removes the lock file.
func unlockFile(f *os.File) error {
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
