//go:build linux

package daemon_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// TestRunCannotSwitchUser runs the service as nobody, configured to switch
// to another user: a permission error, exit status 4 as LSB says, not 1.
func TestRunCannotSwitchUser(t *testing.T) {
	h := newHarness(t)
	exe := strangerBinary(t, h)
	h.config["User"] = "daemon"
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe, "run")
	cmd.Env = h.command("main").Env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 4 || !strings.Contains(string(out), "not running as root") {
		t.Errorf("run as nobody for user daemon: %v\n%s\nwant exit status 4 and why", err, out)
	}
}

// TestRunWithoutProc runs the service with a pidfile where /proc is not
// mounted (a chroot, a bare container): it must take its pidfile anyway.
func TestRunWithoutProc(t *testing.T) {
	h := newHarness(t)
	runner := h.command("runner")
	cmd := exec.Command("unshare", "-m", "sh", "-c", `mount -t tmpfs none /proc && exec "$0" "$@"`, runner.Path)
	cmd.Args = append(cmd.Args, runner.Args[1:]...)
	cmd.Env = runner.Env
	out := h.startRunner(cmd)
	h.waitEvent("init")
	if got, err := daemon.Status(h.daemonConfig()); err != nil || got != cmd.Process.Pid {
		t.Errorf("Status = %d, %v; want %d, nil\n%s", got, err, cmd.Process.Pid, out)
	}
	h.stopRunner(cmd, out)
}

// TestLogFilePlantedInSticky plants a regular file of nobody's where root's
// daemon logs, in a sticky directory open to all: start must refuse to
// write into it, as fs.protected_regular would.
func TestLogFilePlantedInSticky(t *testing.T) {
	h := newHarness(t)
	public := filepath.Join(h.dir, "public")
	if err := os.Mkdir(public, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(public, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(public, "testd.log")
	if err := os.WriteFile(logFile, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(logFile, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	h.config["LogFile"] = logFile
	out, err := h.refusedStart()
	if err == nil || !strings.Contains(out, "sticky directory") {
		t.Errorf("start: %v\n%s\nwant a refusal of nobody's file", err, out)
	}
}

// TestPIDNamespaces controls a daemon across pid namespaces: from the host,
// a daemon in a container is found under its pid on the host; from a
// container, a daemon on the host cannot be signalled, and status says why.
func TestPIDNamespaces(t *testing.T) {
	t.Run("daemon in a container", func(t *testing.T) {
		h := newHarness(t)
		runner := h.command("runner")
		cmd := exec.Command("unshare", append([]string{"-pf", "--mount-proc", "--kill-child"}, runner.Args...)...)
		cmd.Env = runner.Env
		out := h.startRunner(cmd)
		h.waitEvent("init")
		init := onlyChild(t, cmd.Process.Pid)
		t.Cleanup(func() { endProcess(t, init) })
		children := processes(func(_ int, st procStat) bool { return st.ppid == init })
		if len(children) != 1 {
			t.Fatalf("children of process 1: %v, want the service", children)
		}
		service := children[0]
		if got, err := daemon.Status(h.daemonConfig()); err != nil || got != service {
			t.Errorf("Status from the host = %d, %v; want the service's pid here, %d\n%s", got, err, service, out)
		}
		if got, _, err := daemon.Stop(h.daemonConfig(), 10*time.Second); err != nil || got != service {
			t.Errorf("Stop from the host = %d, %v; want %d, nil", got, err, service)
		}
		h.waitEvent("serve cancelled")
		if err := cmd.Wait(); err != nil {
			t.Errorf("unshare: %v\n%s", err, out)
		}
	})
	t.Run("status from a container", func(t *testing.T) {
		h := newHarness(t)
		h.start()
		h.waitEvent("init")
		status := exec.Command("unshare", "-pf", "--mount-proc", os.Args[0], "status")
		status.Env = h.command("main").Env
		out, err := status.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 4 || !strings.Contains(string(out), "another pid namespace") {
			t.Errorf("status in a container: %v\n%s\nwant exit status 4 and why", err, out)
		}
	})
}
