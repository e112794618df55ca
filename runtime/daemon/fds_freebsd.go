package daemon

import "golang.org/x/sys/unix"

// closeRangeCloexec is CLOSE_RANGE_CLOEXEC of FreeBSD's <sys/unistd.h>
// (FreeBSD 13.1 and later), which golang.org/x/sys does not define; it has
// the number of the system call, SYS_CLOSE_RANGE, but no wrapper.
const closeRangeCloexec = 1 << 2

// closeOnExecFrom marks every descriptor from first up close-on-exec with
// close_range(2); before FreeBSD 13.1, with the descriptors listed in
// /dev/fd if fdescfs is mounted there (without it, /dev/fd lists only 0 to
// 2, so a listing is trusted only if it holds its own descriptor), and else
// with the loop up to maxFD. closefrom(2) closes rather than marks, which
// would take the Go runtime's own descriptors.
func closeOnExecFrom(first, maxFD int) error {
	_, _, errno := unix.Syscall(unix.SYS_CLOSE_RANGE, uintptr(first), uintptr(^uint32(0)), closeRangeCloexec)
	if errno == 0 {
		return nil
	}
	if complete, err := closeOnExecListed("/dev/fd", first); err == nil && complete {
		return nil
	}
	closeOnExecUpTo(first, maxFD)
	return nil
}
