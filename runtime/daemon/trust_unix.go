//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Anyone who can read a pidfile can lock it (flock(2) needs only read
// access), and anyone can create one in a directory open to all, such as
// /tmp. A lock on the pidfile is therefore the daemon's only if its holder
// could be the daemon, as start-stop-daemon's --exec and --user ask: the
// pidfile belongs to a user the daemon's files can belong to, the holder
// runs as that user or as the configured one, and it runs this program. A
// lock held by anyone else makes the pidfile stale: status says the daemon
// is not running, stop and reload signal nothing, and start replaces the
// file.

// configuredUID returns the uid of cfg.User, or -1 without one (or if it
// cannot be found, in which case the daemon cannot start anyway).
func configuredUID(cfg Config) int {
	if cfg.User == "" {
		return -1
	}
	a, err := lookupUser(cfg.User)
	if err != nil {
		return -1
	}
	return a.uid
}

// foreignHolder returns why holder, the process holding the lock on the
// pidfile f, cannot be this program's daemon, or nil if it can be (or this
// cannot be told, as without /proc). user is the configured user's uid, or
// -1.
func foreignHolder(f *os.File, holder, user int) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return &os.PathError{Op: "stat", Path: f.Name(), Err: err}
	}
	owner := int(st.Uid)
	if owner != 0 && owner != os.Geteuid() && owner != user {
		return fmt.Errorf("pidfile %s belongs to uid %d, a user this daemon does not run as", f.Name(), owner)
	}
	id, ok := identify(holder)
	if !ok {
		return nil
	}
	if owner == 0 && id.exeKnown && id.sameExe {
		// A pidfile root created, locked by this program: a daemon root
		// started, which switched to its user, perhaps one the daemon's
		// configuration has named differently since. Only the daemon takes
		// such a lock: this program never locks a file it did not create.
		return nil
	}
	if id.uid != owner && id.uid != user {
		return fmt.Errorf("pid %d, which holds the lock of pidfile %s, runs as uid %d, not as the daemon's user", holder, f.Name(), id.uid)
	}
	if id.exeKnown && !id.sameExe {
		return fmt.Errorf("pid %d, which holds the lock of pidfile %s, runs %s, not this program", holder, f.Name(), id.exe)
	}
	return nil
}

// A processIdentity is who a process is, as far as trusting its lock goes.
type processIdentity struct {
	uid      int    // effective uid
	exe      string // the program it runs, for messages
	exeKnown bool   // whether its program could be compared with this one
	sameExe  bool   // whether it runs this program
}

// errOtherNamespace: the kernel names no process for the pidfile's lock
// because its holder is outside this pid namespace, as a daemon on the host
// is for a command run in a container.
var errOtherNamespace = errors.New("the process that holds the lock is in another pid namespace (a container's host, or another container), where this command can neither see nor signal it; run the command there")
