//go:build linux

package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// identify tells who pid is from /proc: its effective uid from
// /proc/PID/status, which anyone may read, and whether it runs this program
// from /proc/PID/exe, which only its owner and root may follow. The program
// is the same if it is the same file, or the same path: a daemon whose
// binary was replaced by an upgrade runs the old file, deleted, under the
// path of the new one. ok is false if pid is gone or /proc is missing.
func identify(pid int) (id processIdentity, ok bool) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return id, false
	}
	id.uid = -1
	for line := range strings.Lines(string(status)) {
		if v, found := strings.CutPrefix(line, "Uid:"); found {
			if f := strings.Fields(v); len(f) >= 2 {
				id.uid, _ = strconv.Atoi(f[1])
			}
		}
	}
	exe := fmt.Sprintf("/proc/%d/exe", pid)
	var theirs, ours unix.Stat_t
	if unix.Stat(exe, &theirs) != nil || unix.Stat("/proc/self/exe", &ours) != nil {
		return id, true // not ours to inspect: the uid decides
	}
	id.exeKnown = true
	id.exe, _ = os.Readlink(exe)
	self, _ := os.Readlink("/proc/self/exe")
	id.sameExe = theirs.Dev == ours.Dev && theirs.Ino == ours.Ino ||
		id.exe != "" && strings.TrimSuffix(id.exe, " (deleted)") == strings.TrimSuffix(self, " (deleted)") ||
		theirs.Size == ours.Size && sameContent(exe, "/proc/self/exe")
	return id, true
}

// sameContent reports whether the files a and b hold the same bytes: a copy
// of this program, run from another path (the build directory, say, while
// the daemon runs the installed one), is this program.
func sameContent(a, b string) bool {
	fa, err := os.Open(a)
	if err != nil {
		return false
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false
	}
	defer fb.Close()
	bufA, bufB := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, errA := io.ReadFull(fa, bufA)
		nb, errB := io.ReadFull(fb, bufB)
		if na != nb || !bytes.Equal(bufA[:na], bufB[:nb]) {
			return false
		}
		if errA != nil || errB != nil {
			return errors.Is(errA, io.ErrUnexpectedEOF) || errors.Is(errA, io.EOF)
		}
	}
}

// sameProcessElsewhere reports whether holder, a pid in this namespace, is
// the process that its own, inner pid namespace calls pid: a daemon in a
// container wrote its pid there to the pidfile (NSpid lists the pid in each
// namespace, outermost first).
func sameProcessElsewhere(holder, pid int) bool {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", holder))
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(status)) {
		if v, found := strings.CutPrefix(line, "NSpid:"); found {
			f := strings.Fields(v)
			return len(f) > 1 && f[len(f)-1] == strconv.Itoa(pid)
		}
	}
	return false
}
