//go:build !unix

package generator

import "os"

// noFollow is not needed where there is no O_NOFOLLOW: os.Root already
// refuses links that leave the root, and O_EXCL refuses existing names.
const noFollow = 0

// lockFile does nothing where there is no flock(2): runs of gendaemon on
// one project are not serialised there.
func lockFile(*os.File, bool) error { return nil }

// tryLockFile always succeeds where there is no flock(2).
func tryLockFile(*os.File) (bool, error) { return true, nil }

// isNotEmpty reports whether err says a directory is not empty; without
// the errno, any error removing one is taken as that.
func isNotEmpty(err error) bool { return err != nil }
