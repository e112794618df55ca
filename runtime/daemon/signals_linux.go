//go:build !gendaemon_portable

package daemon

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resetSignalDispositions sets back to their default action the signals that
// a Go program leaves ignored when it was started with them ignored, so that
// an ignored SIGHUP does not reach the daemon and its children (daemon(7),
// step 2). Those are SIGHUP and SIGINT (nohup, and shells that start
// background jobs, ignore them) and the job-control signals the Go runtime
// never touches; every other signal gets the runtime's own handler at start,
// which exec resets to the default. The runtime has no handler for any of
// these in this process, so changing them behind its back is safe.
func resetSignalDispositions() error {
	// An all-zero struct sigaction is SIG_DFL with no flags and an empty mask
	// on every architecture; it is larger than any of their layouts.
	var dfl [8]uint64
	for _, sig := range [...]unix.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGCONT, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU} {
		if err := rtSigaction(sig, unsafe.Pointer(&dfl)); err != nil {
			return os.NewSyscallError("rt_sigaction", err)
		}
	}
	return nil
}

// rtSigaction installs act for sig. The kernel's sigset_t is 8 bytes except
// on MIPS, where it is 16; the kernel says EINVAL to the wrong one.
func rtSigaction(sig unix.Signal, act unsafe.Pointer) error {
	for _, size := range [...]uintptr{8, 16} {
		_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(act), 0, size, 0, 0)
		if errno != unix.EINVAL {
			if errno != 0 {
				return errno
			}
			return nil
		}
	}
	return unix.EINVAL
}
