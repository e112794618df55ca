//go:build linux

package daemon_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
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

// TestLogrotateAsUser rotates, with logrotate itself, the log of a daemon
// that switched to nobody, its log directory missing at start: start must
// create it for nobody, and after the rotation and reload the daemon must
// log to the new file, whether logrotate creates it (create, as the
// generated snippet says) or the daemon must (nocreate).
func TestLogrotateAsUser(t *testing.T) {
	for _, create := range []string{"create 0640 nobody nogroup", "nocreate"} {
		t.Run(create, func(t *testing.T) {
			h := newHarness(t)
			h.openToOthers()
			h.config["WorkDir"] = "/"
			h.config["User"] = "nobody"
			logDir := filepath.Join(h.dir, "log")
			logFile := filepath.Join(logDir, "testd.log")
			h.config["LogFile"] = logFile
			h.start()
			h.waitEvent("init")
			var st unix.Stat_t
			if err := unix.Stat(logDir, &st); err != nil {
				t.Fatalf("start did not create the log directory: %v", err)
			}
			if st.Uid != 65534 || st.Gid != 65534 || st.Mode&0o7777 != 0o755 {
				t.Errorf("log directory: uid %d, gid %d, mode %o; want nobody's, nogroup's, 0755", st.Uid, st.Gid, st.Mode&0o7777)
			}
			// The reload in postrotate is the daemon's own command.
			conf := filepath.Join(h.dir, "logrotate.conf")
			script := fmt.Sprintf("%s {\n\t%s\n\trotate 2\n\tpostrotate\n\t\t%s reload\n\tendscript\n}\n", logFile, create, os.Args[0])
			if err := os.WriteFile(conf, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			rotate := exec.Command("logrotate", "--force", "--state", filepath.Join(h.dir, "logrotate.state"), conf)
			rotate.Env = h.command("main").Env
			if out, err := rotate.CombinedOutput(); err != nil {
				t.Fatalf("logrotate: %v\n%s", err, out)
			}
			h.waitEvent("reload")
			fresh, err := os.ReadFile(logFile)
			if err != nil {
				t.Fatalf("no log file after the rotation: %v", err)
			}
			if !strings.Contains(string(fresh), "msg=reloading") {
				t.Errorf("the new log lacks the reload's line:\n%s", fresh)
			}
			if rotated, _ := os.ReadFile(logFile + ".1"); strings.Contains(string(rotated), "msg=reloading") {
				t.Errorf("the reload was logged to the rotated file:\n%s", rotated)
			}
		})
	}
}

// TestLogDirNotWritable starts a daemon that switches to nobody with its
// log in a directory only root may write: start must refuse, saying why,
// instead of failing at the first rotation.
func TestLogDirNotWritable(t *testing.T) {
	h := newHarness(t)
	h.openToOthers()
	h.config["WorkDir"] = "/"
	h.config["User"] = "nobody"
	logDir := filepath.Join(h.dir, "log")
	if err := os.Mkdir(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.config["LogFile"] = filepath.Join(logDir, "testd.log")
	out, err := h.refusedStart()
	if err == nil || !strings.Contains(out, "not writable by user nobody") {
		t.Errorf("start: %v\n%s\nwant a refusal naming the directory", err, out)
	}
	if _, err := os.Lstat(h.pidFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile left after a refused start: %v", err)
	}
}

// TestRestartAsUserLogInStickyDir starts, stops and starts again a daemon
// that switches to nobody and logs into a sticky directory open to all
// (as /tmp is). The first start gives the log file to nobody; the second
// must not then refuse the file as one that a stranger planted, or a
// restart leaves the service down.
func TestRestartAsUserLogInStickyDir(t *testing.T) {
	h := newHarness(t)
	h.openToOthers()
	h.config["WorkDir"] = "/"
	h.config["User"] = "nobody"
	sticky := filepath.Join(h.dir, "tmp")
	if err := os.Mkdir(sticky, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Chmod(sticky, 0o1777); err != nil {
		t.Fatal(err)
	}
	h.config["LogFile"] = filepath.Join(sticky, "testd.log")
	first, _ := h.start()
	h.waitEvent("init")
	if _, _, err := daemon.Stop(h.daemonConfig(), 10*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	h.waitEvent("serve cancelled")
	waitExit(t, first, 10*time.Second)
	out, err := h.refusedStart()
	if err != nil {
		t.Fatalf("the second start, of the log file the first gave to nobody, failed: %v\n%s", err, out)
	}
	h.startedPID(out)
	h.waitEvent("init")
}
