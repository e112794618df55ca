//go:build linux

package daemon_test

import (
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestControlSocketFullBacklogDecoy: the client of the control socket
// (dialControl) tries each socket in the daemon's network namespace whose
// name bears the daemon's prefix, @gendaemon/NAME/PID/, and keeps the one
// whose peer is PID. Abstract names have no owner, so any local user can
// add sockets with that prefix; one that listens with a backlog of 0 and
// has one connection queued makes every later connect(2) to it block, and
// connectControl connects with a blocking socket and no timeout: upgrade
// (and reload) then hang for ever, whatever --timeout says, since the
// timeout is set only on the connection once it is made. A decoy listed
// after the daemon's socket is never tried, so the test lays many.
func TestControlSocketFullBacklogDecoy(t *testing.T) {
	h := newHostileHarness(t)
	if _, errOut, code := h.main("start"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, errOut)
	}
	_, pid := h.listening()
	for i := range 64 {
		var random [8]byte
		random[0] = byte(i)
		name := fmt.Sprintf("@gendaemon/testd/%d/%s", pid, hex.EncodeToString(random[:]))
		decoy, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(decoy) })
		if err := unix.Bind(decoy, &unix.SockaddrUnix{Name: name}); err != nil {
			t.Fatal(err)
		}
		if err := unix.Listen(decoy, 0); err != nil {
			t.Fatal(err)
		}
		filler, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(filler) })
		if err := unix.Connect(filler, &unix.SockaddrUnix{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	for _, command := range []string{"reload", "upgrade"} {
		cmd := h.cmd(command, "--timeout", "5s")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s with decoy sockets: %v, %q; want it done", command, err, out.String())
			}
			if command == "upgrade" {
				h.listening()
			}
		case <-time.After(15 * time.Second):
			syscall, _ := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", cmd.Process.Pid))
			cmd.Process.Kill()
			<-done
			t.Errorf("%s --timeout 5s still blocked after 15s, behind a decoy socket with a full backlog that any local user can bind (in syscall %s)", command, strings.Fields(string(syscall) + " ?")[0])
		}
	}
}

// TestUpgradeOfDaemonInPrivateNetwork upgrades a daemon that runs in a
// network namespace of its own, as systemd's PrivateNetwork=yes (the
// generator's private_network, which its doc says still works with socket
// activation) or a container gives it. Abstract Unix socket names belong
// to a network namespace: dialControl reads the socket's name from
// /proc/PID/net/unix, the daemon's namespace, but connects from the
// caller's, where the name does not exist, and reports that the daemon
// "cannot be upgraded: its runtime predates upgrade ... use restart".
// From the host, as the README's `upgrade --pid "$(systemctl show -P
// MainPID NAME)"` runs, such a daemon can never be upgraded (and reload
// --pid fails the same way outside the unit's own ExecReload=).
func TestUpgradeOfDaemonInPrivateNetwork(t *testing.T) {
	h := newHarness(t)
	cmd := exec.Command("unshare", "--net", "--", os.Args[0], "run", "--pidfile", "")
	cmd.Env = h.command("main").Env
	out := h.startRunner(cmd)
	pid := cmd.Process.Pid // unshare execs the daemon
	h.eventsUntil("init")
	prefix := fmt.Sprintf("@gendaemon/testd/%d/", pid)
	deadline := time.Now().Add(20 * time.Second)
	for {
		table, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/unix", pid))
		if strings.Contains(string(table), prefix) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d has no control socket after 20s:\n%s", pid, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stdout, errOut, code := h.runMain("upgrade", "--pid", strconv.Itoa(pid))
	if m := regexp.MustCompile(`upgraded \(pid (\d+)`).FindStringSubmatch(stdout); m != nil {
		replacement, _ := strconv.Atoi(m[1])
		t.Cleanup(func() { endProcess(t, replacement) })
	}
	if code != 0 {
		t.Errorf("upgrade --pid %d of a daemon in a network namespace of its own: exit %d, %q %q; want it upgraded", pid, code, stdout, errOut)
	}
}

// TestUpgradeOfDaemonInPIDNamespace upgrades, from the host, a daemon
// that runs in a pid namespace of its own (a container sharing the host's
// network, here unshare --pid), through its pidfile, which the runtime
// reads from the host on purpose (runningDaemon: "a daemon in a container,
// its pidfile seen from the host"). The daemon names its control socket
// after os.Getpid(), its pid in its own namespace, while the client looks
// for the prefix with the host's pid: it finds none, and upgrade says the
// daemon "cannot be upgraded: its runtime predates upgrade"; reload
// quietly falls back to SIGHUP. SO_PEERCRED already gives the client the
// daemon's pid as the host sees it.
func TestUpgradeOfDaemonInPIDNamespace(t *testing.T) {
	h := newHostileHarness(t)
	// The shell is the namespace's process 1 and stays, so that the
	// namespace outlives the old daemon.
	cmd := exec.Command("unshare", "--pid", "--fork", "--kill-child", "--",
		"sh", "-c", `"$0" run --pidfile "$1"; exec sleep 1000`, os.Args[0], h.pidFile())
	cmd.Env = h.command("upgrade-hostile").Env
	h.startRunner(cmd)
	h.event("listening") // a pid of the namespace
	init := onlyChildOf(t, cmd.Process.Pid)
	t.Cleanup(func() { endProcess(t, init) }) // and with it the namespace
	daemonPID := onlyChildOf(t, init)
	eventually(t, "the daemon's control socket", func() bool {
		table, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/unix", daemonPID))
		return strings.Contains(string(table), "@gendaemon/testd/")
	})
	if out, _, code := h.main("status"); code != 0 || !strings.Contains(out, fmt.Sprintf("pid %d", daemonPID)) {
		t.Fatalf("status from the host: exit %d, %q; want pid %d running", code, out, daemonPID)
	}
	out, errOut, code := h.main("upgrade")
	if code != 0 {
		t.Errorf("upgrade from the host of a daemon in a pid namespace: exit %d, %q %q; want it upgraded", code, out, errOut)
	}
}
