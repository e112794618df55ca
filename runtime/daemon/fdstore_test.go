//go:build linux

package daemon_test

import (
	"errors"
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

// The files a daemon is handed for Listen, by the daemon it replaces or by
// systemd's file descriptor store, and that its Init does not claim: a new
// version that no longer listens under a name.

// TestUpgradeClosesTheListenerANewVersionDropped upgrades a daemon that
// keeps two listeners to a version that keeps one. The listener the new
// version dropped must be closed once the old daemon has exited: a daemon
// that held it on would keep its port bound, with connections queued that
// no one answers, and hand it to every later version.
func TestUpgradeClosesTheListenerANewVersionDropped(t *testing.T) {
	h := newHostileHarness(t)
	h.behave("two")
	if stdout, errOut, code := h.main("start"); code != 0 {
		t.Fatalf("start: exit %d, %q %q", code, stdout, errOut)
	}
	h.listening()
	extra, _, _ := strings.Cut(h.event("extra"), " ")
	h.behave("ok")
	for round := 1; round <= 2; round++ {
		old := atoi(h.pidFileText())
		if stdout, errOut, code := h.main("upgrade"); code != 0 {
			t.Fatalf("upgrade %d: exit %d, %q %q", round, code, stdout, errOut)
		}
		addr, replacement := h.listening()
		waitExit(t, old, 10*time.Second)
		if got := server(t, addr); got != replacement {
			t.Fatalf("upgrade %d: pid %d answered; want the new daemon, %d", round, got, replacement)
		}
		conn, err := net.DialTimeout("tcp", extra, 5*time.Second)
		if err == nil {
			conn.Close()
			t.Fatalf("upgrade %d: %s, the listener the new version dropped, still takes connections: a process holds it", round, extra)
		}
		if !errors.Is(err, unix.ECONNREFUSED) {
			t.Fatalf("upgrade %d: connecting to %s: %v; want the connection refused", round, extra, err)
		}
	}
}

// TestUpgradeRemovesTheDroppedListenerFromTheStore upgrades a daemon that
// runs under a service manager with the file descriptor store (FDStore)
// and keeps two listeners there to a version that keeps one. The new
// daemon must remove the other from the store (FDSTOREREMOVE=1), as the
// main process, since systemd would otherwise pass it back at every
// restart.
func TestUpgradeRemovesTheDroppedListenerFromTheStore(t *testing.T) {
	h := newHostileHarness(t)
	h.config["FDStore"] = "true"
	h.behave("two")
	recv := notifyReceiver(t, filepath.Join(h.dir, "notify"))
	cmd := h.cmd("run", "--pidfile", "")
	cmd.Env = append(cmd.Env, "NOTIFY_SOCKET="+filepath.Join(h.dir, "notify"))
	h.startForeground(cmd)
	_, old := h.listening()
	wantNotifications(t, recv, old, "FDSTORE=1\nFDNAME=test", "FDSTORE=1\nFDNAME=extra", "READY=1")
	h.behave("ok")
	if stdout, errOut, code := h.main("upgrade", "--pid", strconv.Itoa(old)); code != 0 {
		t.Fatalf("upgrade: exit %d, %q %q", code, stdout, errOut)
	}
	_, replacement := h.listening()
	main, removed := old, false
	for !removed {
		d := recv()
		if d.pid != main {
			t.Errorf("notification %q from pid %d while the main pid is %d: systemd drops it under NotifyAccess=main", d.state, d.pid, main)
		}
		if rest, ok := strings.CutPrefix(d.state, "MAINPID="); ok {
			main = atoi(strings.SplitN(rest, "\n", 2)[0])
		}
		switch d.state {
		case "FDSTOREREMOVE=1\nFDNAME=extra":
			removed = d.pid == replacement
		case "FDSTOREREMOVE=1\nFDNAME=test", "FDSTORE=1\nFDNAME=test":
			t.Errorf("notification %q from pid %d: the new daemon claimed test, which the store holds already", d.state, d.pid)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the old daemon: %v", err)
	}
}

// TestRestartRemovesUnclaimedNamesFromTheStore runs the daemon as systemd
// does after a restart with the file descriptor store: the stored
// listeners come back as activated sockets, "test", which Init claims,
// and "extra", which an earlier version kept and this one does not. The
// daemon must remove "extra" from the store before it is ready, and leave
// "test" there.
func TestRestartRemovesUnclaimedNamesFromTheStore(t *testing.T) {
	h := newHostileHarness(t)
	h.config["FDStore"] = "true"
	recv := notifyReceiver(t, filepath.Join(h.dir, "notify"))
	runActivated(h, "upgrade-hostile", "test:extra", tcpListenerFiles(t, 2))
	addr, pid := h.listening()
	if got := server(t, addr); got != pid {
		t.Fatalf("pid %d answered; want the daemon, %d", got, pid)
	}
	wantNotifications(t, recv, pid, "FDSTOREREMOVE=1\nFDNAME=extra", "READY=1")
}

// TestUpgradeStoresAListenerTakenBackFromActivation runs the daemon as
// systemd does after a restart with the file descriptor store: it is
// passed "test" and "extra", and this version claims only "test", so it
// removes "extra" from the store, but keeps the socket open among the
// activated ones and hands it on. An upgrade to a version that listens
// under "extra" again (a rollback) takes that socket; the store no longer
// holds it, so the new daemon must put it back there, as the main
// process: otherwise the next restart passes no "extra", and the port is
// closed across it, which is what the store is for. It runs the daemon
// with and without an Environ, which must not take away what the old
// daemon passes the new one.
func TestUpgradeStoresAListenerTakenBackFromActivation(t *testing.T) {
	for _, role := range []string{"upgrade-hostile", "upgrade-hostile-environ"} {
		t.Run(role, func(t *testing.T) { testUpgradeStoresAListenerTakenBack(t, role) })
	}
}

// environHostileService is hostileService with the Environ of
// environUpgradeService: the tests' variables and a clean environment.
type environHostileService struct {
	hostileService
}

func (s *environHostileService) Environ(inherited []string) []string {
	return (&environUpgradeService{}).Environ(inherited)
}

func testUpgradeStoresAListenerTakenBack(t *testing.T, role string) {
	h := newHostileHarness(t)
	h.config["FDStore"] = "true"
	recv := notifyReceiver(t, filepath.Join(h.dir, "notify"))
	files := tcpListenerFiles(t, 2)
	runActivated(h, role, "test:extra", files)
	_, old := h.listening()
	wantNotifications(t, recv, old, "FDSTOREREMOVE=1\nFDNAME=extra", "READY=1")
	h.behave("two")
	if stdout, errOut, code := h.main("upgrade", "--pid", strconv.Itoa(old)); code != 0 {
		t.Fatalf("upgrade: exit %d, %q %q", code, stdout, errOut)
	}
	_, replacement := h.listening()
	main := old
	for stored := false; !stored; {
		d := recv() // fails the test if the new daemon never stores "extra"
		if rest, ok := strings.CutPrefix(d.state, "MAINPID="); ok && d.pid == main {
			main = atoi(strings.SplitN(rest, "\n", 2)[0])
		}
		switch d.state {
		case "FDSTORE=1\nFDNAME=extra":
			if d.pid != replacement || main != replacement || len(d.fds) != 1 {
				t.Fatalf("%q from pid %d with %d descriptors while the main pid is %d; want it from the new daemon, %d, as main, with the socket", d.state, d.pid, len(d.fds), main, replacement)
			}
			var got, want unix.Stat_t
			if unix.Fstat(d.fds[0], &got) != nil || unix.Fstat(int(files[1].Fd()), &want) != nil || got.Ino != want.Ino {
				t.Fatalf("%q from pid %d: the descriptor is not the socket passed as extra", d.state, d.pid)
			}
			stored = true
		case "FDSTOREREMOVE=1\nFDNAME=extra":
			t.Fatalf("notification %q from pid %d: the new daemon listens under extra", d.state, d.pid)
		}
	}
}

// TestRestartTakesASocketPassedTwice runs the daemon as systemd does when
// its socket unit and its file descriptor store both hold the one socket
// under the name "test", which a version that takes a socket unit's
// socket with Listen after one that left it to Activation puts in the
// store: systemd passes it twice. The daemon must listen on it, not
// refuse to start because two sockets have the name.
func TestRestartTakesASocketPassedTwice(t *testing.T) {
	h := newHostileHarness(t)
	h.config["FDStore"] = "true"
	recv := notifyReceiver(t, filepath.Join(h.dir, "notify"))
	f := tcpListenerFiles(t, 1)[0]
	l, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	passed := l.Addr().String()
	l.Close()
	cmd := runActivated(h, "upgrade-hostile", "test:test", []*os.File{f, f})
	if d := recv(); d.state != "READY=1" || d.pid != cmd.Process.Pid {
		t.Fatalf("notification %q from pid %d; want READY=1 from the daemon, %d", d.state, d.pid, cmd.Process.Pid)
	}
	addr, pid := h.listening()
	if addr != passed {
		t.Errorf("the daemon listens on %s; want the socket passed, %s", addr, passed)
	}
	if got := server(t, addr); got != pid {
		t.Fatalf("pid %d answered; want the daemon, %d", got, pid)
	}
}

// tcpListenerFiles returns the files of n new loopback listeners, closed
// when the test ends.
func tcpListenerFiles(t *testing.T, n int) []*os.File {
	t.Helper()
	var files []*os.File
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := l.(*net.TCPListener).File()
		l.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
	}
	return files
}

// runActivated starts the main of role with run, in the foreground, as
// systemd starts a unit with socket activation or a file descriptor store:
// files passed from descriptor 3 on under names (LISTEN_FDNAMES, joined by
// ':'), LISTEN_PID the daemon's own, and the notify socket in h's
// directory. The test ends it.
func runActivated(h *hostileHarness, role, names string, files []*os.File) *exec.Cmd {
	cmd := exec.Command("sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, os.Args[0], "run", "--pidfile", "")
	cmd.Env = append(h.command(role).Env, "NOTIFY_SOCKET="+filepath.Join(h.dir, "notify"),
		"LISTEN_FDS="+strconv.Itoa(len(files)), "LISTEN_FDNAMES="+names)
	cmd.ExtraFiles = files
	h.startForeground(cmd)
	return cmd
}

// wantNotifications fails the test unless the next notifications recv
// gets are states, in this order, each from pid.
func wantNotifications(t *testing.T, recv func() datagram, pid int, states ...string) {
	t.Helper()
	for _, want := range states {
		if d := recv(); d.state != want || d.pid != pid {
			t.Fatalf("notification %q from pid %d; want %q from %d", d.state, d.pid, want, pid)
		}
	}
}
