//go:build dragonfly || freebsd

package daemon

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sigSetmask is SIG_SETMASK of <signal.h>; golang.org/x/sys defines it for
// Linux only.
const sigSetmask = 3

// sigset is a sigset_t of FreeBSD and DragonFly.
type sigset [4]uint32

// threadSigmaskEmpty reports whether the calling thread blocks no signal.
// It reports false if the mask cannot be read.
func threadSigmaskEmpty() bool {
	var mask sigset
	_, _, errno := unix.RawSyscall(unix.SYS_SIGPROCMASK, sigSetmask, 0, uintptr(unsafe.Pointer(&mask)))
	return errno == 0 && mask == sigset{}
}

// clearThreadSigmask empties the calling thread's signal mask and returns
// what puts the old one back. golang.org/x/sys has no pthread_sigmask here,
// but the system call's number; sigprocmask acts on the calling thread.
func clearThreadSigmask() (restore func(), err error) {
	var empty, old sigset
	if _, _, errno := unix.RawSyscall(unix.SYS_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&empty)), uintptr(unsafe.Pointer(&old))); errno != 0 {
		return nil, os.NewSyscallError("sigprocmask", errno)
	}
	return func() {
		_, _, _ = unix.RawSyscall(unix.SYS_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&old)), 0)
	}, nil
}
