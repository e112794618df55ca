package generator

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestListenScaffoldUpgrades builds the scaffold of a daemon with listen
// addresses and upgrades it as its README says: the daemon answers HTTP on
// the socket that its Init opened with daemon.Listen; `upgrade` to a
// program that exits at once fails with status 1 and leaves the daemon
// answering; `upgrade` to the real binary, put in place by rename, makes
// the new process answer on the same port, named by the pidfile, while the
// old one drains and exits.
func TestListenScaffoldUpgrades(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a whole project; skipped with -short")
	}
	opts := listenOptions()
	opts.LogFile = filepath.Join(t.TempDir(), opts.Name+".log")
	dir, bin, env := buildScaffold(t, opts)
	good, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), opts.Name+".pid")

	out, code := runIn(t, dir, env, bin, "start", "--pidfile", pidFile, "--addr", "127.0.0.1:0")
	m := regexp.MustCompile(`^webd started \(pid (\d+)\)\n$`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("start: exit %d, output %q; want 0, %q", code, out, "webd started (pid N)")
	}
	old, _ := strconv.Atoi(m[1])
	endProcess(t, old)
	oldExit := pidfd(t, old)
	addr := startedAddr(t, opts.LogFile)
	if got := answeringPID(t, "tcp", addr); got != old {
		t.Fatalf("GET %s answered by pid %d, want the daemon, pid %d", addr, got, old)
	}

	// A new binary that exits at once: the upgrade fails, the daemon serves on.
	replaceFile(t, bin, []byte("#!/bin/sh\nexit 3\n"))
	out, code = runIn(t, dir, env, bin+".good", "upgrade", "--pidfile", pidFile)
	if code != 1 {
		t.Errorf("upgrade to a binary that exits: exit %d, output %q; want 1", code, out)
	}
	if got := answeringPID(t, "tcp", addr); got != old {
		t.Fatalf("after a failed upgrade, GET %s answered by pid %d, want the old daemon, pid %d", addr, got, old)
	}

	// The real binary, put in place by rename.
	replaceFile(t, bin, good)
	out, code = runIn(t, dir, env, bin, "upgrade", "--pidfile", pidFile)
	m = regexp.MustCompile(`^webd upgraded \(pid (\d+), replacing pid ` + strconv.Itoa(old) + `\)\n$`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("upgrade: exit %d, output %q; want 0, %q", code, out, "webd upgraded (pid N, replacing pid OLD)")
	}
	replacement, _ := strconv.Atoi(m[1])
	endProcess(t, replacement)
	if got := answeringPID(t, "tcp", addr); got != replacement {
		t.Errorf("after the upgrade, GET %s answered by pid %d, want the new daemon, pid %d", addr, got, replacement)
	}
	if !exitsWithin(t, oldExit, 10*time.Second) {
		t.Errorf("the old daemon, pid %d, still runs 10s after the upgrade", old)
	}
	out, code = runIn(t, dir, env, bin, "status", "--pidfile", pidFile)
	if want := "webd is running (pid " + strconv.Itoa(replacement) + ")\n"; code != 0 || out != want {
		t.Errorf("status after the upgrade: exit %d, output %q; want 0, %q", code, out, want)
	}
	out, code = runIn(t, dir, env, bin, "stop", "--pidfile", pidFile)
	if want := "webd stopped (pid " + strconv.Itoa(replacement) + ")\n"; code != 0 || out != want {
		t.Errorf("stop: exit %d, output %q; want 0, %q", code, out, want)
	}
}

// TestListenScaffoldUpgradesActivated runs the scaffold of a daemon with
// two listen addresses as systemd would: socket-activated (LISTEN_FDS) with
// two sockets of the same name, as FileDescriptorName= of NAME.socket names
// them, and upgrades it: the daemon answers on both sockets, and after
// `upgrade --pid` so does the new process, on the sockets handed over,
// while the old one drains and exits with status 0.
func TestListenScaffoldUpgradesActivated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a whole project; skipped with -short")
	}
	opts := listenOptions()
	dir, bin, env := buildScaffold(t, opts)
	sockets := []string{filepath.Join(t.TempDir(), "a.sock"), filepath.Join(t.TempDir(), "b.sock")}
	// The shell sets LISTEN_PID to its own pid, which exec keeps.
	cmd := exec.Command("sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=webd:webd exec "$0" run --pidfile=`, bin)
	cmd.Dir, cmd.Env = dir, env
	for _, path := range sockets {
		cmd.ExtraFiles = append(cmd.ExtraFiles, listeningSocket(t, path))
	}
	// A file, not a pipe: the new daemon inherits the old one's standard
	// error, and Wait would wait for the pipe to close.
	log, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("pid %d still running 10s after SIGKILL", cmd.Process.Pid)
		}
	})
	old := cmd.Process.Pid
	for _, path := range sockets {
		if got := answeringPID(t, "unix", path); got != old {
			t.Fatalf("GET on %s answered by pid %d, want the activated daemon, pid %d", path, got, old)
		}
	}

	out, code := runIn(t, dir, env, bin, "upgrade", "--pid", strconv.Itoa(old))
	m := regexp.MustCompile(`^webd upgraded \(pid (\d+), replacing pid ` + strconv.Itoa(old) + `\)\n$`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("upgrade --pid %d: exit %d, output %q; want 0, %q", old, code, out, "webd upgraded (pid N, replacing pid OLD)")
	}
	replacement, _ := strconv.Atoi(m[1])
	endProcess(t, replacement)
	for _, path := range sockets {
		if got := answeringPID(t, "unix", path); got != replacement {
			t.Errorf("after the upgrade, GET on %s answered by pid %d, want the new daemon, pid %d", path, got, replacement)
		}
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("the old daemon, pid %d, exited with %v after the upgrade, want status 0", old, waitErr)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("the old daemon, pid %d, still runs 10s after the upgrade", old)
	}
}

// listeningSocket returns a Unix socket listening at path, as a file to
// pass on; the socket file stays until the test's directory is removed.
func listeningSocket(t *testing.T, path string) *os.File {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	f, err := l.File()
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// buildScaffold writes the project of opts and builds it; it returns the
// project's directory, the binary and the environment to run go in.
func buildScaffold(t *testing.T, opts Options) (dir, bin string, env []string) {
	t.Helper()
	dir = writeProject(t, opts)
	env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	bin = filepath.Join(dir, opts.Name)
	if out, code := runIn(t, dir, env, "go", "build", "-o", bin, "."); code != 0 {
		t.Fatalf("go build: exit %d\n%s", code, out)
	}
	return dir, bin, env
}

// replaceFile replaces the executable at path with one holding data, by
// rename, as an upgrade is installed; the file it replaces stays at
// path+".good" the first time.
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if _, err := os.Stat(path + ".good"); errors.Is(err, os.ErrNotExist) {
		if err := os.Link(path, path+".good"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path+".new", data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// startedAddr returns the address that the daemon's Init logged, in the
// log file at path, on its "starting" line: written before start returned.
func startedAddr(t *testing.T, path string) string {
	t.Helper()
	log, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`msg=starting .*addr=(127\.0\.0\.1:\d+)`).FindSubmatch(log)
	if m == nil {
		t.Fatalf("no starting line with addr= in the log:\n%s", log)
	}
	return string(m[1])
}

// answeringPID sends a request to the scaffold's server at addr, on
// network "tcp" or "unix", and returns the pid that its answer names.
func answeringPID(t *testing.T, network, addr string) int {
	t.Helper()
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return new(net.Dialer).DialContext(ctx, network, addr)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dial}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://webd/")
	if err != nil {
		t.Fatalf("GET %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`^webd \S+, pid (\d+)\n$`).FindSubmatch(body)
	if err != nil || resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET %s: %s %q (%v); want 200 and %q", addr, resp.Status, body, err, "webd VERSION, pid N")
	}
	pid, _ := strconv.Atoi(string(m[1]))
	return pid
}

// pidfd opens a pidfd of pid, closed when the test ends.
func pidfd(t *testing.T, pid int) int {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// exitsWithin reports whether the process of the pidfd fd exits within
// timeout: a pidfd becomes readable when its process has exited.
func exitsWithin(t *testing.T, fd int, timeout time.Duration) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		n, err := unix.Poll(fds, max(0, int(time.Until(deadline).Milliseconds())))
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			t.Fatalf("poll: %v", err)
		}
		return n > 0
	}
}
