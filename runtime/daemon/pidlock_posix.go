//go:build unix && !(linux && !gendaemon_portable)

package daemon

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Where there is neither /proc/locks nor O_TMPFILE, the daemon's lock is a
// POSIX record lock (fcntl F_SETLK) on the pidfile's first byte, and F_GETLK
// names the process that holds it, on every Unix. Removers lock the second
// byte, which readers never ask about, so no reader mistakes a remover for a
// daemon.
//
// A POSIX lock belongs to the process and is released when the process
// closes any descriptor of the file, so the daemon never opens its own
// pidfile again once it holds it.
const (
	daemonLockByte  = 0
	removerLockByte = 1
)

// recordLock is a lock of one byte at offset.
func recordLock(typ int16, offset int64) *unix.Flock_t {
	return &unix.Flock_t{Type: typ, Whence: io.SeekStart, Start: offset, Len: 1}
}

// lockedTempFile creates an exclusively locked file in dir and returns its
// temporary name, under which nobody else looks for a pidfile.
func lockedTempFile(dir string) (*os.File, string, error) {
	name := filepath.Join(dir, fmt.Sprintf(".%d.%d.pid.tmp", os.Getpid(), time.Now().UnixNano()))
	fd, err := unix.Open(name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDWR|unix.O_CLOEXEC, pidFileMode)
	if err != nil {
		return nil, "", &os.PathError{Op: "create", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	fail := func(err error) (*os.File, string, error) {
		unix.Unlink(name)
		f.Close()
		return nil, "", err
	}
	if err := unix.Fchmod(fd, pidFileMode); err != nil {
		return fail(os.NewSyscallError("fchmod", err))
	}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_SETLK, recordLock(unix.F_WRLCK, daemonLockByte)); err != nil {
		return fail(os.NewSyscallError("fcntl F_SETLK", err))
	}
	return f, name, nil
}

// linkAt gives f, named tmpName, the name path. It fails with EEXIST if
// path exists, symbolic link or not.
func linkAt(_ *os.File, tmpName, path string) error {
	return os.Link(tmpName, path)
}

// lockOwner returns the pid of the process that holds the daemon's lock on
// f, as F_GETLK reports it; ErrDead if no process holds it. A read lock,
// which anyone who can read the file may take, is not the daemon's.
func lockOwner(f *os.File) (int, error) {
	lk := recordLock(unix.F_WRLCK, daemonLockByte)
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, lk); err != nil {
		return 0, &os.PathError{Op: "fcntl F_GETLK", Path: f.Name(), Err: err}
	}
	if lk.Type != unix.F_WRLCK {
		return 0, ErrDead
	}
	if lk.Pid <= 0 {
		// An open file description lock (Linux) names no process, and
		// neither does one held outside this pid namespace.
		return 0, fmt.Errorf("pidfile %s is locked by a lock that names no process (an open file description lock, or %v); refusing to trust it", f.Name(), errOtherNamespace)
	}
	return int(lk.Pid), nil
}

// locked reports whether a process holds the daemon's lock on f.
func locked(f *os.File) (bool, error) {
	lk := recordLock(unix.F_WRLCK, daemonLockByte)
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, lk); err != nil {
		return false, &os.PathError{Op: "fcntl F_GETLK", Path: f.Name(), Err: err}
	}
	return lk.Type == unix.F_WRLCK, nil
}

// tryRemovalLock takes the removers' write lock on f's second byte, without
// waiting.
func tryRemovalLock(f *os.File) error {
	return unix.FcntlFlock(f.Fd(), unix.F_SETLK, recordLock(unix.F_WRLCK, removerLockByte))
}
