//go:build !unix

package daemon

import "errors"

// Start records exist where start does, on Unix.

func writeStartRecord(pidFile string, pid int, args []string) error { return nil }

func readStartRecord(pidFile string, pid int) ([]string, error) {
	return nil, errors.ErrUnsupported
}

func removeStartRecord(pidFile string) {}
