//go:build linux

package daemon_test

import (
	"bufio"
	"context"
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

// TestPIDFileLockedByStranger holds the lock on a pidfile that names an
// unrelated live process, as any user who can read a pidfile could: the
// lock must not make that pid the daemon's.
func TestPIDFileLockedByStranger(t *testing.T) {
	victim := exec.Command("sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Process.Kill(); victim.Wait() })
	h := newHarness(t)
	cfg := h.daemonConfig()
	if err := os.WriteFile(h.pidFile(), []byte(strconv.Itoa(victim.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lockAsStranger(t, h.pidFile())
	if _, err := daemon.Status(cfg); err == nil || !strings.Contains(err.Error(), "holds its lock") {
		t.Errorf("Status = %v, want a refusal: the lock holder is not the pid in the file", err)
	}
	if _, err := daemon.Reload(cfg); err == nil {
		t.Errorf("Reload succeeded, want a refusal")
	}
	if _, _, err := daemon.Stop(cfg, 100*time.Millisecond); err == nil {
		t.Errorf("Stop succeeded, want a refusal")
	}
	if st := readStat(t, victim.Process.Pid); st.state == "Z" {
		t.Errorf("the unrelated process %d was signalled", victim.Process.Pid)
	}
}

// lockAsStranger starts a process that takes a daemon's lock on path, and
// returns once it holds it. The test ends it.
func lockAsStranger(t *testing.T, path string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), roleEnv+"=locker", lockEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		endProcess(t, cmd.Process.Pid)
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("locker said %q, %v; want \"locked\"", line, err)
	}
}

// TestStalePIDFileReadLocked puts a read lock, which reading a pidfile
// allows, on a stale pidfile: removing it must give up, not wait for ever.
func TestStalePIDFileReadLocked(t *testing.T) {
	h := newHarness(t)
	if err := os.WriteFile(h.pidFile(), []byte("999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(h.pidFile())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_RDLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		t.Fatal(err)
	}
	out, err := h.refusedStart()
	if err == nil || !strings.Contains(out, "locked by another program") {
		t.Errorf("start: %v\n%s\nwant a refusal naming the lock", err, out)
	}
	if _, _, err := daemon.Stop(h.daemonConfig(), time.Second); !errors.Is(err, daemon.ErrDead) {
		t.Errorf("Stop = %v, want ErrDead", err)
	}
}

// TestPlantedLogFiles plants what an attacker could at the log file's path:
// a FIFO would block the daemon for ever, a hard link would make it write to
// another file. Both are refused, quickly.
func TestPlantedLogFiles(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		plant      func(path, victim string) error
	}{
		{"fifo", "not a regular file", func(path, _ string) error { return unix.Mkfifo(path, 0o666) }},
		{"hard link", "hard links", func(path, victim string) error { return os.Link(victim, path) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			victim := filepath.Join(h.dir, "victim")
			if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			logFile := filepath.Join(h.dir, "testd.log")
			if err := tc.plant(logFile, victim); err != nil {
				t.Fatal(err)
			}
			h.config["LogFile"] = logFile
			out, err := h.refusedStart()
			if err == nil || !strings.Contains(out, tc.want) {
				t.Errorf("start: %v\n%s\nwant a refusal (%s)", err, out, tc.want)
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
				t.Errorf("the victim was written: %q", b)
			}
		})
	}
}

// TestRelativePaths refuses relative paths: start, status and stop run in
// different working directories, so they would name different files.
func TestRelativePaths(t *testing.T) {
	for _, cfg := range []daemon.Config{
		{PIDFile: "testd.pid"},
		{PIDFile: "/run/testd.pid", WorkDir: "var/lib/testd"},
		{PIDFile: "/run/testd.pid", LogFile: "testd.log"},
	} {
		if _, err := daemon.Status(cfg); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
			t.Errorf("Status(%+v) = %v, want a refusal of the relative path", cfg, err)
		}
		if err := daemon.Run(cfg, nil); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
			t.Errorf("Run(%+v) = %v, want a refusal of the relative path", cfg, err)
		}
		if _, err := daemon.Start(cfg, nil); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
			t.Errorf("Start(%+v) = %v, want a refusal of the relative path", cfg, err)
		}
		if _, _, err := daemon.Stop(cfg, time.Second); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
			t.Errorf("Stop(%+v) = %v, want a refusal of the relative path", cfg, err)
		}
		if _, err := daemon.Reload(cfg); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
			t.Errorf("Reload(%+v) = %v, want a refusal of the relative path", cfg, err)
		}
	}
}

// TestReexecuted checks what each process of a start learns from
// Reexecuted: only the one the user ran is not re-executed, which is how a
// restart knows to stop the old daemon only once.
func TestReexecuted(t *testing.T) {
	h := newHarness(t)
	h.start(stagesEnv + "=1")
	for _, want := range []string{"reexecuted=false", "reexecuted=true", "reexecuted=true", "init"} {
		h.waitEvent(want)
	}
}

// TestLogRotationAsUser reopens the log file of a daemon that switched to
// nobody: the file it was given as root must be its own by then.
func TestLogRotationAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch users; CI runs as root")
	}
	h := newHarness(t)
	h.openToOthers()
	logFile := filepath.Join(h.dir, "testd.log")
	h.config["LogFile"] = logFile
	h.config["User"] = "nobody"
	h.start()
	h.waitEvent("init")
	if err := os.Rename(logFile, logFile+".1"); err != nil {
		t.Fatal(err)
	}
	if _, err := daemon.Reload(h.daemonConfig()); err != nil {
		t.Fatal(err)
	}
	h.waitEvent("reload")
	fresh, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("no new log file after the reload: %v", err)
	}
	if !strings.Contains(string(fresh), "msg=reloading") {
		t.Errorf("new log lacks the reload line:\n%s", fresh)
	}
	if rotated, _ := os.ReadFile(logFile + ".1"); strings.Contains(string(rotated), "msg=reloading") {
		t.Errorf("the reload was logged to the rotated file:\n%s", rotated)
	}
}

// TestStartTimeoutEarly gives start so little time that it gives up before
// the daemon has even started, at every point of the start-up: whatever
// had started must be killed, and no pidfile left.
func TestStartTimeoutEarly(t *testing.T) {
	for i := range 10 {
		h := newHarness(t)
		h.config["StartTimeout"] = "1ms"
		token := "DAEMONTEST_TOKEN=" + strconv.Itoa(os.Getpid()) + "-" + t.Name() + "-" + strconv.Itoa(i)
		h.env = append(h.env, token)
		out, err := h.refusedStart()
		if err == nil && strings.Contains(out, "started ") {
			h.startedPID(out) // it was quick enough: end it with the test
			continue
		}
		if !strings.Contains(out, "within 1ms") {
			t.Errorf("start: %v\n%s\nwant it to give up after 1ms", err, out)
		}
		if pids := processesWithEnv(token); len(pids) > 0 {
			for _, pid := range pids {
				endProcess(t, pid)
			}
			t.Errorf("run %d: processes left behind: %v\n%s", i, pids, out)
		}
		if _, err := os.Lstat(h.pidFile()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("run %d: pidfile left behind: %v\n%s", i, err, out)
		}
	}
}

// TestLogDeviceNotGiven uses a character device as the log file of a daemon
// that switches to nobody: the device must stay root's.
func TestLogDeviceNotGiven(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a device and switch users; CI runs as root")
	}
	h := newHarness(t)
	dev := filepath.Join(h.dir, "null")
	if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	h.config["LogFile"] = dev
	h.config["User"] = "nobody"
	h.start()
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 0 || st.Gid != 0 {
		t.Errorf("the device used as log file now belongs to %d:%d, want 0:0", st.Uid, st.Gid)
	}
}

// TestStartTimeout holds the daemon in Init past the start timeout: start
// must give up, and leave neither the daemon nor its pidfile.
func TestStartTimeout(t *testing.T) {
	h := newHarness(t)
	if err := unix.Mkfifo(h.fifo+".go", 0o600); err != nil { // Init waits on it for ever
		t.Fatal(err)
	}
	h.config["StartTimeout"] = "300ms"
	token := "DAEMONTEST_TOKEN=" + strconv.Itoa(os.Getpid()) + "-" + t.Name()
	h.env = append(h.env, initEnv+"=wait", token)
	out, err := h.refusedStart()
	if err == nil || !strings.Contains(out, "was not ready within 300ms, so it was killed") {
		t.Errorf("start: %v\n%s\nwant it to give up after the timeout", err, out)
	}
	h.waitEvent("init waiting")
	if pids := processesWithEnv(token); len(pids) > 0 {
		for _, pid := range pids {
			endProcess(t, pid)
		}
		t.Errorf("processes left behind: %v", pids)
	}
	if _, err := os.Lstat(h.pidFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile left behind: %v", err)
	}
}

// TestStartTimeoutHungSessionLeader has the session leader of a program
// that calls Start itself block in the program's own code before it calls
// Start again: start must give up at the start timeout, as it does for a
// daemon whose Init blocks, and end the session leader.
func TestStartTimeoutHungSessionLeader(t *testing.T) {
	h := newHarness(t)
	if err := unix.Mkfifo(h.fifo+".go", 0o600); err != nil { // the session leader waits on it for ever
		t.Fatal(err)
	}
	h.config["StartTimeout"] = "300ms"
	token := "DAEMONTEST_TOKEN=" + strconv.Itoa(os.Getpid()) + "-" + t.Name()
	h.env = append(h.env, hangEnv+"=1", token)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := h.command("launcher")
	launcher := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	launcher.Env = cmd.Env
	var out strings.Builder
	launcher.Stdout, launcher.Stderr = &out, &out
	if err := launcher.Start(); err != nil {
		t.Fatal(err)
	}
	var session int
	select {
	case e := <-h.events:
		if _, err := fmt.Sscanf(e, "session leader hangs %d", &session); err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatalf("the session leader did not report that it hangs\n%s", out.String())
	}
	t.Cleanup(func() { endProcess(t, session) })
	err := launcher.Wait()
	if ctx.Err() != nil {
		t.Fatalf("start still waited 10s after its start timeout of 300ms had passed\n%s", out.String())
	}
	if err == nil || !strings.Contains(out.String(), "no daemon started within 300ms") {
		t.Errorf("start: %v\n%s\nwant it to give up after the timeout", err, out.String())
	}
	if pids := processesWithEnv(token); len(pids) > 0 {
		t.Errorf("processes left behind: %v", pids)
	}
}
