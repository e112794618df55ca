//go:build linux

package daemon_test

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// TestConcurrentStarts runs 50 launchers at once: exactly one daemon may
// start, and every other launcher must name it as already running.
func TestConcurrentStarts(t *testing.T) {
	const launchers = 50
	h := newHarness(t)
	token := "DAEMONTEST_TOKEN=" + strconv.Itoa(os.Getpid()) + "-" + t.Name()
	outs := make([]string, launchers)
	codes := make([]int, launchers)
	var wg sync.WaitGroup
	for i := range launchers {
		wg.Go(func() {
			out, err := h.command("launcher", token).CombinedOutput()
			outs[i] = string(out)
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				codes[i] = exit.ExitCode()
			} else if err != nil {
				codes[i] = -1
			}
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, pid := range processesWithEnv(token) {
			endProcess(t, pid)
		}
	})

	started, running := 0, map[string]int{}
	for i, out := range outs {
		switch {
		case codes[i] == 0 && strings.Contains(out, "started "):
			started++
		case codes[i] == 3:
			_, rest, _ := strings.Cut(out, "running ")
			running[strings.TrimSpace(rest)]++
		default:
			t.Errorf("launcher %d: exit %d:\n%s", i, codes[i], out)
		}
	}
	live := processesWithEnv(token)
	if started != 1 || len(live) != 1 {
		t.Fatalf("%d launchers report a start and %d daemons run (%v); want exactly one", started, len(live), live)
	}
	want := strconv.Itoa(live[0])
	for pid, n := range running {
		if pid != want {
			t.Errorf("%d launchers named pid %q as the running daemon, want %s", n, pid, want)
		}
	}
	if _, _, err := daemon.Stop(h.daemonConfig(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestStartStopCycles starts and stops a daemon many times and then checks
// /proc for leftovers: processes, zombies, descriptors of the test process
// (which runs Stop), and the pidfile.
func TestStartStopCycles(t *testing.T) {
	cycles := 1000
	if testing.Short() {
		cycles = 50
	}
	h := newHarness(t)
	cfg := h.daemonConfig()
	token := "DAEMONTEST_TOKEN=" + strconv.Itoa(os.Getpid()) + "-" + t.Name()
	reapOrphans() // what earlier tests left, so that only this test's count
	fdsBefore := len(fds(t, os.Getpid()))
	for i := range cycles {
		out, err := h.command("launcher", token).CombinedOutput()
		if err != nil {
			t.Fatalf("cycle %d: launcher: %v\n%s", i, err, out)
		}
		pid := h.startedPID(string(out))
		got, killed, err := daemon.Stop(cfg, 10*time.Second)
		if err != nil || got != pid || killed {
			t.Fatalf("cycle %d: Stop = %d, %v, %v; want %d, false, nil", i, got, killed, err, pid)
		}
		reap(pid)
	}
	if pids := processesWithEnv(token); len(pids) > 0 {
		t.Errorf("processes left after %d cycles: %v", cycles, pids)
	}
	if z := zombieChildren(); len(z) > 0 {
		t.Errorf("zombies left after %d cycles: %v", cycles, z)
	}
	if after := len(fds(t, os.Getpid())); after > fdsBefore {
		t.Errorf("the test process has %d descriptors after %d cycles, %d before", after, cycles, fdsBefore)
	}
	if _, err := os.Lstat(h.pidFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile left after %d cycles: %v", cycles, err)
	}
}

// zombieChildren lists the test process's children that have exited but
// not been reaped.
func zombieChildren() []int {
	return processes(func(_ int, st procStat) bool { return st.state == "Z" && st.ppid == os.Getpid() })
}

// TestTerminalHangup starts the daemon from a shell on a terminal and then
// hangs the terminal up. The kernel sends SIGHUP to the terminal's session;
// the daemon, in a session of its own, must not get it.
func TestTerminalHangup(t *testing.T) {
	h := newHarness(t)
	master, pts := openPTY(t)
	defer master.Close()
	// The shell leads the terminal's session, runs the launcher in the
	// foreground, and stays until the hangup.
	launcher := h.command("launcher")
	shell := exec.Command("/bin/sh", "-c", `"$@"; exec sleep 60`, "sh", launcher.Path, "-test.run=^$")
	shell.Env = launcher.Env
	shell.Stdin, shell.Stdout, shell.Stderr = pts, pts, pts
	shell.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := shell.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { endProcess(t, shell.Process.Pid) })
	pts.Close()
	h.waitEvent("init")
	pid, err := daemon.Status(h.daemonConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { endProcess(t, pid) })

	master.Close() // the hangup
	if err := shell.Wait(); err == nil || !strings.Contains(err.Error(), "hangup") {
		t.Fatalf("the terminal's session leader ended with %v, want a hangup: the test proved nothing", err)
	}
	if _, _, err := daemon.Stop(h.daemonConfig(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// Everything the daemon reported is in the FIFO before this line is.
	h.mark("end")
	for _, event := range h.eventsUntil("end") {
		if event == "reload" {
			t.Errorf("the daemon got the terminal's SIGHUP and reloaded")
		}
	}
}
