//go:build linux && gendaemon_portable

package daemon

import (
	"os"

	"golang.org/x/sys/unix"
)

// What the tests in package daemon_test expect of the portable path, which
// macOS and the BSDs take, run on Linux with -tags gendaemon_portable.
const (
	// PIDFileLockKind is the daemon's lock on its pidfile in /proc/locks.
	PIDFileLockKind = "POSIX"

	// StopWaitsForExit is false: Stop returns once the daemon has released
	// its pidfile's lock, a moment before it has exited.
	StopWaitsForExit = false
)

// LockAsDaemon takes the lock a daemon takes on its pidfile, as any user
// who can open the file for writing could.
func LockAsDaemon(f *os.File) error {
	return unix.FcntlFlock(f.Fd(), unix.F_SETLK, recordLock(unix.F_WRLCK, daemonLockByte))
}
