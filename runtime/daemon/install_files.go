//go:build linux || darwin || freebsd

package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// errNotRegular: install found something other than a regular file, such
// as a symbolic link, where it reads or writes one.
var errNotRegular = errors.New("not a regular file")

// openDir opens the directory of the placement p: p.dir, then each
// directory of p.sub, relative to the one before and never through a
// symbolic link, creating those that are missing (mode 0755) if create is
// true. Each must belong to root or to the user who installs, and must not
// be writable by every user: whoever may change them could change what the
// service manager runs. The caller closes the descriptor.
func (pl *servicePlan) openDir(p placement, create bool) (int, error) {
	fd, err := unix.Open(pl.root+p.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: p.dir, Err: err}
	}
	if err := checkDirOwner(fd, p.dir); err != nil {
		unix.Close(fd)
		return -1, err
	}
	path := p.dir
	for _, name := range strings.FieldsFunc(p.sub, func(r rune) bool { return r == '/' }) {
		next, err := openSubdir(fd, name, create)
		unix.Close(fd)
		path = filepath.Join(path, name)
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			err = fmt.Errorf("not a directory, or a symbolic link, which install does not follow: %w", err)
		}
		if err != nil {
			return -1, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		if err := checkDirOwner(next, path); err != nil {
			unix.Close(next)
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// openSubdir opens the directory name in the directory dirfd, without
// following a symbolic link, creating it with mode 0755 if it is missing
// and create is true.
func openSubdir(dirfd int, name string, create bool) (int, error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(dirfd, name, flags, 0)
	if !errors.Is(err, unix.ENOENT) || !create {
		return fd, err
	}
	if err := unix.Mkdirat(dirfd, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, err
	}
	if fd, err = unix.Openat(dirfd, name, flags, 0); err != nil {
		return -1, err
	}
	if err := unix.Fchmod(fd, 0o755); err != nil { // whatever the umask
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// checkDirOwner refuses a directory that another user than root and the
// one who installs owns, or that every user may write to.
func checkDirOwner(fd int, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if uid := os.Geteuid(); st.Uid != 0 && int(st.Uid) != uid {
		return fmt.Errorf("%s belongs to uid %d, not to root or to uid %d, who installs: that user could change what the service manager runs", path, st.Uid, uid)
	}
	if st.Mode&0o002 != 0 {
		return fmt.Errorf("%s is writable by every user, who could change what the service manager runs", path)
	}
	return nil
}

// read returns the content of the regular file at p; a symbolic link, or
// anything else, is errNotRegular.
func (pl *servicePlan) read(p placement) ([]byte, error) {
	dirfd, err := pl.openDir(p, false)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirfd)
	data, _, err := readAt(dirfd, p.name)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: p.path(), Err: err}
	}
	return data, nil
}

// readAt returns the content and permission bits of the regular file name
// in the directory dirfd.
func readAt(dirfd int, name string) ([]byte, fs.FileMode, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) {
		return nil, 0, errNotRegular
	}
	if err != nil {
		return nil, 0, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, errNotRegular
	}
	data, err := io.ReadAll(f)
	return data, fi.Mode().Perm(), err
}

// write puts data, with mode whatever the umask, at p, unless a regular
// file with that content and mode is there already, and reports whether it
// wrote. It writes a new file beside the old (O_EXCL|O_NOFOLLOW: never
// through a symbolic link) and renames it over the old, which replaces a
// symbolic link rather than what it points to, so that p never holds part
// of data.
func (pl *servicePlan) write(p placement, data []byte, mode fs.FileMode, out io.Writer) (bool, error) {
	dirfd, err := pl.openDir(p, true)
	if err != nil {
		return false, err
	}
	defer unix.Close(dirfd)
	if old, oldMode, err := readAt(dirfd, p.name); err == nil && oldMode == mode && bytes.Equal(old, data) {
		fmt.Fprintf(out, "installed %s (unchanged)\n", p.path())
		return false, nil
	}
	if err := writeAt(dirfd, p.name, data, mode); err != nil {
		return false, &fs.PathError{Op: "write", Path: p.path(), Err: err}
	}
	fmt.Fprintf(out, "installed %s\n", p.path())
	return true, nil
}

// writeAt writes data to a new file beside name in the directory dirfd and
// renames it to name.
func writeAt(dirfd int, name string, data []byte, mode fs.FileMode) error {
	tmp := "." + name + ".gendaemon-install"
	unix.Unlinkat(dirfd, tmp, 0) // a crashed install's; never followed
	fd, err := unix.Openat(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(mode))
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = unix.Renameat(dirfd, tmp, dirfd, name)
	}
	if err == nil {
		err = unix.Fsync(dirfd)
	}
	if err != nil {
		unix.Unlinkat(dirfd, tmp, 0)
	}
	return err
}

// remove removes the file at p, if there is one.
func (pl *servicePlan) remove(p placement, out io.Writer) error {
	dirfd, err := pl.openDir(p, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	switch err := unix.Unlinkat(dirfd, p.name, 0); {
	case errors.Is(err, unix.ENOENT):
		return nil
	case err != nil:
		return &fs.PathError{Op: "remove", Path: p.path(), Err: err}
	}
	fmt.Fprintf(out, "removed %s\n", p.path())
	return nil
}
