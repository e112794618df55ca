//go:build !gendaemon_portable

package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// On Linux the daemon's lock is a flock(2), whose holder /proc/locks names,
// on a file made with O_TMPFILE: the fast path. pidlock_posix.go is the
// portable one, which builds with the gendaemon_portable tag take here too.

// lockedTempFile creates an exclusively locked file in dir, unnamed where the
// file system supports O_TMPFILE; otherwise it returns its temporary name.
func lockedTempFile(dir string) (*os.File, string, error) {
	name := ""
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, pidFileMode)
	if err == nil && unix.Access("/proc/self/fd", unix.F_OK) != nil {
		// Without /proc (a chroot, a container without it) an unnamed
		// file cannot be linked (linkAt): use a named one, as the
		// fallback below does.
		unix.Close(fd)
		err = unix.EOPNOTSUPP
	}
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

// lockOwner returns the pid of the process that holds the exclusive flock
// on f, as /proc/locks names it, or 0 without /proc; ErrDead if no process
// holds it.
func lockOwner(f *os.File) (int, error) {
	held, err := locked(f)
	if err != nil {
		return 0, err
	}
	if !held {
		return 0, ErrDead
	}
	holder, err := flockHolder(f)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	return holder, err
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
			if pid, err := strconv.Atoi(fields[4]); err == nil && pid > 0 {
				return pid, nil
			}
		}
	}
	// /proc/locks leaves out the locks of processes this pid namespace
	// cannot see.
	return 0, fmt.Errorf("pidfile %s is locked, but /proc/locks lists no holder: %w", f.Name(), errOtherNamespace)
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

// tryRemovalLock takes the removers' OFD write lock on f, without waiting.
// flock(2) does not see OFD locks, so no reader mistakes a remover for a
// daemon.
func tryRemovalLock(f *os.File) error {
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	return unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
}
