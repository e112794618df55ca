package daemon

import (
	"os"
	"os/signal"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resetSignalDispositions sets back to their default action every signal
// that this process ignores (daemon(7), step 2): a signal ignored at exec
// stays ignored in the daemon and in everything it starts. Caught signals
// need nothing, as exec resets them. The Go runtime knows which signals it
// found ignored and left so (signal.Ignored): SIGHUP and SIGINT under
// nohup, the real-time signals it never handles (32 to 34 included), and
// any it was asked to ignore; the job-control signals, which it never
// touches, are reset whatever they are. It has no handler for any of them
// in this process, so changing them behind its back is safe. This is Linux's code
// on both paths: the portable one (signal.Notify) cannot reach the
// signals the runtime reserves.
func resetSignalDispositions() error {
	// An all-zero struct sigaction is SIG_DFL with no flags and an empty mask
	// on every architecture; it is larger than any of their layouts.
	var dfl [8]uint64
	for sig := unix.Signal(1); sig < 65; sig++ {
		if sig == unix.SIGKILL || sig == unix.SIGSTOP || !signal.Ignored(sig) && !jobControl(sig) {
			continue
		}
		if err := rtSigaction(sig, unsafe.Pointer(&dfl)); err != nil {
			return os.NewSyscallError("rt_sigaction", err)
		}
	}
	return nil
}

// jobControl reports whether the Go runtime leaves sig alone entirely.
func jobControl(sig unix.Signal) bool {
	return sig == unix.SIGCONT || sig == unix.SIGTSTP || sig == unix.SIGTTIN || sig == unix.SIGTTOU
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
