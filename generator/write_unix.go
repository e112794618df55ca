//go:build unix

package generator

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// noFollow makes opening a symbolic link fail.
const noFollow = unix.O_NOFOLLOW

// lockFile takes an flock(2) lock on the open file f (a directory will
// do), exclusive or shared, waiting for whoever holds a conflicting one:
// regen takes the project's directory exclusively, check and diff shared,
// so that they never see each other's half-written files. The lock is the
// open file's: closing f releases it, and so does the process's death.
func lockFile(f *os.File, exclusive bool) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err := unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// tryLockFile is lockFile, exclusive, without waiting: it reports false
// if someone else holds a lock on f.
func tryLockFile(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// isNotEmpty reports whether err says a directory is not empty.
func isNotEmpty(err error) bool {
	return errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST)
}
