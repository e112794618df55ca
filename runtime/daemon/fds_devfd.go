//go:build unix && !freebsd && !(linux && !gendaemon_portable)

package daemon

import "runtime"

// closeOnExecFrom marks every descriptor from first up close-on-exec: those
// listed in /dev/fd, which on macOS (and on Linux, where it links to
// /proc/self/fd) holds exactly the open descriptors, and else those up to
// maxFD. On OpenBSD and NetBSD /dev/fd is a fixed set of device nodes, so
// the listing marks a few descriptors that are not open, which is harmless,
// and the loop covers the rest.
func closeOnExecFrom(first, maxFD int) error {
	complete, err := closeOnExecListed("/dev/fd", first)
	if err == nil && complete && runtime.GOOS != "openbsd" && runtime.GOOS != "netbsd" {
		return nil
	}
	closeOnExecUpTo(first, maxFD)
	return nil
}
