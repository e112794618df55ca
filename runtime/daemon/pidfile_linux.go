package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// pidFileMode is the pidfile's mode, set explicitly so that umask 0 does not
// make it world-writable.
const pidFileMode = 0o644

// A pidFile is the daemon's pidfile, held open and exclusively locked
// (flock) for the daemon's whole life. The lock, not the pid, says whether
// the daemon runs: the kernel drops it when the daemon exits, however it
// exits.
type pidFile struct {
	f    *os.File
	path string
}

// createPIDFile writes this process's pid to path and locks it. The pid is
// written to an unnamed, already locked file that is then linked at path, so
// nobody ever sees the path without a lock or with a partial pid, and two
// daemons racing for one path cannot both win. A stale pidfile, one that
// nobody has locked, is replaced. If a running daemon holds path, it returns
// that daemon's pid and an error wrapping ErrAlreadyRunning.
func createPIDFile(path string) (*pidFile, int, error) {
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
		pid, err := lockHolder(path)
		switch {
		case err == nil:
			return fail(pid, fmt.Errorf("%w (pid %d, pidfile %s)", ErrAlreadyRunning, pid, path))
		case errors.Is(err, ErrDead):
			if err := removeStalePIDFile(path); err != nil {
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

// lockedTempFile creates an exclusively locked file in dir, unnamed where the
// file system supports O_TMPFILE; otherwise it returns its temporary name.
func lockedTempFile(dir string) (*os.File, string, error) {
	name := ""
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, pidFileMode)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EROFS) {
			return nil, "", &os.PathError{Op: "create", Path: dir, Err: err}
		}
		// No O_TMPFILE here (EOPNOTSUPP, or EISDIR before Linux 3.11).
		name = filepath.Join(dir, fmt.Sprintf(".%d.pid.tmp", os.Getpid()))
		fd, err = unix.Open(name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDWR|unix.O_CLOEXEC, pidFileMode)
		if err != nil {
			return nil, "", &os.PathError{Op: "create", Path: name, Err: err}
		}
	}
	f := os.NewFile(uintptr(fd), dir)
	if err := unix.Fchmod(fd, pidFileMode); err != nil {
		f.Close()
		return nil, "", os.NewSyscallError("fchmod", err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, "", os.NewSyscallError("flock", err)
	}
	return f, name, nil
}

// linkAt gives f, an unnamed file or one named tmpName, the name path. It
// fails with EEXIST if path exists, symbolic link or not.
func linkAt(f *os.File, tmpName, path string) error {
	if tmpName != "" {
		return os.NewSyscallError("link", unix.Link(tmpName, path))
	}
	src := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	return os.NewSyscallError("linkat", unix.Linkat(unix.AT_FDCWD, src, unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW))
}

// remove deletes the pidfile if path still names it, then releases the
// lock. Only the first call does anything.
func (p *pidFile) remove() {
	if p.f == nil {
		return
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

// locked reports whether a daemon holds the exclusive lock on f. A shared
// lock, which readers like this one take for a moment, does not count.
func locked(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	switch {
	case err == nil:
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return false, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		return true, nil
	default:
		return false, &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
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

// runningDaemon opens the pidfile at path and returns it with the pid of the
// daemon that holds its lock. The caller closes the file; while it is open,
// the caller can call locked again to learn whether that daemon still runs.
// It returns ErrNotRunning without a pidfile and ErrDead with an unlocked one.
func runningDaemon(path string) (*os.File, int, error) {
	if path == "" {
		return nil, 0, ErrNoPIDFile
	}
	f, err := openPIDFile(path, unix.O_RDONLY)
	if err != nil {
		return nil, 0, err
	}
	held, err := locked(f)
	if err == nil && !held {
		err = ErrDead
	}
	var pid int
	if err == nil {
		pid, err = readPID(f)
	}
	if err == nil {
		err = checkLockHolder(f, pid)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, pid, nil
}

// checkLockHolder makes sure that pid is the process that took the lock on
// f. Any user who can read a pidfile can lock it, so a lock alone does not
// make the pid in the file the daemon's: /proc/locks names the process that
// took each flock. A lock that went away meanwhile is ErrDead, as if it had
// never been seen. Without /proc there is nothing to check against.
func checkLockHolder(f *os.File, pid int) error {
	holder, err := flockHolder(f)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil && holder == pid {
		return nil
	}
	if held, lerr := locked(f); lerr == nil && !held {
		return ErrDead
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("pidfile %s names pid %d, but pid %d holds its lock; refusing to trust it", f.Name(), pid, holder)
}

// flockHolder returns the pid of the process that holds the exclusive
// flock(2) on f, as /proc/locks lists it: "1: FLOCK ADVISORY WRITE pid
// major:minor:inode 0 EOF", the device numbers in hex. /proc/locks names
// the file system's device, which on btrfs is not the st_dev of the file,
// so the device comes from the file's mount in /proc/self/mountinfo.
func flockHolder(f *os.File) (int, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, &os.PathError{Op: "stat", Path: f.Name(), Err: err}
	}
	major, minor := unix.Major(st.Dev), unix.Minor(st.Dev)
	if mj, mn, ok := mountDevice(f); ok {
		major, minor = mj, mn
	}
	id := fmt.Sprintf("%02x:%02x:%d", major, minor, st.Ino)
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(locks)) {
		fields := strings.Fields(line)
		if len(fields) >= 6 && fields[1] == "FLOCK" && fields[3] == "WRITE" && fields[5] == id {
			if pid, err := strconv.Atoi(fields[4]); err == nil {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("pidfile %s: no exclusive lock on it in /proc/locks", f.Name())
}

// mountDevice returns the device numbers of the file system f is on, as
// /proc/self/mountinfo gives them for f's mount (mnt_id in fdinfo).
func mountDevice(f *os.File) (major, minor uint32, ok bool) {
	info, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return 0, 0, false
	}
	var mntID string
	for line := range strings.Lines(string(info)) {
		if v, found := strings.CutPrefix(line, "mnt_id:"); found {
			mntID = strings.TrimSpace(v)
		}
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if mntID == "" || err != nil {
		return 0, 0, false
	}
	for line := range strings.Lines(string(mounts)) {
		// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw"
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != mntID {
			continue
		}
		mj, mn, found := strings.Cut(fields[2], ":")
		a, err1 := strconv.ParseUint(mj, 10, 32)
		b, err2 := strconv.ParseUint(mn, 10, 32)
		if !found || err1 != nil || err2 != nil {
			return 0, 0, false
		}
		return uint32(a), uint32(b), true
	}
	return 0, 0, false
}

// lockHolder returns the pid of the daemon holding the pidfile at path.
func lockHolder(path string) (int, error) {
	f, pid, err := runningDaemon(path)
	if err != nil {
		return 0, err
	}
	f.Close()
	return pid, nil
}

// removeStalePIDFile removes the pidfile at path unless a daemon holds it,
// and never the pidfile of a daemon that has just started in its place. An
// empty path, no pidfile, is nothing to remove.
//
// A daemon locks its pidfile before the file gets its name, so a file found
// unlocked at path stays unlocked. Removers serialise on an OFD record lock
// on it, which flock(2) does not see (so no reader mistakes a remover for a
// daemon), and unlink path only while it still names the file they locked.
func removeStalePIDFile(path string) error {
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
	if held, err := locked(f); err != nil || held {
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

// lockForRemoval takes the removers' OFD write lock on f. Removers hold it
// for a moment; anyone who can read the pidfile could hold a conflicting
// read lock for ever, so it never blocks: it tries a few times over about a
// quarter of a second, then gives up.
func lockForRemoval(f *os.File) error {
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	delay := time.Millisecond
	for {
		err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
			return &os.PathError{Op: "lock", Path: f.Name(), Err: err}
		}
		if delay > 128*time.Millisecond {
			return fmt.Errorf("pidfile %s is locked by another program; try again, or see who holds it in /proc/locks", f.Name())
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
