package daemon

import "golang.org/x/sys/unix"

// closeRangeCloexec is CLOSE_RANGE_CLOEXEC of FreeBSD's <sys/unistd.h>
// (FreeBSD 13.1 and later), which golang.org/x/sys does not define; it has
// the number of the system call, SYS_CLOSE_RANGE, but no wrapper.
const closeRangeCloexec = 1 << 2

// closeOnExecFrom marks every descriptor from first up close-on-exec with
// close_range(2). FreeBSD lists only descriptors 0 to 2 in /dev/fd unless
// fdescfs is mounted, and closefrom(2) closes rather than marks, which would
// take the Go runtime's own descriptors; so an older kernel gets the loop up
// to maxFD.
func closeOnExecFrom(first, maxFD int) error {
	_, _, errno := unix.Syscall(unix.SYS_CLOSE_RANGE, uintptr(first), uintptr(^uint32(0)), closeRangeCloexec)
	if errno == 0 {
		return nil
	}
	closeOnExecUpTo(first, maxFD)
	return nil
}
