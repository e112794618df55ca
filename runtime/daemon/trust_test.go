//go:build linux

package daemon_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// A stranger is a process that takes a daemon's lock on a pidfile without
// being the daemon: run as another user, or another program, or both.
type stranger struct {
	pid    int
	locked bool   // whether it got the lock
	out    string // what it said if it did not
}

// strangerBinary copies the test binary where nobody can run it: another
// file, so another program as /proc/PID/exe tells.
func strangerBinary(t *testing.T, h *harness) string {
	t.Helper()
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	// Another program: the same code with bytes of its own at the end
	// (which the loader ignores), so that it is not a copy of this one.
	bin = append(bin, "another program"...)
	exe := filepath.Join(h.dir, "stranger")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	h.openToOthers()
	return exe
}

// lockAs starts exe as a locker of path, as nobody if asNobody, and returns
// once it holds the lock or has failed to take it. The test ends it.
func lockAs(t *testing.T, exe, path string, asNobody bool) stranger {
	t.Helper()
	cmd := exec.Command(exe)
	if asNobody {
		cmd = exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe)
	}
	cmd.Env = append(os.Environ(), roleEnv+"=locker", lockEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		stdin.Close()
		endProcess(t, pid)
		cmd.Wait()
	})
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		cmd.Wait()
		return stranger{pid: pid, out: line + stderr.String()}
	}
	return stranger{pid: pid, locked: true}
}

// writePID puts pid in the pidfile at path, as a daemon would have.
func writePID(t *testing.T, path string, pid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkForeign checks that the daemon's commands take the pidfile, locked
// by s, for a stale one: nothing runs, nothing is signalled, and start
// replaces the file with a daemon of its own.
func checkForeign(t *testing.T, h *harness, s stranger) {
	t.Helper()
	cfg := h.daemonConfig()
	if pid, err := daemon.Status(cfg); !errors.Is(err, daemon.ErrDead) {
		t.Errorf("Status = %d, %v; want ErrDead: the lock's holder %d is not the daemon", pid, err, s.pid)
	}
	if pid, err := daemon.Reload(cfg); !errors.Is(err, daemon.ErrDead) {
		t.Errorf("Reload = %d, %v; want ErrDead", pid, err)
	}
	if st := readStat(t, s.pid); st.state == "Z" {
		t.Fatalf("the stranger %d was signalled", s.pid)
	}
	var before unix.Stat_t
	if err := unix.Stat(h.pidFile(), &before); err != nil {
		t.Fatal(err)
	}
	pid, out := h.start()
	if strings.Contains(out, "running") {
		t.Fatalf("start took the stranger for the daemon:\n%s", out)
	}
	h.waitEvent("init")
	if got, err := daemon.Status(cfg); err != nil || got != pid {
		t.Errorf("Status after start = %d, %v; want %d, nil", got, err, pid)
	}
	var after unix.Stat_t
	if err := unix.Stat(h.pidFile(), &after); err != nil || after.Ino == before.Ino {
		t.Errorf("start did not replace the stranger's pidfile (inode %d, then %d, %v)", before.Ino, after.Ino, err)
	}
	if st := readStat(t, s.pid); st.state == "Z" {
		t.Errorf("the stranger %d was signalled", s.pid)
	}
}

// TestForeignLockHolder has other users and other programs lock the
// pidfile, as the hostile review did: none of them may pass for the
// daemon, be signalled, or keep the daemon from starting.
func TestForeignLockHolder(t *testing.T) {
	t.Run("nobody locks a dead daemon's pidfile", func(t *testing.T) {
		h := newHarness(t)
		exe := strangerBinary(t, h)
		pid, _ := h.start()
		h.waitEvent("init")
		endProcess(t, pid) // an unclean exit: the pidfile stays
		s := lockAs(t, exe, h.pidFile(), true)
		if !s.locked {
			// A POSIX write lock needs write access, which nobody lacks.
			if daemon.PIDFileLockKind == "FLOCK" {
				t.Fatalf("nobody could not flock a readable pidfile: %s", s.out)
			}
			return
		}
		checkForeign(t, h, s)
	})
	t.Run("nobody locks with its own pid in the file", func(t *testing.T) {
		h := newHarness(t)
		exe := strangerBinary(t, h)
		writePID(t, h.pidFile(), 1)
		s := lockAs(t, exe, h.pidFile(), true)
		if !s.locked {
			if daemon.PIDFileLockKind == "FLOCK" {
				t.Fatalf("nobody could not flock a readable pidfile: %s", s.out)
			}
			return
		}
		writePID(t, h.pidFile(), s.pid) // the dead daemon's pid, recycled
		if _, _, err := daemon.Stop(h.daemonConfig(), time.Second); !errors.Is(err, daemon.ErrDead) {
			t.Errorf("Stop = %v, want ErrDead", err)
		}
		if _, err := os.Lstat(h.pidFile()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Stop left the stale pidfile: %v", err)
		}
		writePID(t, h.pidFile(), s.pid)
		s = lockAs(t, exe, h.pidFile(), true)
		writePID(t, h.pidFile(), s.pid)
		checkForeign(t, h, s)
	})
	t.Run("nobody plants a pidfile in a sticky directory", func(t *testing.T) {
		h := newHarness(t)
		exe := strangerBinary(t, h)
		public := filepath.Join(h.dir, "public")
		if err := os.Mkdir(public, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(public, 0o777|os.ModeSticky); err != nil {
			t.Fatal(err)
		}
		h.config["PIDFile"] = filepath.Join(public, "testd.pid")
		writePID(t, h.pidFile(), 1)
		if err := os.Chown(h.pidFile(), 65534, 65534); err != nil {
			t.Fatal(err)
		}
		s := lockAs(t, exe, h.pidFile(), true)
		if !s.locked {
			t.Fatalf("nobody could not lock its own file: %s", s.out)
		}
		writePID(t, h.pidFile(), s.pid)
		checkForeign(t, h, s)
	})
	t.Run("another program of root", func(t *testing.T) {
		h := newHarness(t)
		exe := strangerBinary(t, h)
		writePID(t, h.pidFile(), 1)
		s := lockAs(t, exe, h.pidFile(), false)
		if !s.locked {
			t.Fatalf("root could not lock the pidfile: %s", s.out)
		}
		writePID(t, h.pidFile(), s.pid)
		checkForeign(t, h, s)
	})
}

// TestStopAfterUserChanged stops a daemon that runs as nobody with a
// program whose configured user is another (gendaemon regen after user
// was changed, then go build, then restart). Stop may refuse, but must not
// say that nothing runs, remove the pidfile and leave the daemon running,
// for the start that follows would then run a second one.
func TestStopAfterUserChanged(t *testing.T) {
	h := newHarness(t)
	h.openToOthers()
	h.config["WorkDir"] = "/"
	h.config["User"] = "nobody"
	pid, _ := h.start()
	h.waitEvent("init")
	cfg := h.daemonConfig()
	cfg.User = "daemon"
	_, _, err := daemon.Stop(cfg, 10*time.Second)
	if err == nil && !daemon.StopWaitsForExit {
		// Stop saw the lock go, which the daemon drops as it exits.
		waitExit(t, pid, 5*time.Second)
	}
	if _, statErr := os.Stat(fmt.Sprintf("/proc/%d", pid)); statErr == nil && readStat(t, pid).state != "Z" {
		if _, pidfileErr := os.Stat(h.pidFile()); pidfileErr != nil || err == nil || errors.Is(err, daemon.ErrDead) {
			t.Errorf("Stop returned %v and left the daemon %d running (pidfile: %v); want it stopped, or a refusal that keeps its pidfile", err, pid, pidfileErr)
		}
	}
}

// TestStopFromCopiedBinary stops a daemon with a byte-identical copy of
// its program at another path, as /usr/local/bin/NAME is after the
// install the unit, rc script and logrotate file describe: stop must not
// report that nothing runs and remove the pidfile of the daemon, which
// goes on running.
func TestStopFromCopiedBinary(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.start()
	h.waitEvent("init")
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(h.dir, "copy")
	if err := os.WriteFile(copied, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(copied, "stop", "--pidfile", h.pidFile())
	cmd.Env = h.command("main").Env
	out, err := cmd.CombinedOutput()
	if err == nil && !daemon.StopWaitsForExit {
		// Stop saw the lock go, which the daemon drops as it exits.
		waitExit(t, pid, 5*time.Second)
	}
	if _, statErr := os.Stat(fmt.Sprintf("/proc/%d", pid)); statErr == nil && readStat(t, pid).state != "Z" {
		if _, pidfileErr := os.Stat(h.pidFile()); pidfileErr != nil || err == nil {
			t.Errorf("stop from a copy of the program (%v) left the daemon %d running (pidfile: %v); want it stopped, or a refusal that keeps its pidfile:\n%s", err, pid, pidfileErr, out)
		}
	}
}
