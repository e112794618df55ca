//go:build unix

package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// pidFileMode is the pidfile's mode, set explicitly so that umask 0 does not
// make it world-writable.
const pidFileMode = 0o644

// A pidFile is the daemon's pidfile, held open and exclusively locked for
// the daemon's whole life: with flock(2) on Linux, with a POSIX record lock
// elsewhere (pidlock_*.go). The lock, not the pid, says whether
// the daemon runs: the kernel drops it when the daemon exits, however it
// exits.
type pidFile struct {
	f    *os.File
	path string

	// unpublished is set while a staged pidfile (stagePIDFile) has not
	// got its name; staged is its temporary name, if it has one.
	unpublished bool
	staged      string
}

// createPIDFile writes this process's pid to cfg.PIDFile and locks it. The pid is
// written to an already locked file, unnamed where the platform allows,
// that is then linked at path, so
// nobody ever sees the path without a lock or with a partial pid, and two
// daemons racing for one path cannot both win. A stale pidfile, one that
// no daemon has locked (trust_unix.go), is replaced. If a running daemon
// holds path, it returns that daemon's pid and an error wrapping
// ErrAlreadyRunning.
func createPIDFile(cfg Config) (*pidFile, int, error) {
	path := cfg.PIDFile
	f, tmpName, err := lockedTempFile(filepath.Dir(path))
	if err != nil {
		return nil, 0, fmt.Errorf("pidfile %s: %w", path, err)
	}
	fail := func(pid int, err error) (*pidFile, int, error) {
		if tmpName != "" {
			unix.Unlink(tmpName)
		}
		f.Close()
		return nil, pid, err
	}
	if _, err := fmt.Fprintf(f, "%d\n", os.Getpid()); err != nil {
		return fail(0, fmt.Errorf("pidfile %s: %w", path, err))
	}
	if err := holdStartingLock(f); err != nil {
		return fail(0, fmt.Errorf("pidfile %s: %w", path, err))
	}
	// Each pass either links the file or removes a stale pidfile; a path that
	// keeps changing means another program is fighting over it.
	for range 8 {
		err := linkAt(f, tmpName, path)
		if err == nil {
			if tmpName != "" {
				unix.Unlink(tmpName)
			}
			return &pidFile{f: f, path: path}, 0, nil
		}
		if !errors.Is(err, unix.EEXIST) {
			return fail(0, fmt.Errorf("pidfile %s: %w", path, err))
		}
		pid, err := settledLockHolder(cfg)
		switch {
		case err == nil:
			return fail(pid, fmt.Errorf("%w (pid %d, pidfile %s)", ErrAlreadyRunning, pid, path))
		case errors.Is(err, ErrDead):
			if err := removeStalePIDFile(cfg); err != nil {
				return fail(0, err)
			}
		case errors.Is(err, ErrNotRunning):
			// Removed since the link failed: link again.
		default:
			return fail(0, err)
		}
	}
	return fail(0, fmt.Errorf("pidfile %s keeps changing; is another program writing it?", path))
}

// ready says that the daemon has started: it publishes a staged pidfile,
// and releases the starting lock (startup_unix.go) of any other. A nil p,
// no pidfile, is ready.
func (p *pidFile) ready() error {
	switch {
	case p == nil || p.f == nil:
		return nil
	case p.unpublished:
		return p.publish()
	}
	releaseStartingLock(p.f)
	return nil
}

// reclaim gives cfg.PIDFile back to this daemon if the path no longer
// names its pidfile: after an upgrade whose new daemon published its own
// and then failed. The old file cannot be linked again, so a new one is
// made, locked and renamed over the path; the old one is closed.
func (p *pidFile) reclaim(cfg Config) error {
	if p == nil || p.f == nil || sameFile(p.f, p.path) {
		return nil
	}
	q, err := stagePIDFile(cfg)
	if err == nil {
		err = q.publish()
	}
	if err != nil {
		q.remove()
		return err
	}
	p.f.Close()
	p.f = q.f
	return nil
}

// stagePIDFile writes this process's pid to a locked file beside
// cfg.PIDFile without giving it the name: for a daemon that replaces
// another (upgrade_unix.go), whose pidfile names the old daemon until the
// new one is ready (publish).
func stagePIDFile(cfg Config) (*pidFile, error) {
	f, tmpName, err := lockedTempFile(filepath.Dir(cfg.PIDFile))
	if err != nil {
		return nil, fmt.Errorf("pidfile %s: %w", cfg.PIDFile, err)
	}
	if _, err := fmt.Fprintf(f, "%d\n", os.Getpid()); err != nil {
		if tmpName != "" {
			unix.Unlink(tmpName)
		}
		f.Close()
		return nil, fmt.Errorf("pidfile %s: %w", cfg.PIDFile, err)
	}
	return &pidFile{f: f, path: cfg.PIDFile, unpublished: true, staged: tmpName}, nil
}

// publish gives a staged pidfile its name, in place of the pidfile there,
// in one rename: every reader finds either the old daemon's pidfile or
// this one, locked and complete. An unnamed file gets a temporary name
// first, since only a name can be renamed.
func (p *pidFile) publish() error {
	if p.staged == "" {
		// A name no one can plant in advance in a directory others may
		// write to.
		random, err := unguessable() // random_*.go
		if err != nil {
			return fmt.Errorf("pidfile %s: %w", p.path, err)
		}
		p.staged = filepath.Join(filepath.Dir(p.path), fmt.Sprintf(".%d.%s.pid.tmp", os.Getpid(), random))
		if err := linkAt(p.f, "", p.staged); err != nil {
			p.staged = ""
			return fmt.Errorf("pidfile %s: %w", p.path, err)
		}
	}
	if err := unix.Rename(p.staged, p.path); err != nil {
		return fmt.Errorf("pidfile %s: %w", p.path, os.NewSyscallError("rename", err))
	}
	p.staged, p.unpublished = "", false
	return nil
}

// remove deletes the pidfile if path still names it, then releases the
// lock. Only the first call does anything.
func (p *pidFile) remove() {
	if p == nil || p.f == nil {
		return
	}
	if p.staged != "" {
		unix.Unlink(p.staged)
	}
	if sameFile(p.f, p.path) {
		unix.Unlink(p.path)
	}
	p.f.Close()
	p.f = nil
}

// openPIDFile opens path with mode (O_RDONLY or O_RDWR) without following a
// symbolic link or blocking on a FIFO planted there, and checks that it is a
// regular file.
func openPIDFile(path string, mode int) (*os.File, error) {
	fd, err := unix.Open(path, mode|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, ErrNotRunning
	case errors.Is(err, unix.ELOOP):
		return nil, fmt.Errorf("pidfile %s is a symbolic link; refusing to use it", path)
	case err != nil:
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, fmt.Errorf("pidfile %s is not a regular file; refusing to use it", path)
	}
	return f, nil
}

// readPID parses the pid a daemon wrote to f: a positive decimal number, as
// this package writes it, with nothing but white space around it.
func readPID(f *os.File) (int, error) {
	var buf [32]byte
	n, err := unix.Pread(int(f.Fd()), buf[:], 0)
	if err != nil {
		return 0, &os.PathError{Op: "read", Path: f.Name(), Err: err}
	}
	text := string(bytes.TrimSpace(buf[:n]))
	pid, err := strconv.Atoi(text)
	if err != nil || pid <= 0 || n == len(buf) || strconv.Itoa(pid) != text {
		return 0, fmt.Errorf("pidfile %s is locked but holds no pid (%q)", f.Name(), buf[:n])
	}
	return pid, nil
}

// runningDaemon opens the pidfile cfg.PIDFile and returns it with the pid of
// the daemon that holds its lock. The caller closes the file; while it is open,
// the caller can call locked again to learn whether that daemon still runs.
// It returns ErrNotRunning without a pidfile and ErrDead with an unlocked one.
//
// Any user who can read a pidfile can lock it, so a lock alone does not make
// the pid in the file the daemon's: the pid must be the lock's holder, as
// the platform reports it (lockOwner), and a process that could be the
// daemon (foreignHolder); a lock held by another is ErrDead. A lock that
// went away meanwhile is ErrDead, as if it had never been seen.
func runningDaemon(cfg Config) (*os.File, int, error) {
	if cfg.PIDFile == "" {
		return nil, 0, ErrNoPIDFile
	}
	// An upgrade renames the new daemon's pidfile over the old one's, and
	// the old daemon exits soon after: a file found unlocked that the path
	// no longer names was the old daemon's, so look again.
	for range 8 {
		f, pid, err := readRunningDaemon(cfg)
		if !errors.Is(err, ErrDead) || f == nil {
			return f, pid, err
		}
		f.Close()
	}
	f, pid, err := readRunningDaemon(cfg)
	if f != nil {
		f.Close()
	}
	return nil, pid, err
}

// readRunningDaemon is one attempt of runningDaemon. With ErrDead it also
// returns the file, still open, if the path no longer names it.
func readRunningDaemon(cfg Config) (*os.File, int, error) {
	path := cfg.PIDFile
	f, err := openPIDFile(path, unix.O_RDONLY)
	if err != nil {
		return nil, 0, err
	}
	holder, err := lockOwner(f)
	if err == nil && holder != 0 {
		if reason := foreignHolder(f, holder, configuredUID(cfg)); reason != nil {
			err = fmt.Errorf("%w (%v)", ErrDead, reason)
		}
	}
	var pid int
	if err == nil {
		pid, err = readPID(f)
	}
	if err == nil && holder != 0 && holder != pid {
		if sameProcessElsewhere(holder, pid) {
			pid = holder // a daemon in a container, its pidfile seen from the host
		} else {
			err = fmt.Errorf("pidfile %s names pid %d, but pid %d holds its lock; refusing to trust it", path, pid, holder)
		}
	}
	if err != nil && !errors.Is(err, ErrDead) {
		if held, lerr := locked(f); lerr == nil && !held {
			err = ErrDead
		}
	}
	if err != nil {
		if errors.Is(err, ErrDead) && !sameFile(f, path) {
			return f, 0, err
		}
		f.Close()
		return nil, 0, err
	}
	return f, pid, nil
}

// lockHolder returns the pid of the daemon holding the pidfile cfg.PIDFile.
func lockHolder(cfg Config) (int, error) {
	f, pid, err := runningDaemon(cfg)
	if err != nil {
		return 0, err
	}
	f.Close()
	return pid, nil
}

// removeStalePIDFile removes the pidfile cfg.PIDFile unless a daemon holds
// it, and never the pidfile of a daemon that has just started in its place.
// A lock held by a process that cannot be the daemon (foreignHolder) does
// not keep the file. An empty path, no pidfile, is nothing to remove.
//
// A daemon locks its pidfile before the file gets its name, so a file found
// unlocked at path stays unlocked. Removers serialise on a lock of their own
// (lockForRemoval), which no reader mistakes for a daemon's, and unlink path
// only while it still names the file they locked: the inode is checked again
// after the lock is taken.
func removeStalePIDFile(cfg Config) error {
	path := cfg.PIDFile
	if path == "" {
		return nil // no pidfile configured
	}
	f, err := openPIDFile(path, unix.O_RDWR)
	if errors.Is(err, ErrNotRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if held, err := heldByDaemon(f, cfg); err != nil || held {
		return err
	}
	if err := lockForRemoval(f); err != nil {
		return err
	}
	if sameFile(f, path) {
		if err := unix.Unlink(path); err != nil && !errors.Is(err, unix.ENOENT) {
			return &os.PathError{Op: "remove", Path: path, Err: err}
		}
	}
	return nil
}

// heldByDaemon reports whether a process that could be the daemon holds
// the lock on f.
func heldByDaemon(f *os.File, cfg Config) (bool, error) {
	holder, err := lockOwner(f)
	switch {
	case errors.Is(err, ErrDead):
		return false, nil
	case err != nil:
		return false, err
	case holder == 0:
		return true, nil // nobody to check: a lock is a daemon
	}
	return foreignHolder(f, holder, configuredUID(cfg)) == nil, nil
}

// lockForRemoval takes the removers' lock on f (tryRemovalLock). Removers
// hold it for a moment; anyone who can read the pidfile could hold a
// conflicting read lock for ever, so it never blocks: it tries a few times
// over about a quarter of a second, then gives up.
func lockForRemoval(f *os.File) error {
	delay := time.Millisecond
	for {
		err := tryRemovalLock(f)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
			return &os.PathError{Op: "lock", Path: f.Name(), Err: err}
		}
		if delay > 128*time.Millisecond {
			return fmt.Errorf("pidfile %s is locked by another program; try again, or see who holds it (fuser, lsof)", f.Name())
		}
		time.Sleep(delay)
		delay *= 2
	}
}

// sameFile reports whether path names the file f has open.
func sameFile(f *os.File, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Lstat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}
