//go:build !gendaemon_portable

package daemon

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// closeOnExecFrom marks every descriptor from first up close-on-exec.
// close_range(2) does it in one call; before Linux 5.11 it falls back to the
// descriptors listed in /proc/self/fd, and without /proc to a loop up to
// maxFD.
func closeOnExecFrom(first, maxFD int) error {
	err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("close_range: %w", err)
	}
	if complete, err := closeOnExecListed("/proc/self/fd", first); err == nil && complete {
		return nil
	}
	closeOnExecUpTo(first, maxFD)
	return nil
}
