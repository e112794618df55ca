//go:build unix

package daemon

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// closeOnExecFrom (one per platform) marks every descriptor from first up
// close-on-exec, so that none of the descriptors the launcher inherited
// reaches the daemon (daemon(7), step 1). Marking instead of closing leaves
// the Go runtime's own descriptors working until exec; the descriptors a
// child needs are passed explicitly. Each platform tries what finds the open
// descriptors whatever RLIMIT_NOFILE is, and only then the loop up to maxFD,
// the one cost that grows with a limit: Go raises the soft RLIMIT_NOFILE to
// the hard one at start (on macOS to kern.maxfilesperproc), so a loop to
// the limit could run for a million descriptors.

// closeOnExecListed marks the descriptors listed in dir, a directory with
// one entry per open descriptor of this process (/proc/self/fd, /dev/fd).
// It reports whether the listing held the descriptor it read dir with, as
// a complete listing does.
func closeOnExecListed(dir string, first int) (complete bool, err error) {
	d, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return false, err
	}
	self := int(d.Fd())
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		switch {
		case err != nil || fd < first:
		case fd == self:
			complete = true
		default:
			setCloseOnExec(fd)
		}
	}
	return complete, nil
}

// closeOnExecUpTo marks the descriptors from first to maxFD (1024 if maxFD
// is not positive), open or not.
func closeOnExecUpTo(first, maxFD int) {
	if maxFD <= 0 {
		maxFD = 1024
	}
	for fd := first; fd < maxFD; fd++ {
		setCloseOnExec(fd)
	}
}

// setCloseOnExec sets FD_CLOEXEC, the only descriptor flag, on fd; a
// descriptor that is not open is no error here.
func setCloseOnExec(fd int) {
	_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
}

// markCloseOnExec sets FD_CLOEXEC on fd, which must be open.
func markCloseOnExec(fd int) error {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
	return err
}
