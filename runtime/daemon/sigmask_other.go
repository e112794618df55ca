//go:build unix && !linux && !darwin && !dragonfly && !freebsd

package daemon

// clearThreadSigmask does nothing here: golang.org/x/sys has no
// pthread_sigmask for this system, and OpenBSD allows system calls only
// through its libc. A signal blocked in the launcher stays blocked in the
// daemon.
func clearThreadSigmask() (restore func(), err error) {
	return func() {}, nil
}
