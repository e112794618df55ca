//go:build unix

package daemon

import (
	"runtime"
	"syscall"
)

// startWithEmptySigmask starts a process whose signal mask is empty, so a
// signal the launcher had blocked is not blocked in the daemon (daemon(7),
// step 3). The Go runtime saves the mask of the thread that forks and
// restores it in the child; clearing it on a locked thread before the fork
// gives the child a clean one, where the platform lets this package clear
// it (clearThreadSigmask). Locking a thread makes the Go runtime start a
// thread of its own the first time (its template thread), on the start's
// critical path; so where the mask is empty already, as in every session
// leader (its launcher cleared it) and under most shells, the child is
// started without the lock: every thread of the runtime that is not
// locked has the mask the process started with, and the fork inherits it.
// It uses syscall.ForkExec rather than
// os.StartProcess, whose first call forks a throwaway child to probe pidfd
// support: one fork fewer on every start.
func startWithEmptySigmask(name string, argv []string, attr *syscall.ProcAttr) (pid int, err error) {
	if threadSigmaskEmpty() {
		return syscall.ForkExec(name, argv, attr)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	restore, err := clearThreadSigmask()
	if err != nil {
		return 0, err
	}
	pid, err = syscall.ForkExec(name, argv, attr)
	restore()
	return pid, err
}
