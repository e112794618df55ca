//go:build linux

package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// serveActivated answers one connection on the socket-activated listener
// named "web" with the daemon's pid.
func serveActivated(ctx context.Context) error {
	files := daemon.Activation(ctx).Named("web")
	if len(files) != 1 {
		return fmt.Errorf("activated sockets named web: %d, want 1", len(files))
	}
	ln, err := net.FileListener(files[0])
	if err != nil {
		return err
	}
	defer ln.Close()
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	fmt.Fprintf(conn, "hello from %d\n", os.Getpid())
	return nil
}

// TestRunUnderSystemd runs the service as systemd would (Type=notify): the
// test is the service manager, with a real NOTIFY_SOCKET, and checks the
// datagrams of a whole life in order.
func TestRunUnderSystemd(t *testing.T) {
	h := newHarness(t)
	sock := filepath.Join(h.dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cmd := h.command("runner", "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=100000")
	out := h.startRunner(cmd)

	// recv returns the next datagram.
	recv := func() string {
		t.Helper()
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no datagram: %v\n%s", err, out.String())
		}
		return string(buf[:n])
	}
	// next returns the next datagram other than a watchdog keep-alive.
	next := func() string {
		t.Helper()
		for {
			if msg := recv(); msg != "WATCHDOG=1" {
				return msg
			}
		}
	}
	h.waitEvent("init")
	if got := next(); got != "READY=1" {
		t.Fatalf("first datagram %q, want READY=1", got)
	}
	// Type=notify-reload (systemd 253) sends SIGHUP and takes RELOADING=1
	// only with a MONOTONIC_USEC= no earlier than its signal.
	signalled := monotonicUsec(t)
	cmd.Process.Signal(unix.SIGHUP)
	reloading := next()
	usec, ok := strings.CutPrefix(reloading, "RELOADING=1\nMONOTONIC_USEC=")
	if !ok || usec == "" {
		t.Errorf("datagram on reload %q, want RELOADING=1 and MONOTONIC_USEC", reloading)
	}
	h.waitEvent("reload")
	if got := next(); got != "READY=1" {
		t.Errorf("datagram after reload %q, want READY=1", got)
	}
	if n, err := strconv.ParseInt(usec, 10, 64); err != nil || n < signalled || n > monotonicUsec(t) {
		t.Errorf("MONOTONIC_USEC=%s, want CLOCK_MONOTONIC in µs between SIGHUP (%d) and READY=1", usec, signalled)
	}
	// The watchdog runs at half of WATCHDOG_USEC: wait for one keep-alive.
	if got := recv(); got != "WATCHDOG=1" {
		t.Fatalf("datagram %q while waiting for WATCHDOG=1", got)
	}
	cmd.Process.Signal(unix.SIGTERM)
	if got := next(); got != "STOPPING=1" {
		t.Errorf("datagram on SIGTERM %q, want STOPPING=1", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("runner: %v\n%s", err, out.String())
	}
	h.waitEvent("serve cancelled")
}

// monotonicUsec reads CLOCK_MONOTONIC in microseconds, systemd's clock of
// MONOTONIC_USEC=.
func monotonicUsec(t *testing.T) int64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano() / 1000
}

// TestRunSocketActivated passes a listening socket at fd 3 with LISTEN_FDS
// and LISTEN_PID set, as systemd does for a .socket unit, and connects to it.
func TestRunSocketActivated(t *testing.T) {
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lnFile, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lnFile.Close()
	runner := h.command("runner", serveEnv+"=activation", "LISTEN_FDS=1", "LISTEN_FDNAMES=web")
	// LISTEN_PID must be the service's own pid, which only the shell that
	// execs it knows.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, runner.Path, "-test.run=^$")
	cmd.Env = runner.Env
	cmd.ExtraFiles = []*os.File{lnFile}
	out := h.startRunner(cmd)
	h.waitEvent("init")
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("hello from %d\n", cmd.Process.Pid); string(got) != want {
		t.Errorf("activated service answered %q, want %q", got, want)
	}
	cmd.Process.Signal(unix.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("runner: %v\n%s", err, out.String())
	}
	if events := h.eventsUntil("serve cancelled"); len(events) > 0 {
		t.Errorf("unexpected events %q", events)
	}
}

// TestLogRotation renames the log file as logrotate does, then reloads: the
// daemon must write to a new file at the old path, not to the renamed one.
func TestLogRotation(t *testing.T) {
	h := newHarness(t)
	logFile := filepath.Join(h.dir, "testd.log")
	h.config["LogFile"] = logFile
	pid, _ := h.start()
	h.waitEvent("init")
	cfg := h.daemonConfig()
	if _, err := daemon.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	h.waitEvent("reload")
	if err := os.Rename(logFile, logFile+".1"); err != nil {
		t.Fatal(err)
	}
	if _, err := daemon.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	h.waitEvent("reload")
	rotated, _ := os.ReadFile(logFile + ".1")
	fresh, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("no new log file after the reload: %v", err)
	}
	line := fmt.Sprintf("msg=reloading pid=%d", pid)
	if n := strings.Count(string(rotated), line); n != 1 {
		t.Errorf("rotated log has %d reload lines, want 1:\n%s", n, rotated)
	}
	if n := strings.Count(string(fresh), line); n != 1 {
		t.Errorf("new log has %d reload lines, want 1:\n%s", n, fresh)
	}
}

// TestJournalLogger checks the lines journald gets: a syslog priority in
// front, no time, and one line a record.
func TestJournalLogger(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	stream := fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	for _, tc := range []struct {
		name, env string
		want      bool
	}{
		{"same stream", stream, true},
		{"other inode", fmt.Sprintf("%d:%d", st.Dev, st.Ino+1), false},
		{"unset", "", false},
		{"malformed", "garbage", false},
	} {
		got := daemon.JournalStream(f, func(string) string { return tc.env })
		if got != tc.want {
			t.Errorf("%s: JournalStream(JOURNAL_STREAM=%q) = %v, want %v", tc.name, tc.env, got, tc.want)
		}
	}

	var buf bytes.Buffer
	log := daemon.NewLogger(&buf, true).With("unit", "testd")
	log.Debug("debug")
	log.Info("started", "pid", 7)
	log.Warn("slow")
	log.Error("failed", "err", "two\nlines")
	want := `<7>level=DEBUG msg=debug unit=testd
<6>level=INFO msg=started unit=testd pid=7
<4>level=WARN msg=slow unit=testd
<3>level=ERROR msg=failed unit=testd err="two\nlines"
`
	// Debug is below slog's default level.
	want = want[strings.Index(want, "\n")+1:]
	if buf.String() != want {
		t.Errorf("journal lines:\n%s\nwant:\n%s", buf.String(), want)
	}
}
