package daemon

import (
	"os"

	"golang.org/x/sys/unix"
)

// threadSigmaskEmpty reports whether the calling thread blocks no signal.
// It reports false if the mask cannot be read.
func threadSigmaskEmpty() bool {
	var mask unix.Sigset_t
	return unix.PthreadSigmask(unix.SIG_SETMASK, nil, &mask) == nil && mask == unix.Sigset_t{}
}

// clearThreadSigmask empties the calling thread's signal mask and returns
// what puts the old one back.
func clearThreadSigmask() (restore func(), err error) {
	var empty, old unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, &empty, &old); err != nil {
		return nil, os.NewSyscallError("pthread_sigmask", err)
	}
	// Restoring a mask that was just read cannot fail; were it to, the
	// thread would merely keep an empty mask.
	return func() { _ = unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil) }, nil
}
