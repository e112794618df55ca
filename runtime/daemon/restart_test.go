//go:build linux

package daemon_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// copyExecutable copies the test binary to dst, a new file (a new inode),
// as go build or a package upgrade writes the program anew.
func copyExecutable(t *testing.T, dst string) {
	t.Helper()
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tmp := dst + ".new"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// TestRestartAfterUpgradeKeepsFlags: the usual reason to restart is a new
// build of the program. restart trusts the running daemon's command line
// only if /proc/PID/exe is the same file as its own, which a new build
// never is; so restart after an upgrade drops the service's flags, and the
// daemon comes back with another configuration (here without --config),
// and restart exits 0, with only a line on standard error.
func TestRestartAfterUpgradeKeepsFlags(t *testing.T) {
	h := newHarness(t)
	prog := filepath.Join(h.dir, "testd")
	copyExecutable(t, prog)
	pidFile := filepath.Join(h.dir, "cli.pid")
	conf := filepath.Join(h.dir, "my.conf")
	run := func(args ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, prog, args...)
		cmd.Env = h.command("main").Env
		out, err := cmd.CombinedOutput()
		for _, m := range regexp.MustCompile(`started \(pid (\d+)\)`).FindAllStringSubmatch(string(out), -1) {
			pid, _ := strconv.Atoi(m[1])
			t.Cleanup(func() { endProcess(t, pid) })
		}
		if exit, ok := err.(*exec.ExitError); ok {
			return string(out), exit.ExitCode()
		}
		if err != nil {
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		return string(out), 0
	}
	if out, code := run("start", "--pidfile", pidFile, "--config", conf); code != 0 {
		t.Fatalf("start: exit %d, %q", code, out)
	}
	h.eventsUntil("init")

	copyExecutable(t, prog) // the upgrade
	out, code := run("restart", "--pidfile", pidFile)
	got := h.eventsUntil("init")
	if !strings.Contains(strings.Join(got, "\n"), "config="+conf) {
		t.Errorf("restart after an upgrade: exit %d, %q; the new daemon's Init saw %q, want config=%s kept", code, out, got, conf)
	}
}

// TestRestartKeepsFlagsOfUnprivilegedDaemon: restart distrusts the command
// line of a daemon that switched to another user (Config.User), since the
// daemon could have rewritten it; so for every daemon with a User, the
// usual hardened set-up, restart drops the service's flags, and the daemon
// comes back without its --config, restart exiting 0. The flags as root
// gave them could come from a file that only root can write, such as one
// written beside the pidfile before privileges are dropped.
func TestRestartKeepsFlagsOfUnprivilegedDaemon(t *testing.T) {
	h := newHarness(t)
	h.config["WorkDir"] = "/"
	h.config["User"] = "nobody"
	h.config["Group"] = "nogroup"
	h.openToOthers()
	pidFile := filepath.Join(h.dir, "cli.pid")
	conf := filepath.Join(h.dir, "operator.conf")
	if out, errOut, code := h.runMain("start", "--pidfile", pidFile, "--config", conf); code != 0 {
		t.Fatalf("start: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}
	h.eventsUntil("init")
	out, errOut, code := h.runMain("restart", "--pidfile", pidFile)
	if got := h.eventsUntil("init"); !slices.Contains(got, "config="+conf) {
		t.Errorf("restart of a daemon running as nobody: exit %d, stdout %q, stderr %q; the new daemon's Init saw %q, want config=%s kept", code, out, errOut, got, conf)
	}
}
