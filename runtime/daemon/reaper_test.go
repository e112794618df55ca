//go:build linux

package daemon_test

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRunAsPID1 runs the service as a container's entry point, process 1 of
// a new pid namespace (unshare -pf --mount-proc): orphans must be reaped,
// not left as zombies, without taking the status of the child the service
// waits for, and a SIGTERM to process 1 must stop the service cleanly.
func TestRunAsPID1(t *testing.T) {
	h := newHarness(t)
	delete(h.config, "PIDFile") // a pid of the namespace means nothing outside it
	runner := h.command("runner", initEnv+"=orphans")
	cmd := h.command("runner") // for its environment only
	cmd.Path = "/usr/bin/unshare"
	cmd.Args = append([]string{"unshare", "-pf", "--mount-proc", "--kill-child"}, runner.Args...)
	cmd.Env = runner.Env
	out := h.startRunner(cmd)
	var servicePID int
	fmt.Sscanf(h.nextEvent(), "pid %d", &servicePID)
	if servicePID <= 1 {
		t.Fatalf("the service runs as pid %d in the namespace, want a child of process 1\n%s", servicePID, out)
	}
	h.waitEvent("init")

	init := onlyChild(t, cmd.Process.Pid)
	t.Cleanup(func() { endProcess(t, init) })
	if st := readStat(t, init); st.ppid != cmd.Process.Pid {
		t.Fatalf("process 1 of the namespace is not unshare's child: %+v", st)
	}
	// Process 1's children but the service (NSpid: its pid outside, then
	// inside the namespace): the shell's background jobs, sleeping or
	// about to.
	orphans := processes(func(pid int, st procStat) bool {
		nspid := strings.Fields(statusField(pid, "NSpid"))
		return st.ppid == init && len(nspid) == 2 && nspid[1] != strconv.Itoa(servicePID)
	})
	if len(orphans) != 2 {
		t.Fatalf("orphans of process 1: %v, want the shell's two sleeps\n%s", orphans, out)
	}
	for _, pid := range orphans {
		t.Cleanup(func() { endProcess(t, pid) })
		unix.Kill(pid, unix.SIGKILL)
	}
	for _, pid := range orphans {
		waitReaped(t, pid)
	}

	unix.Kill(init, unix.SIGTERM) // as docker stop does
	h.waitEvent("serve cancelled")
	if err := cmd.Wait(); err != nil {
		t.Errorf("unshare: %v, want the service's exit status 0\n%s", err, out)
	}
}

// onlyChild returns the one child of pid.
func onlyChild(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		t.Fatalf("children of %d: %q, want one", pid, f)
	}
	child, _ := strconv.Atoi(f[0])
	return child
}

// waitReaped waits until pid is gone from /proc: exited and reaped, not a
// zombie.
func waitReaped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(5 * time.Millisecond) // polling the kernel's state
	}
	st, _ := parseStat(pid)
	t.Errorf("pid %d, an orphan of process 1, was not reaped within 5s (state %s)", pid, st.state)
}
