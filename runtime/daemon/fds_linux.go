package daemon

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// closeOnExecFrom marks every descriptor from first up close-on-exec, so that
// none of the descriptors the launcher inherited reaches the daemon (daemon(7),
// step 1). Marking instead of closing leaves the Go runtime's own descriptors
// working until exec; the descriptors a child needs are passed explicitly.
//
// close_range(2) does it in one call whatever RLIMIT_NOFILE is. Before Linux
// 5.11 it falls back to the descriptors listed in /proc/self/fd, and without
// /proc to a loop up to maxFD, the only cost that grows with a limit.
func closeOnExecFrom(first, maxFD int) error {
	err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("close_range: %w", err)
	}
	if err := closeOnExecListed(first); err == nil {
		return nil
	}
	for fd := first; fd < maxFD; fd++ {
		setCloseOnExec(fd)
	}
	return nil
}

// closeOnExecListed marks the descriptors listed in /proc/self/fd.
func closeOnExecListed(first int) error {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	buf := make([]byte, 4096)
	var names []string
	for {
		n, err := unix.ReadDirent(dir, buf)
		if err != nil {
			return err
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err == nil && fd >= first && fd != dir {
			setCloseOnExec(fd)
		}
	}
	return nil
}

// setCloseOnExec sets FD_CLOEXEC, the only descriptor flag, on fd; a
// descriptor that is not open is no error here.
func setCloseOnExec(fd int) {
	_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
}
