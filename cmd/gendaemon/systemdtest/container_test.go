//go:build linux

package systemdtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// rootFSEnv names the Debian root file system that the container boots;
// .ci/run sets it after building the file system with debootstrap.
const rootFSEnv = "SYSTEMDTEST_ROOTFS"

// rootFSPackages are the packages that .ci/run's debootstrap adds to
// minbase (--include): systemd as PID 1, the system bus, and, for a user's
// service manager, pam_systemd.
const rootFSPackages = "systemd,systemd-sysv,dbus,libpam-systemd"

// defaultRootFS is where .ci/run caches the root file system: its name
// holds a hash of the package list, so that a changed list builds anew.
func defaultRootFS() string {
	sum := sha256.Sum256([]byte(rootFSPackages))
	return "/var/cache/systemdtest/rootfs-bookworm-" + hex.EncodeToString(sum[:])[:12]
}

// Deadlines of the container's life.
const (
	bootTimeout     = 2 * time.Minute  // until systemd in the container is up
	commandTimeout  = time.Minute      // for each command run in the container
	shutdownTimeout = 30 * time.Second // from SIGTERM to systemd-nspawn until SIGKILL
)

// rootFS returns the root file system to boot. It fails the test if
// SYSTEMDTEST_ROOTFS is set but the test cannot run, and skips it
// only if the variable is unset and the default root file system is
// missing.
func rootFS(t *testing.T) string {
	t.Helper()
	dir, required := os.LookupEnv(rootFSEnv)
	if !required {
		dir = defaultRootFS()
	}
	stop := t.Skipf
	if required {
		stop = t.Fatalf
	}
	if _, err := os.Stat(filepath.Join(dir, "usr/lib/systemd/systemd")); err != nil {
		stop("no root file system with systemd at %s (%s=%q): %v; .ci/run builds it with debootstrap", dir, rootFSEnv, os.Getenv(rootFSEnv), err)
	}
	if os.Geteuid() != 0 {
		stop("systemd-nspawn needs root")
	}
	if _, err := exec.LookPath("systemd-nspawn"); err != nil {
		stop("systemd-nspawn is missing (Debian package systemd-container): %v", err)
	}
	return dir
}

// A container is a systemd booted by systemd-nspawn, with its own pid,
// mount and network namespaces; the host's file system is not changed by
// it (--volatile=overlay keeps its writes in memory).
type container struct {
	t *testing.T
	// leader is the pid, on the host, of the container's PID 1: systemd.
	leader int
	// root is the container's root directory, as the host sees it.
	root string
	// console collects what the container writes to its console.
	console *syncBuffer
}

// boot starts systemd from rootfs in a container, with stage mounted
// read-only on /lab, and returns once the system is running. The container
// is shut down when the test ends: SIGTERM to systemd-nspawn, which powers
// it off, and SIGKILL to systemd-nspawn and the container's PID 1 (which
// takes every process in the container with it) after a deadline.
func boot(t *testing.T, rootfs, stage string) *container {
	t.Helper()
	began := time.Now()
	// systemd-nspawn tells the service manager that started it, through
	// NOTIFY_SOCKET, the pid of the container's PID 1 and, with
	// --notify-ready, when the container's systemd is ready.
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(t.TempDir(), "notify"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()

	c := &container{t: t, console: &syncBuffer{}}
	cmd := exec.Command("systemd-nspawn",
		"--directory="+rootfs, "--machine=gdlab"+strconv.Itoa(os.Getpid()), "--boot",
		// The host has no system bus: nspawn stays in the test's cgroup
		// and registers no machine.
		"--keep-unit", "--register=no",
		"--private-network", "--volatile=overlay", "--bind-ro="+stage+":/lab",
		"--console=read-only", "--notify-ready=yes")
	cmd.Env = append(os.Environ(), "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1", "NOTIFY_SOCKET="+notify.LocalAddr().String())
	cmd.Stdout, cmd.Stderr = c.console, c.console
	if err := cmd.Start(); err != nil {
		t.Fatalf("systemd-nspawn: %v", err)
	}
	exited := make(chan error, 1)
	go func() {
		exited <- cmd.Wait()
		notify.Close() // no datagram will come: end the wait for one
	}()
	leaderFD := -1 // set once the leader is known
	t.Cleanup(func() { c.shutdown(cmd.Process, exited, leaderFD) })

	c.leader, err = awaitLeader(notify, time.Now().Add(bootTimeout))
	if err != nil {
		t.Fatalf("booting the container: %v\nconsole:\n%s", err, c.console)
	}
	// The leader is nspawn's child and cannot have been reaped yet: nspawn
	// is still running, since its datagrams came.
	fd, err := unix.PidfdOpen(c.leader, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", c.leader, err)
	}
	leaderFD = fd
	c.root = fmt.Sprintf("/proc/%d/root", c.leader)
	if out, code := c.run("systemctl", "is-system-running", "--wait"); code != 0 || out != "running\n" {
		failed, _ := c.run("systemctl", "--failed", "--no-legend")
		t.Fatalf("systemctl is-system-running --wait: exit %d, %q; want 0, running\nfailed units:\n%s", code, out, failed)
	}
	t.Logf("container booted in %v (systemd-nspawn start to is-system-running)", time.Since(began).Round(time.Millisecond))
	return c
}

// awaitLeader reads systemd-nspawn's datagrams until it has had the
// container's leader pid and READY=1.
func awaitLeader(notify *net.UnixConn, deadline time.Time) (int, error) {
	if err := notify.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	leader, ready := 0, false
	buf := make([]byte, 4096)
	for leader == 0 || !ready {
		n, err := notify.Read(buf)
		if err != nil {
			return 0, fmt.Errorf("waiting for systemd-nspawn's X_NSPAWN_LEADER_PID= and READY=1: %w", err)
		}
		for _, line := range strings.Split(string(buf[:n]), "\n") {
			if v, ok := strings.CutPrefix(line, "X_NSPAWN_LEADER_PID="); ok {
				if leader, err = strconv.Atoi(v); err != nil || leader <= 1 {
					return 0, fmt.Errorf("systemd-nspawn sent %q", line)
				}
			}
			ready = ready || line == "READY=1"
		}
	}
	return leader, nil
}

// shutdown powers the container off, and kills it after a deadline.
func (c *container) shutdown(nspawn *os.Process, exited <-chan error, leaderFD int) {
	t := c.t
	if err := nspawn.Signal(unix.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM to systemd-nspawn (pid %d): %v", nspawn.Pid, err)
	}
	select {
	case <-exited:
	case <-time.After(shutdownTimeout):
		t.Errorf("systemd-nspawn (pid %d) still runs %v after SIGTERM; killing it", nspawn.Pid, shutdownTimeout)
		if err := nspawn.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("SIGKILL to systemd-nspawn (pid %d): %v", nspawn.Pid, err)
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("systemd-nspawn (pid %d) survived SIGKILL for 10s", nspawn.Pid)
		}
	}
	if leaderFD < 0 {
		return
	}
	defer unix.Close(leaderFD)
	if exitedWithin(leaderFD, 0) {
		return
	}
	// Killing a pid namespace's PID 1 kills every process in it.
	t.Errorf("the container's PID 1 (pid %d) outlived systemd-nspawn; killing it", c.leader)
	if err := unix.PidfdSendSignal(leaderFD, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		t.Errorf("SIGKILL to the container's PID 1 (pid %d): %v", c.leader, err)
	}
	if !exitedWithin(leaderFD, 10*time.Second) {
		t.Errorf("the container's PID 1 (pid %d) still runs 10s after SIGKILL", c.leader)
	}
}

// exitedWithin reports whether the process of pidfd has exited, waiting
// for it up to timeout: a pidfd becomes readable when its process exits.
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

// run runs a command in the container, in all its namespaces, and returns
// its combined output and exit status. A command that cannot be run, or
// runs past commandTimeout, fails the test.
func (c *container) run(args ...string) (string, int) {
	c.t.Helper()
	return c.runIn("/", args...)
}

// runIn is run with the working directory dir, in the container.
func (c *container) runIn(dir string, args ...string) (string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := c.command(ctx, dir, args...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		c.t.Fatalf("%s: still running after %v\n%s", strings.Join(args, " "), commandTimeout, out)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		c.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), 0
}

// must runs a command in the container and fails the test unless it exits
// with status 0. It returns the command's output.
func (c *container) must(args ...string) string {
	c.t.Helper()
	out, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("%s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// command is the exec.Cmd that runs args in the container, in dir.
func (c *container) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	nsenter := append([]string{"--target=" + strconv.Itoa(c.leader), "--all", "--wdns=" + dir, "--"}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", nsenter...)
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C.UTF-8",
		"SYSTEMD_COLORS=0",
		"SYSTEMD_PAGER=",
	}
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// A background is a command running in the container while the test
// looks at what it does.
type background struct {
	args []string
	out  *syncBuffer
	done chan struct{}
	err  error
}

// start starts a command in the container, in dir. The test fails at its
// end if the command has not finished by then; the command is killed at
// the latest after commandTimeout.
func (c *container) start(dir string, args ...string) *background {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	cmd := c.command(ctx, dir, args...)
	b := &background{args: args, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = b.out, b.out
	if err := cmd.Start(); err != nil {
		cancel()
		c.t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	go func() {
		defer cancel()
		b.err = cmd.Wait()
		close(b.done)
	}()
	c.t.Cleanup(func() {
		cancel()
		<-b.done
	})
	return b
}

// finished reports whether the command has exited.
func (b *background) finished() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// wait waits for the command to exit and returns its output and exit
// status.
func (b *background) wait(t *testing.T) (string, int) {
	t.Helper()
	<-b.done // the command's context ends it after commandTimeout
	var exit *exec.ExitError
	if errors.As(b.err, &exit) {
		return b.out.String(), exit.ExitCode()
	}
	if b.err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(b.args, " "), b.err, b.out)
	}
	return b.out.String(), 0
}

// writeFile writes a file into the container's file system, from the
// host, creating its directory.
func (c *container) writeFile(path string, data []byte) {
	c.t.Helper()
	p := filepath.Join(c.root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer that a command's output and the test can
// use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
