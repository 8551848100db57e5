//go:build !linux

package sysmem

import "errors"

func total() uint64 { return 0 }

func status(string) int64 { return 0 }

func resetPeak() error { return errors.New("sysmem: no peak RSS reset on this system") }
