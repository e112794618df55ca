//go:build unix && !linux && !dragonfly && !freebsd

package daemon

// threadSigmaskEmpty reports true: this package cannot clear the mask
// here (clearThreadSigmask), so there is no reason to lock a thread.
func threadSigmaskEmpty() bool { return true }

// clearThreadSigmask does nothing here: golang.org/x/sys has no
// pthread_sigmask for this system, and macOS and OpenBSD allow system calls
// only through their libc (on macOS, syscall(2) cannot even pass the
// arguments right on arm64). A signal blocked in the launcher stays blocked
// in the daemon's threads, but for the signals the daemon handles (SIGTERM,
// SIGINT, SIGHUP): the Go runtime unblocks those on a thread of its own
// when the daemon asks for them, so they are delivered.
func clearThreadSigmask() (restore func(), err error) {
	return func() {}, nil
}
