//go:build linux

package daemon_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// upgradeInitEnv names a file that says how the Init of the next daemon
// of the upgrade tests behaves: "fail", "crash", "hang", or anything else
// (or no file) to succeed. The old daemon and its replacement run the same
// binary, so a file read at Init, not the environment they share, tells
// the replacement apart.
const upgradeInitEnv = "DAEMONTEST_UPGRADE_INIT"

// upgradeService listens on a loopback port kept with daemon.Listen and
// answers each connection with its pid, so that a client sees which daemon
// accepted it.
type upgradeService struct {
	l net.Listener
}

func (s *upgradeService) Init(ctx context.Context) error {
	report(fmt.Sprintf("init %d", os.Getpid()))
	behaviour, _ := os.ReadFile(os.Getenv(upgradeInitEnv))
	switch strings.TrimSpace(string(behaviour)) {
	case "fail":
		return errors.New("init says no")
	case "crash":
		os.Exit(3)
	case "hang":
		<-ctx.Done()
		return ctx.Err()
	}
	f, err := daemon.Listen(ctx, "test", func() (net.Listener, error) {
		return net.Listen("tcp", "127.0.0.1:0")
	})
	if err != nil {
		return err
	}
	if s.l, err = net.FileListener(f); err != nil {
		return err
	}
	report(fmt.Sprintf("listening %s %d", s.l.Addr(), os.Getpid()))
	return nil
}

func (s *upgradeService) Serve(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		s.l.Close() // stops accepting; the socket stays open in the daemon
	}()
	for {
		conn, err := s.l.Accept()
		if err != nil {
			report(fmt.Sprintf("drained %d", os.Getpid()))
			return nil
		}
		fmt.Fprintf(conn, "%d\n", os.Getpid())
		conn.Close()
	}
}

// upgradeHarness drives the daemons of the upgrade tests through Main.
type upgradeHarness struct {
	*harness
	behaviour string // the file upgradeInitEnv names
	program   string // the daemon's binary: the test binary, or a copy
}

func newUpgradeHarness(t *testing.T) *upgradeHarness {
	h := &upgradeHarness{harness: newHarness(t), program: os.Args[0]}
	h.behaviour = filepath.Join(h.dir, "init-behaviour")
	h.env = append(h.env, upgradeInitEnv+"="+h.behaviour)
	return h
}

// run runs the upgrade service's main with args and returns its output
// and exit status.
func (h *upgradeHarness) run(args ...string) (stdout, stderr string, code int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.program, args...)
	cmd.Env = h.command("upgrade").Env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		h.t.Fatalf("%s: did not return within a minute", strings.Join(args, " "))
	}
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		code = exit.ExitCode()
	} else if err != nil {
		h.t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// listening waits for the event of a daemon that listens and returns its
// address and pid; each such daemon is ended when the test ends.
func (h *upgradeHarness) listening() (string, int) {
	h.t.Helper()
	for {
		select {
		case e := <-h.events:
			var addr string
			var pid int
			if _, err := fmt.Sscanf(e, "listening %s %d", &addr, &pid); err == nil {
				h.t.Cleanup(func() { endProcess(h.t, pid) })
				return addr, pid
			}
		case <-time.After(10 * time.Second):
			h.t.Fatal("no daemon listened within 10s")
		}
	}
}

// server returns the pid that answers a connection to addr.
func server(t *testing.T, addr string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("reading from %s: %v", addr, err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// pidFileNames fails the test unless the pidfile names pid.
func (h *upgradeHarness) pidFileNames(pid int) {
	h.t.Helper()
	data, err := os.ReadFile(h.pidFile())
	if err != nil || strings.TrimSpace(string(data)) != strconv.Itoa(pid) {
		h.t.Fatalf("pidfile: %q, %v; want pid %d", data, err, pid)
	}
	if out, _, code := h.run("status"); code != 0 || !strings.Contains(out, fmt.Sprintf("pid %d", pid)) {
		h.t.Fatalf("status: exit %d, %q; want pid %d running", code, out, pid)
	}
}

// TestUpgradeHandsOverTheListener checks the upgrade of a daemon started
// with start: the new process serves on the very socket the old one
// listened on, the pidfile names it, and the old one drains and exits;
// the new one can be upgraded again, and restart keeps the daemon's
// flags across the upgrades.
func TestUpgradeHandsOverTheListener(t *testing.T) {
	h := newUpgradeHarness(t)
	if _, errOut, code := h.run("start", "--start-timeout", "20s"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, errOut)
	}
	addr, old := h.listening()
	if got := server(t, addr); got != old {
		t.Fatalf("pid %d answered; want the daemon, %d", got, old)
	}
	for range 2 {
		out, errOut, code := h.run("upgrade")
		m := regexp.MustCompile(`^testd upgraded \(pid (\d+), replacing pid (\d+)\)\n$`).FindStringSubmatch(out)
		if code != 0 || m == nil || m[2] != strconv.Itoa(old) {
			t.Fatalf("upgrade: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		newAddr, replacement := h.listening()
		if newAddr != addr || strconv.Itoa(replacement) != m[1] {
			t.Fatalf("pid %d listens on %s; want pid %s on %s, the old daemon's socket", replacement, newAddr, m[1], addr)
		}
		// upgrade returns once the old daemon has drained and exited;
		// where it waits as stop does, by the pidfile's lock, which the
		// daemon drops after its Serve has returned, once it exits.
		if pidfd, err := unix.PidfdOpen(old, 0); err == nil {
			gone := exited(pidfd, 0)
			unix.Close(pidfd)
			if !gone && daemon.StopWaitsForExit {
				t.Fatalf("upgrade returned while the old daemon, pid %d, still ran", old)
			}
		}
		h.eventsUntil(fmt.Sprintf("drained %d", old))
		waitExit(t, old, 10*time.Second)
		h.pidFileNames(replacement)
		if got := server(t, addr); got != replacement {
			t.Fatalf("pid %d answered after the upgrade; want %d", got, replacement)
		}
		// Started as a start starts a daemon: not the old daemon's child,
		// in a session of its own that it does not lead.
		if st, was := readStat(t, replacement), readStat(t, old); st.sid == replacement || st.sid == was.sid || st.ppid == old {
			t.Errorf("the new daemon's session %d, parent %d (the old one's session %d): want a session of its own that it does not lead, and another parent than the old daemon", st.sid, st.ppid, was.sid)
		}
		old = replacement
	}
	if args := readFile(t, h.pidFile()+".args"); !strings.HasPrefix(args, strconv.Itoa(old)+"\n") || !strings.Contains(args, "--start-timeout\x0020s") {
		t.Errorf("start record %q: want the new pid with the flags of start", args)
	}
	if _, errOut, code := h.run("stop"); code != 0 {
		t.Fatalf("stop: exit %d, %q", code, errOut)
	}
	waitExit(t, old, 10*time.Second)
}

// TestUpgradeFailureKeepsServing checks that a new binary that fails, in
// each way it can, leaves the old daemon serving, its pidfile in place and
// nothing of the new one running, and that upgrade says why.
func TestUpgradeFailureKeepsServing(t *testing.T) {
	h := newUpgradeHarness(t)
	if _, errOut, code := h.run("start", "--start-timeout", "1s"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, errOut)
	}
	addr, old := h.listening()
	for _, c := range []struct{ behaviour, want string }{
		{"fail", "the new binary failed to start: init: init says no"},
		{"crash", "exited during start-up without saying why"},
		{"hang", "was not ready within 1s, so it was killed"},
	} {
		if err := os.WriteFile(h.behaviour, []byte(c.behaviour), 0o600); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := h.run("upgrade")
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("upgrade to a binary whose Init does %q: exit %d, %q; want 1 and %q", c.behaviour, code, errOut, c.want)
		}
		var failed int
		if _, err := fmt.Sscanf(h.nextEvent(), "init %d", &failed); err != nil || failed == old {
			t.Fatalf("no Init of a new binary (%v, pid %d)", err, failed)
		}
		// Killed by the old daemon: it exits (and init, here the test,
		// reaps it).
		waitExit(t, failed, 10*time.Second)
		reapOrphans()
		h.pidFileNames(old)
		if got := server(t, addr); got != old {
			t.Fatalf("after a failed upgrade (%s), pid %d answered; want the old daemon, %d", c.behaviour, got, old)
		}
	}

	// One upgrade at a time: a second one, asked for while the first
	// waits for a new binary that hangs, is refused at once.
	first := exec.Command(os.Args[0], "upgrade")
	first.Env = h.command("upgrade").Env
	var firstOut strings.Builder
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { endProcess(t, first.Process.Pid) })
	if e := h.nextEvent(); !strings.HasPrefix(e, "init ") {
		t.Fatalf("event %q; want the hanging binary's Init", e)
	}
	if _, errOut, code := h.run("upgrade"); code != 1 || !strings.Contains(errOut, "an upgrade is under way already") {
		t.Errorf("a second upgrade during the first: exit %d, %q; want 1, refused", code, errOut)
	}
	if err := first.Wait(); err == nil || !strings.Contains(firstOut.String(), "was not ready within 1s") {
		t.Errorf("the first upgrade: %v, %q; want it to fail on the start timeout", err, firstOut.String())
	}
	h.pidFileNames(old)
}

// readFile returns path's content, or fails the test.
func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A datagram is one notification a service manager received, with the
// sender's pid and the descriptors attached to it.
type datagram struct {
	state string
	pid   int
	fds   []int
}

// notifyReceiver is a service manager's notify socket that learns each
// sender's pid (SO_PASSCRED), as systemd's does.
func notifyReceiver(t *testing.T, path string) func() datagram {
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) })
	if err != nil {
		t.Fatal(err)
	}
	return func() datagram {
		t.Helper()
		buf, oob := make([]byte, 4096), make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		d := datagram{state: string(buf[:n])}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if cred, err := unix.ParseUnixCredentials(&m); err == nil {
				d.pid = int(cred.Pid)
			}
			if fds, err := unix.ParseUnixRights(&m); err == nil {
				d.fds = append(d.fds, fds...)
				for _, fd := range fds {
					t.Cleanup(func() { unix.Close(fd) })
				}
			}
		}
		return d
	}
}

// TestUpgradeUnderServiceManager upgrades a daemon that runs in the
// foreground under a service manager (run, Type=notify): the old daemon
// names the new one the main process (MAINPID=) and then says nothing
// more, not even STOPPING=1, as it drains; the new one, which inherited
// the listener, does not store it again, and speaks for the service from
// then on. With FDStore, the listener opened at first start went to the
// file descriptor store.
func TestUpgradeUnderServiceManager(t *testing.T) {
	h := newUpgradeHarness(t)
	h.config["FDStore"] = "true"
	recv := notifyReceiver(t, filepath.Join(h.dir, "notify"))
	cmd := exec.Command(os.Args[0], "run", "--pidfile", "")
	cmd.Env = h.command("upgrade", "NOTIFY_SOCKET="+filepath.Join(h.dir, "notify")).Env
	out := h.startForeground(cmd)
	addr, old := h.listening()
	if old != cmd.Process.Pid {
		t.Fatalf("pid %d listens; want the runner, %d", old, cmd.Process.Pid)
	}
	stored := recv()
	if stored.state != "FDSTORE=1\nFDNAME=test" || stored.pid != old || len(stored.fds) != 1 {
		t.Fatalf("first notification %+v; want FDSTORE=1 with FDNAME=test and one descriptor from pid %d", stored, old)
	}
	if name, err := unix.Getsockname(stored.fds[0]); err != nil || fmt.Sprint(name.(*unix.SockaddrInet4).Port) != addr[strings.LastIndex(addr, ":")+1:] {
		t.Errorf("the stored descriptor is bound to %v (%v); want the listener on %s", name, err, addr)
	}
	if d := recv(); d.state != "READY=1" || d.pid != old {
		t.Fatalf("notification %+v; want READY=1 from pid %d", d, old)
	}

	stdout, errOut, code := h.run("upgrade", "--pid", strconv.Itoa(old))
	if code != 0 {
		t.Fatalf("upgrade: exit %d, %q %q", code, stdout, errOut)
	}
	newAddr, replacement := h.listening()
	if newAddr != addr {
		t.Fatalf("the new daemon listens on %s; want %s", newAddr, addr)
	}
	d := recv()
	if want := fmt.Sprintf("MAINPID=%d\n", replacement); !strings.HasPrefix(d.state, want) || d.pid != old {
		t.Fatalf("notification %+v; want %q from the old daemon, %d", d, want, old)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the old daemon: %v\n%s", err, readFile(t, out))
	}
	if got := server(t, addr); got != replacement {
		t.Fatalf("pid %d answered; want the new daemon, %d", got, replacement)
	}
	if err := unix.Kill(replacement, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if d := recv(); d.state != "STOPPING=1" || d.pid != replacement {
		t.Errorf("notification %+v; want STOPPING=1 from the new daemon, %d, and nothing from the old one after MAINPID=", d, replacement)
	}
	waitExit(t, replacement, 10*time.Second)
}

// TestUpgradeOfUnprivilegedDaemon upgrades a daemon that dropped
// privileges to nobody: the new binary starts as nobody too, so it needs
// a pidfile directory nobody may write to; where it may not, the upgrade
// fails with a permission error and the old daemon serves on.
func TestUpgradeOfUnprivilegedDaemon(t *testing.T) {
	h := newUpgradeHarness(t)
	h.openToOthers()
	h.config["User"] = "nobody"
	// The test binary's directory is root's alone: nobody runs a copy.
	h.program = filepath.Join(h.dir, "testd")
	if err := exec.Command("cp", os.Args[0], h.program).Run(); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := h.run("start"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, errOut)
	}
	addr, old := h.listening()
	stdout, errOut, code := h.run("upgrade")
	if code != 0 {
		t.Fatalf("upgrade: exit %d, %q %q", code, stdout, errOut)
	}
	_, replacement := h.listening()
	if uid := statusField(replacement, "Uid"); !strings.HasPrefix(uid, "65534\t") {
		t.Errorf("the new daemon's Uid: %q; want nobody's", uid)
	}
	waitExit(t, old, 10*time.Second)
	h.pidFileNames(replacement)

	if err := os.Chmod(h.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = h.run("upgrade")
	if code != 1 || !strings.Contains(errOut, "permission denied (it runs as this daemon's user, uid 65534") {
		t.Errorf("upgrade without a pidfile directory the daemon's user may write to: exit %d, %q; want 1, permission denied and why", code, errOut)
	}
	h.pidFileNames(replacement)
	if got := server(t, addr); got != replacement {
		t.Errorf("pid %d answered; want %d", got, replacement)
	}
}

// startForeground starts cmd, a daemon that runs in the foreground, which
// the test ends, and returns the file its output goes to: a file, not a
// pipe, because the daemon that an upgrade starts inherits the old one's
// standard output (the journal, under systemd), and would hold a pipe
// open after the old one has exited.
func (h *harness) startForeground(cmd *exec.Cmd) string {
	h.t.Helper()
	out, err := os.Create(filepath.Join(h.dir, "runner.out"))
	if err != nil {
		h.t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { endProcess(h.t, cmd.Process.Pid) })
	return out.Name()
}

// environUpgradeService is upgradeService with an Environ that keeps only
// what the service needs, as daemon(7) advises: PATH and the tests' own
// variables, and none of the runtime's.
type environUpgradeService struct {
	upgradeService
}

func (s *environUpgradeService) Environ(inherited []string) []string {
	env := daemon.CleanEnviron(inherited)
	for _, kv := range inherited {
		if strings.HasPrefix(kv, "DAEMONTEST_") {
			env = append(env, kv)
		}
	}
	return env
}

// TestUpgradeOfForegroundDaemonWithEnviron upgrades a daemon that runs in
// the foreground (run, as under systemd) and whose service chooses its
// environment: the replacement runs run again, whose Environ must not
// take away the variables that name the files the old daemon handed over.
func TestUpgradeOfForegroundDaemonWithEnviron(t *testing.T) {
	h := newUpgradeHarness(t)
	cmd := exec.Command(os.Args[0], "run", "--pidfile", "")
	cmd.Env = h.command("upgrade-environ", "NOT_CHOSEN=by-environ").Env
	out := h.startForeground(cmd)
	addr, old := h.listening()
	// "listening" comes from Init; an answer comes from Serve, once the
	// daemon is ready, and takes an upgrade.
	server(t, addr)
	stdout, errOut, code := h.run("upgrade", "--pid", strconv.Itoa(old))
	if code != 0 {
		t.Fatalf("upgrade: exit %d, %q %q; the old daemon's output:\n%s", code, stdout, errOut, readFile(t, out))
	}
	newAddr, replacement := h.listening()
	if newAddr != addr {
		t.Fatalf("the new daemon listens on %s; want %s", newAddr, addr)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the old daemon: %v\n%s", err, readFile(t, out))
	}
	if got := server(t, addr); got != replacement {
		t.Fatalf("pid %d answered; want the new daemon, %d", got, replacement)
	}
	// What it was started with: Environ's choice, and the runtime's
	// variables, which Run unsets once it has taken them.
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", replacement))
	if err != nil {
		t.Fatal(err)
	}
	if kv := "NOT_CHOSEN=by-environ"; slices.Contains(strings.Split(string(environ), "\x00"), kv) {
		t.Errorf("the new daemon's environment has %q, which Environ did not choose", kv)
	}
	if err := unix.Kill(replacement, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitExit(t, replacement, 10*time.Second)
}

// TestUpgradeInContainerWithEnviron upgrades a daemon that runs as a
// container's entry point, where process 1 runs it as its child
// (reaper_unix.go), and whose service chooses its environment: process 1
// must learn of the new daemon and follow it, not end the container once
// the old one has drained.
func TestUpgradeInContainerWithEnviron(t *testing.T) {
	h := newUpgradeHarness(t)
	delete(h.config, "PIDFile") // a pid of the namespace means nothing outside it
	cmd := h.command("upgrade-environ")
	cmd.Path = "/usr/bin/unshare"
	cmd.Args = []string{"unshare", "-pf", "--mount-proc", "--kill-child", os.Args[0], "run", "--pidfile", ""}
	out := h.startForeground(cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the container's output:\n%s", readFile(t, out))
		}
	})
	// The pids the service reports are the namespace's.
	listening := func() (addr string, nspid int) {
		t.Helper()
		for {
			if _, err := fmt.Sscanf(h.nextEvent(), "listening %s %d", &addr, &nspid); err == nil {
				return addr, nspid
			}
		}
	}
	addr, _ := listening()
	init := onlyChild(t, cmd.Process.Pid)
	t.Cleanup(func() { endProcess(t, init) })
	// The service is process 1's only child (onlyChild reads the children
	// of a process's main thread, and process 1 starts it from another).
	services := processes(func(pid int, st procStat) bool { return st.ppid == init })
	if len(services) != 1 {
		t.Fatalf("children of process 1 (pid %d): %v; want the service alone\n%s", init, services, readFile(t, out))
	}
	old := services[0]
	t.Cleanup(func() { endProcess(t, old) })
	server(t, addr) // ready, so that SIGUSR2 upgrades it
	if err := unix.Kill(old, unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	newAddr, replacement := listening()
	if newAddr != addr {
		t.Fatalf("the new daemon listens on %s; want %s", newAddr, addr)
	}
	waitExit(t, old, 10*time.Second)
	// SIGTERM to process 1, as docker stop sends it, reaches the daemon
	// it follows, which drains; process 1 then exits with its status.
	if err := unix.Kill(init, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for e := h.nextEvent(); e != fmt.Sprintf("drained %d", replacement); e = h.nextEvent() {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("unshare: %v, want the new daemon's exit status 0\n%s", err, readFile(t, out))
	}
}
