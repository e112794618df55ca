//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gendaemon/gendaemon/bench/httpload/loadtest"

	"golang.org/x/sys/unix"
)

// This file is the harness of the zero-downtime upgrade tests (issue 13): a
// project generated with `gendaemon new`, whose service.go is the HTTP
// server of testdata/httpd, built as several versions, and the load client
// bench/cmd/httpload.

// Deadlines of the harness.
const (
	buildTimeout   = 5 * time.Minute  // one go build
	commandTimeout = time.Minute      // one command of the daemon
	exitTimeout    = 10 * time.Second // a process's exit, after it was told to
)

// httpdName is the name of the generated daemon with the HTTP service.
const httpdName = "upgd"

// An httpd is a generated HTTP daemon, its builds and where it is
// installed.
type httpd struct {
	t       *testing.T
	name    string
	dir     string // the test's directory
	project string // the generated project
	bin     string // the installed binary, which upgrades replace
	pidFile string
	logFile string
	// addrFile is where the daemon writes its address (--addr-file).
	addrFile string
}

// newHTTPD generates the project with `gendaemon new` and puts the HTTP
// service in it.
func newHTTPD(t *testing.T) *httpd {
	t.Helper()
	h := generate(t, httpdName)
	service, err := os.ReadFile(filepath.Join("testdata", "httpd", "service.go.in"))
	if err != nil {
		t.Fatal(err)
	}
	service = []byte(strings.ReplaceAll(string(service), `"MODULE/`, `"`+h.name+`/`))
	if err := os.WriteFile(filepath.Join(h.project, "service.go"), service, 0o644); err != nil {
		t.Fatal(err)
	}
	// The scaffolded test is of the scaffolded service.
	if err := os.Remove(filepath.Join(h.project, "service_test.go")); err != nil {
		t.Fatal(err)
	}
	return h
}

// generate generates the project called name with `gendaemon new`, with a
// pidfile and a log file in the test's directory and the extra flags.
func generate(t *testing.T, name string, flags ...string) *httpd {
	t.Helper()
	dir := t.TempDir()
	h := &httpd{
		t: t, name: name, dir: dir, project: filepath.Join(dir, name),
		bin: filepath.Join(dir, "bin", name), pidFile: filepath.Join(dir, name+".pid"),
		logFile: filepath.Join(dir, name+".log"), addrFile: filepath.Join(dir, "addr"),
	}
	var out strings.Builder
	args := append([]string{"gendaemon", "new", name, "--dir", h.project, "--pidfile", h.pidFile, "--log-file", h.logFile}, flags...)
	if code := run(args, &out, &out); code != 0 {
		t.Fatalf("gendaemon new: exit %d\n%s", code, out.String())
	}
	if err := os.Mkdir(filepath.Dir(h.bin), 0o755); err != nil {
		t.Fatal(err)
	}
	return h
}

// build builds the project as version (vN), with the other settings of
// testdata/httpd (such as "initMode=fail"), and returns the binary's path.
func (h *httpd) build(version string, settings ...string) string {
	h.t.Helper()
	name := strings.Join(append([]string{version}, settings...), "-")
	bin := filepath.Join(h.dir, "builds", strings.NewReplacer("=", "-").Replace(name))
	ldflags := "-X main.version=" + version
	for _, s := range settings {
		ldflags += " -X main." + s
	}
	goBuild(h.t, h.project, bin, ".", "-ldflags="+ldflags)
	return bin
}

// goBuild runs go build in dir for pkg into bin, offline and without cgo,
// with the module and build caches of the go command running the tests.
func goBuild(t *testing.T, dir, bin, pkg string, flags ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	args := append(append([]string{"build", "-trimpath", "-o", bin}, flags...), pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

// install puts a build at the daemon's path as a package manager does: by
// renaming it over the binary there (the build is gone afterwards).
func (h *httpd) install(build string) {
	h.t.Helper()
	if err := os.Rename(build, h.bin); err != nil {
		h.t.Fatal(err)
	}
}

// command runs the installed binary with args and returns its output and
// exit status.
func (h *httpd) command(args ...string) (stdout, stderr string, code int) {
	h.t.Helper()
	r := h.run(args...)
	if r.err != nil {
		h.t.Fatal(r.err)
	}
	return r.stdout, r.stderr, r.code
}

// commandResult is how a command of the daemon's binary went.
type commandResult struct {
	stdout, stderr string
	code           int
	err            error // it could not be run, or ran past commandTimeout
}

// run runs the installed binary with args, killing it after commandTimeout;
// unlike command, it may be called from any goroutine.
func (h *httpd) run(args ...string) commandResult {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = exitTimeout
	err := cmd.Run()
	r := commandResult{stdout: out.String(), stderr: errOut.String()}
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		r.code = exit.ExitCode()
		err = nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%s %s: still running after %v", h.name, strings.Join(args, " "), commandTimeout)
	}
	r.err = err
	return r
}

// start starts the daemon with --addr-file and the extra flags, and returns
// its pid and address; the daemon is ended when the test ends.
func (h *httpd) start(flags ...string) (pid int, addr string) {
	h.t.Helper()
	pid = h.startDaemon(append([]string{"--addr-file", h.addrFile}, flags...)...)
	data, err := os.ReadFile(h.addrFile) // written by Init, before start returned
	if err != nil {
		h.t.Fatal(err)
	}
	return pid, strings.TrimSpace(string(data))
}

// startDaemon starts the daemon with flags and returns its pid; the daemon
// is ended when the test ends.
func (h *httpd) startDaemon(flags ...string) int {
	h.t.Helper()
	out, errOut, code := h.command(append([]string{"start"}, flags...)...)
	m := regexp.MustCompile(`^` + h.name + ` started \(pid (\d+)\)\n$`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		h.t.Fatalf("start: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	pid, _ := strconv.Atoi(m[1])
	endAtCleanup(h.t, pid)
	return pid
}

// upgrade runs `upgrade` and returns the new daemon's pid, which is ended
// when the test ends. It fails the test unless upgrade reports that the
// daemon old was replaced.
func (h *httpd) upgrade(old int) int {
	h.t.Helper()
	out, errOut, code := h.command("upgrade")
	m := regexp.MustCompile(`^` + h.name + ` upgraded \(pid (\d+), replacing pid (\d+)\)\n$`).FindStringSubmatch(out)
	if code != 0 || m == nil || m[2] != strconv.Itoa(old) {
		h.t.Fatalf("upgrade of pid %d: exit %d, stdout %q, stderr %q", old, code, out, errOut)
	}
	pid, _ := strconv.Atoi(m[1])
	endAtCleanup(h.t, pid)
	return pid
}

// wantStatus fails the test unless status says that pid runs.
func (h *httpd) wantStatus(pid int) {
	h.t.Helper()
	out, errOut, code := h.command("status")
	if want := fmt.Sprintf("%s is running (pid %d)\n", h.name, pid); code != 0 || out != want {
		h.t.Errorf("status: exit %d, %q %q; want 0, %q", code, out, errOut, want)
	}
}

// initPIDs returns the pids that the log says ran Init as version.
func (h *httpd) initPIDs(version string) []int {
	h.t.Helper()
	data, err := os.ReadFile(h.logFile)
	if err != nil {
		h.t.Fatal(err)
	}
	var pids []int
	re := regexp.MustCompile(`msg=init pid=(\d+) version=` + regexp.QuoteMeta(version) + ` `)
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	return pids
}

// waitInit waits until the log names n processes that ran Init as version,
// polling it, for at most commandTimeout.
func (h *httpd) waitInit(version string, n int) {
	h.t.Helper()
	deadline := time.Now().Add(commandTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for len(h.initPIDs(version)) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("no Init of %s within %v", version, commandTimeout)
		}
		<-tick.C
	}
}

// endAtCleanup ends the process pid when the test ends, if it still runs:
// through a pidfd opened now, so that a recycled pid is never signalled,
// SIGKILL, then a wait of at most exitTimeout.
func endAtCleanup(t *testing.T, pid int) {
	t.Helper()
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	t.Cleanup(func() {
		defer unix.Close(pidfd)
		if exitedWithin(pidfd, 0) {
			return
		}
		if err := unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			t.Errorf("kill %d: %v", pid, err)
		}
		if !exitedWithin(pidfd, exitTimeout) {
			t.Errorf("pid %d still runs %v after SIGKILL", pid, exitTimeout)
		}
	})
}

// waitExit waits until the process pid has exited, and fails the test if
// it still runs after exitTimeout.
func waitExit(t *testing.T, pid int) {
	t.Helper()
	pidfd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return
	}
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(pidfd)
	if !exitedWithin(pidfd, exitTimeout) {
		t.Fatalf("pid %d still runs after %v", pid, exitTimeout)
	}
}

// exitedWithin reports whether the process of pidfd has exited, waiting up
// to timeout: a pidfd becomes readable when its process exits.
func exitedWithin(pidfd int, timeout time.Duration) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		n, err := unix.Poll(fds, max(0, int(time.Until(deadline).Milliseconds())))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n > 0
	}
}

// buildLoadClient builds bench/cmd/httpload into the test's directory.
func buildLoadClient(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "httpload")
	goBuild(t, ".", bin, "../../bench/cmd/httpload")
	return bin
}

// startLoad starts the load client bin with args and returns once all its
// clients are running. It is ended when the test ends.
func startLoad(t *testing.T, bin string, args ...string) *loadtest.Client {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	return loadtest.Start(t, cmd, func(pid int) { endAtCleanup(t, pid) }, commandTimeout)
}
