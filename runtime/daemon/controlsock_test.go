//go:build linux

package daemon_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// runInBackground starts the test's daemon with run, in the foreground of
// a process of its own, and returns it; the test ends it.
func (h *harness) runInBackground(env ...string) *exec.Cmd {
	h.t.Helper()
	cmd := exec.Command(os.Args[0], "run", "--pidfile", "")
	cmd.Env = h.command("main", env...).Env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		endProcess(h.t, cmd.Process.Pid)
		if h.t.Failed() {
			h.t.Logf("run's output:\n%s", out.String())
		}
	})
	return cmd
}

// TestReloadSquattedControlSocket: abstract socket names have no owner and
// no permissions, and pids are handed out in order, so any local user can
// bind @gendaemon/NAME/PID before the daemon that will get PID does. The
// daemon then runs without a control socket, and reload --pid, which is the
// unit's ExecReload=, fails: an unprivileged user makes `systemctl reload`
// fail for good, until the service restarts under a pid they did not
// guess. Here the squatter binds the name while Init runs, which is the
// same as binding it before the daemon exists.
func TestReloadSquattedControlSocket(t *testing.T) {
	h := newHarness(t)
	if err := unix.Mkfifo(h.fifo+".go", 0o600); err != nil {
		t.Fatal(err)
	}
	pid := h.runInBackground(initEnv + "=wait").Process.Pid
	h.eventsUntil("init waiting")

	// The squatter: a socket bound to the daemon's name, held only by a
	// process running as nobody (binding needs no privilege either).
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: fmt.Sprintf("@gendaemon/testd/%d", pid)}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	sock := os.NewFile(uintptr(fd), "squatter")
	squatter := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "60")
	squatter.ExtraFiles = []*os.File{sock}
	if err := squatter.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { endProcess(t, squatter.Process.Pid) })
	sock.Close()

	h.release("go")
	h.waitEvent("init")
	out, errOut, code := h.runMain("reload", "--pid", strconv.Itoa(pid))
	if code != 0 {
		t.Errorf("reload --pid %d with its control socket's name taken by user nobody: exit %d, stdout %q, stderr %q; want the daemon reloaded", pid, code, out, errOut)
	}
}

// TestReloadDuringStop: once SIGTERM has cancelled the service, a reload
// asked for over the control socket must be refused ("the daemon is
// stopping"), as one asked for with SIGHUP is ignored. answerControl picks
// at random between queueing the request and seeing ctx done, and the main
// loop keeps taking requests until Serve returns, so most requests run the
// Reload hook while the service shuts down, with RELOADING=1 and READY=1
// sent after STOPPING=1; and since answerControl then picks at random again
// between the hook's result and ctx done, the caller may be told "the
// daemon is stopping" for a reload that ran.
func TestReloadDuringStop(t *testing.T) {
	h := newHarness(t)
	cmd := h.runInBackground(serveEnv + "=stubborn")
	pid := cmd.Process.Pid
	h.eventsUntil("init")
	if err := unix.Kill(pid, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	h.waitEvent("serve cancelled")
	reloaded := 0
	for range 10 {
		out, errOut, code := h.runMain("reload", "--pid", strconv.Itoa(pid))
		if code == 0 {
			reloaded++
		} else if !strings.Contains(errOut, "the daemon is stopping") {
			t.Errorf("reload --pid of a stopping daemon: exit %d, stdout %q, stderr %q; want it refused as stopping", code, out, errOut)
		}
	}
	h.mark("end")
	events := h.eventsUntil("end")
	if reloaded > 0 || len(events) > 0 {
		t.Errorf("after SIGTERM, %d of 10 reloads said the daemon reloaded, and its hooks reported %q; want none", reloaded, events)
	}
}

// TestControlSocketSurvivesEMFILE: the control socket's accept loop ends at
// the first error of accept, taking EMFILE, which a busy daemon meets when
// it briefly runs out of descriptors, for the listener's closing. The
// listener stays open, so every later reload connects, sends its request
// into the backlog and waits for an answer that never comes: reload hangs,
// until ExecReload='s timeout under systemd, for as long as the daemon runs.
func TestControlSocketSurvivesEMFILE(t *testing.T) {
	h := newHarness(t)
	// READY=1 follows the control socket's listen: wait for it, not for
	// Init, which reports before the socket exists.
	sock := filepath.Join(h.dir, "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	pid := h.runInBackground("NOTIFY_SOCKET=" + sock).Process.Pid
	h.eventsUntil("init")
	if got := readDatagram(t, notify); got != "READY=1" {
		t.Fatalf("first datagram %q, want READY=1", got)
	}

	// The daemon may open no new descriptor for a moment.
	var old unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &old); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]bool{}
	for _, e := range entries {
		open[e.Name()] = true
	}
	lowestFree := 0
	for open[strconv.Itoa(lowestFree)] {
		lowestFree++
	}
	tight := unix.Rlimit{Cur: uint64(lowestFree), Max: old.Max}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &tight, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	first := exec.CommandContext(ctx, os.Args[0], "reload", "--pid", strconv.Itoa(pid))
	first.Env = h.command("main").Env
	first.Run() // fails or times out: the daemon cannot accept it
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &old, nil); err != nil {
		t.Fatal(err)
	}

	// Descriptors to spare again: reload must work.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "reload", "--pid", strconv.Itoa(pid))
	cmd.Env = h.command("main").Env
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("reload --pid hung for 10s after the daemon once ran out of descriptors: %q", out)
	}
	if err != nil {
		t.Errorf("reload --pid after the daemon once ran out of descriptors: %v, %q", err, out)
	}
}

// readDatagram returns the next datagram conn receives, within 10 seconds.
func readDatagram(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return string(buf[:n])
}

// TestReloadInNetworkNamespace reloads a daemon that runs in a network
// namespace of its own, as under systemd's PrivateNetwork=: its control
// socket's abstract name exists only there, and reload --pid, run from
// outside, still reaches it and waits for the reload.
func TestReloadInNetworkNamespace(t *testing.T) {
	h := newHarness(t)
	cmd := exec.Command("unshare", "--net", os.Args[0], "run", "--pidfile", "")
	cmd.Env = h.command("main").Env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// unshare execs the daemon: the pid is the daemon's.
	t.Cleanup(func() { endProcess(t, cmd.Process.Pid) })
	h.eventsUntil("init")
	theirs, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid))
	if ours, _ := os.Readlink("/proc/self/ns/net"); theirs == ours {
		t.Fatalf("the daemon shares the test's network namespace (%s)", ours)
	}
	stdout, errOut, code := h.runMain("reload", "--pid", strconv.Itoa(cmd.Process.Pid))
	if want := fmt.Sprintf("testd reloaded (pid %d)\n", cmd.Process.Pid); code != 0 || stdout != want {
		t.Errorf("reload --pid of a daemon in another network namespace: exit %d, %q %q; want %q", code, stdout, errOut, want)
	}
	h.waitEvent("reload")
}
