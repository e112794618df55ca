//go:build linux

package daemon_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// TestPIDFileLockKind checks, in what the kernel lists in /proc/locks, that
// the daemon holds the lock of the implementation under test on its
// pidfile: a flock on the Linux fast path, a POSIX record lock of its
// first byte on the portable path (-tags gendaemon_portable), so that the
// suite run twice does test two implementations.
func TestPIDFileLockKind(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.start()
	h.waitEvent("init")
	var st unix.Stat_t
	if err := unix.Stat(h.pidFile(), &st); err != nil {
		t.Fatal(err)
	}
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Fatal(err)
	}
	// "1: FLOCK ADVISORY WRITE pid major:minor:inode 0 EOF"
	var held []string
	for line := range strings.Lines(string(locks)) {
		fields := strings.Fields(line)
		if len(fields) >= 8 && strings.HasSuffix(fields[5], fmt.Sprintf(":%d", st.Ino)) {
			held = append(held, strings.Join(fields[1:], " "))
		}
	}
	want := fmt.Sprintf("%s ADVISORY WRITE %d", daemon.PIDFileLockKind, pid)
	if len(held) != 1 || !strings.HasPrefix(held[0], want) {
		t.Fatalf("locks on the pidfile (inode %d): %q; want one, %q", st.Ino, held, want+" …")
	}
	if daemon.PIDFileLockKind == "POSIX" && !strings.HasSuffix(held[0], " 0 0") {
		t.Errorf("the daemon's record lock is %q, want its first byte (0 0)", held[0])
	}
}
