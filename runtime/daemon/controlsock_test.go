//go:build linux

package daemon_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

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

// release lets a hook that waits (init or reload "wait") return.
func (h *harness) release() {
	h.t.Helper()
	f, err := os.OpenFile(h.fifo+".go", os.O_WRONLY, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintln(f, "go")
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

	h.release()
	h.waitEvent("init")
	out, errOut, code := h.runMain("reload", "--pid", strconv.Itoa(pid))
	if code != 0 {
		t.Errorf("reload --pid %d with its control socket's name taken by user nobody: exit %d, stdout %q, stderr %q; want the daemon reloaded", pid, code, out, errOut)
	}
}
