//go:build linux

package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// TestCrashOutputOnce makes Serve panic in a daemon with a log file: the
// panic must be in the log once, readable, not written twice and
// interleaved ("panic: panic: ...").
func TestCrashOutputOnce(t *testing.T) {
	h := newHarness(t)
	logFile := filepath.Join(h.dir, "testd.log")
	h.config["LogFile"] = logFile
	pid, _ := h.start(serveEnv + "=panic")
	h.waitEvent("init")
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pidfd)
	if _, _, err := daemon.Stop(h.daemonConfig(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !exited(pidfd, 10*time.Second) {
		t.Fatal("daemon did not exit")
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if n := strings.Count(log, "panic: serve panics"); n != 1 {
		t.Errorf("the panic is in the log %d times, want once:\n%s", n, log)
	}
	if strings.Contains(log, "panic: panic:") || strings.Contains(log, "goroutine goroutine") {
		t.Errorf("crash output written twice, interleaved:\n%s", log)
	}
	if n := strings.Count(log, "[running]:"); n != 1 {
		t.Errorf("the panicking goroutine's stack is in the log %d times, want once:\n%s", n, log)
	}
}
