//go:build unix

package daemon

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// The start record is a file beside the pidfile, PIDFILE.args, that the
// launcher of a start writes once the daemon is ready: the daemon's pid
// and the command line it was started with. restart reads it to keep the
// service's flags. The daemon itself never holds it open, so a daemon that
// dropped privileges cannot rewrite it, as it can its own command line.
// Its format is the pid on the first line, then each argument ended by NUL.

// startRecordMode lets only its owner read the record: flags may hold
// secrets.
const startRecordMode = 0o600

// startRecordPath is where the record of a daemon with pidfile lives.
func startRecordPath(pidFile string) string { return pidFile + ".args" }

// writeStartRecord records that pid was started with args, replacing any
// record there, through a new file renamed over it.
func writeStartRecord(pidFile string, pid int, args []string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n", pid)
	for _, arg := range args {
		b.WriteString(arg)
		b.WriteByte(0)
	}
	path := startRecordPath(pidFile)
	tmp := path + ".tmp"
	os.Remove(tmp) // a crashed start's
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, startRecordMode)
	if err != nil {
		return err
	}
	_, err = f.Write(b.Bytes())
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		// A record is left there when the daemon ended without stop
		// (which removes it); it names that daemon, which no restart
		// trusts any more. Removing it first makes the rename a plain
		// one: ext4 (auto_da_alloc, on by default) writes the new file's
		// data out before it renames it over an existing file, 0.1-1 ms
		// on the critical path of such a start. A directory there is
		// left alone, and the rename then fails.
		unix.Unlink(path)
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// readStartRecord returns the command line recorded for the daemon with
// pid. It trusts a record only if this user, or root, owns it, no one else
// may write it, and it names pid: a record someone else could have written,
// or one of an earlier daemon, is refused.
func readStartRecord(pidFile string, pid int) ([]string, error) {
	path := startRecordPath(pidFile)
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, os.NewSyscallError("fstat", err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, fmt.Errorf("%s is not a regular file", path)
	case int(st.Uid) != os.Geteuid() && st.Uid != 0:
		return nil, fmt.Errorf("%s belongs to user %d", path, st.Uid)
	case st.Mode&0o022 != 0:
		return nil, fmt.Errorf("%s may be written by others", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	line, rest, ok := bytes.Cut(data, []byte("\n"))
	if recorded, err := strconv.Atoi(string(line)); !ok || err != nil || recorded != pid {
		return nil, fmt.Errorf("%s records another daemon than pid %d", path, pid)
	}
	var args []string
	for len(rest) > 0 {
		arg, after, ok := bytes.Cut(rest, []byte{0})
		if !ok {
			return nil, fmt.Errorf("%s is cut short", path)
		}
		args = append(args, string(arg))
		rest = after
	}
	return args, nil
}

// removeStartRecord removes the record of a daemon that is gone, if there
// is one; without a pidfile there is none.
func removeStartRecord(pidFile string) {
	if pidFile != "" {
		os.Remove(startRecordPath(pidFile))
	}
}
