//go:build linux

package daemon_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// holdInit prepares the FIFO on which a daemon started with
// DAEMONTEST_INIT=wait waits in Init; release answers it.
func (h *harness) holdInit() {
	h.t.Helper()
	if err := unix.Mkfifo(h.fifo+".go", 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// release lets a daemon waiting in Init go on: "go" to succeed, "fail" to
// return an error.
func (h *harness) release(answer string) {
	h.t.Helper()
	f, err := os.OpenFile(h.fifo+".go", os.O_WRONLY, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	fmt.Fprintln(f, answer)
	f.Close()
}

// background starts a launcher, which the test ends, and returns it with
// its combined output.
func (h *harness) background(env ...string) (*exec.Cmd, *strings.Builder) {
	h.t.Helper()
	cmd := h.command("launcher", env...)
	out := new(strings.Builder)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	pid := cmd.Process.Pid
	h.t.Cleanup(func() { endProcess(h.t, pid) })
	return cmd, out
}

// waitBlockedOnLock waits until the kernel lists pid as waiting for a lock
// ("->" in /proc/locks), which is how a second start waits for the first.
func waitBlockedOnLock(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		locks, _ := os.ReadFile("/proc/locks")
		for line := range strings.Lines(string(locks)) {
			f := strings.Fields(line)
			if len(f) >= 6 && f[1] == "->" && f[5] == strconv.Itoa(pid) {
				return
			}
		}
		time.Sleep(5 * time.Millisecond) // polling the kernel's state, not a synchronisation
	}
	t.Fatalf("pid %d never waited for a lock", pid)
}

// nextEvent returns the next event from the hooks, whatever it is.
func (h *harness) nextEvent() string {
	h.t.Helper()
	select {
	case got := <-h.events:
		return got
	case <-time.After(10 * time.Second):
		h.t.Fatal("no event within 10s")
		return ""
	}
}

// exitCode waits for cmd and returns its exit status.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// TestConcurrentStartWaitsForInit starts a second daemon while the first
// is in a slow Init that then fails: the second start must wait for the
// outcome, not report the dying first daemon as running, and then start.
func TestConcurrentStartWaitsForInit(t *testing.T) {
	h := newHarness(t)
	h.holdInit()
	first, firstOut := h.background(initEnv + "=wait")
	h.waitEvent("init waiting")
	second, secondOut := h.background()
	waitBlockedOnLock(t, second.Process.Pid)
	h.release("fail")
	if code := exitCode(t, first); code != 1 || !strings.Contains(firstOut.String(), "init says no") {
		t.Errorf("first start: exit %d\n%s\nwant 1 and Init's error", code, firstOut)
	}
	if code := exitCode(t, second); code != 0 {
		t.Fatalf("second start: exit %d\n%s\nwant it to start the daemon once the first failed", code, secondOut)
	}
	pid := h.startedPID(secondOut.String())
	h.waitEvent("init")
	if got, err := daemon.Status(h.daemonConfig()); err != nil || got != pid {
		t.Errorf("Status = %d, %v; want %d, nil", got, err, pid)
	}
}

// TestStopDuringInit stops a daemon while its Init runs, as restart does
// during another start: Init then returns nil, but that start must fail,
// not print the pid of a daemon that is exiting.
func TestStopDuringInit(t *testing.T) {
	h := newHarness(t)
	first, firstOut := h.background(initEnv + "=until-stopped")
	h.waitEvent("init waiting")
	pid := readPIDFile(t, h.pidFile())
	t.Cleanup(func() { endProcess(t, pid) })
	if got, killed, err := daemon.Stop(h.daemonConfig(), 10*time.Second); err != nil || got != pid || killed {
		t.Errorf("Stop = %d, %v, %v; want %d, false, nil", got, killed, err, pid)
	}
	code := exitCode(t, first)
	if code == 0 || strings.Contains(firstOut.String(), "started") || !strings.Contains(firstOut.String(), "asked to stop") {
		t.Errorf("start stopped during Init: exit %d\n%s\nwant a failure saying it was stopped", code, firstOut)
	}
	if _, err := daemon.Status(h.daemonConfig()); !errors.Is(err, daemon.ErrNotRunning) {
		t.Errorf("Status = %v, want ErrNotRunning", err)
	}
}

// TestStartDeadlineWithoutLauncher kills the launcher while Init hangs, as
// Ctrl-C or a supervisor would: the daemon must enforce its start timeout
// itself, kill itself and what Init started, and leave no pidfile.
func TestStartDeadlineWithoutLauncher(t *testing.T) {
	h := newHarness(t)
	h.holdInit()
	h.config["StartTimeout"] = "1s"
	token := "DAEMONTEST_TOKEN=" + strconv.Itoa(os.Getpid()) + "-" + t.Name()
	launcher, _ := h.background(initEnv+"=wait", token)
	h.waitEvent("init waiting")
	pid := readPIDFile(t, h.pidFile())
	t.Cleanup(func() { endProcess(t, pid) })
	endProcess(t, launcher.Process.Pid)
	launcher.Wait()
	waitExit(t, pid, 10*time.Second)
	if pids := processesWithEnv(token); len(pids) > 0 {
		for _, p := range pids {
			endProcess(t, p)
		}
		t.Errorf("processes left behind: %v", pids)
	}
	if _, err := os.Lstat(h.pidFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile left behind: %v", err)
	}
}

// TestInitFailureKillsChildren fails Init, by an error and by a panic,
// after it started a child: the child must not outlive the failed start.
func TestInitFailureKillsChildren(t *testing.T) {
	for _, mode := range []string{"child-fail", "child-panic"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t)
			out, err := h.refusedStart2(initEnv + "=" + mode)
			if err == nil {
				t.Fatalf("start succeeded:\n%s", out)
			}
			var child int
			fmt.Sscanf(h.nextEvent(), "child %d", &child)
			if child <= 0 {
				t.Fatal("Init did not report its child")
			}
			t.Cleanup(func() { endProcess(t, child) })
			pidfd, err := unix.PidfdOpen(child, 0)
			if err != nil {
				return // gone and reaped already
			}
			defer unix.Close(pidfd)
			if !exited(pidfd, 0) {
				t.Errorf("Init's child %d still runs after start returned:\n%s", child, out)
			}
		})
	}
}

// refusedStart2 is refusedStart with extra environment.
func (h *harness) refusedStart2(env ...string) (string, error) {
	h.t.Helper()
	h.env = append(h.env, env...)
	return h.refusedStart()
}

// TestConcurrentStartKeepsItsTimeout starts a second daemon, with a start
// timeout of 1s, while the first, started with none, hangs in Init: the
// second start waits for the first's outcome, but no longer than its own
// timeout, which is the longest its caller agreed to wait.
func TestConcurrentStartKeepsItsTimeout(t *testing.T) {
	h := newHarness(t)
	h.holdInit()
	h.config["StartTimeout"] = "0s"
	first, _ := h.background(initEnv + "=wait")
	h.waitEvent("init waiting")
	pid := readPIDFile(t, h.pidFile())
	t.Cleanup(func() { endProcess(t, pid) })
	t.Cleanup(func() {
		h.release("fail") // before the daemon that reads it is ended
		first.Wait()
	})
	h.config["StartTimeout"] = "1s"
	second, secondOut := h.background()
	done := make(chan struct{})
	go func() { second.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Errorf("a start with a timeout of 1s still waits for another start's Init after 20s:\n%s", secondOut)
	}
}
