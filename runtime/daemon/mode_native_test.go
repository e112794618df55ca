//go:build linux && !gendaemon_portable

package daemon

import (
	"os"

	"golang.org/x/sys/unix"
)

// What the tests in package daemon_test expect of the Linux fast path; the
// same tests run on the portable path with -tags gendaemon_portable.
const (
	// PIDFileLockKind is the daemon's lock on its pidfile in /proc/locks.
	PIDFileLockKind = "FLOCK"

	// StopWaitsForExit: Stop returns once the daemon has exited (pidfd).
	StopWaitsForExit = true
)

// LockAsDaemon takes the lock a daemon takes on its pidfile, as any user
// who can open the file could.
func LockAsDaemon(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_EX) }
