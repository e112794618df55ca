//go:build unix && !aix && !netbsd

package daemon

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listenNotify listens on a unixgram socket at addr, a path or an @abstract
// name, as a service manager does on NOTIFY_SOCKET, and sets NOTIFY_SOCKET
// to it for the rest of the test.
func listenNotify(t *testing.T, addr string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen on %q: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", addr)
	return conn
}

// readDatagram returns the next datagram conn receives. The deadline only
// bounds a broken test; the datagrams are queued before it is needed.
func readDatagram(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("read notification: %v", err)
	}
	return string(buf[:n])
}

// monotonicUsec reads CLOCK_MONOTONIC in microseconds, independently of the
// code under test.
func monotonicUsec(t *testing.T) int64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano() / 1000
}

// clearNotifyEnv unsets the notify variables for the rest of the test, so a
// test run under systemd does not see the real manager's.
func clearNotifyEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
}

func TestNotifierSendsInOrder(t *testing.T) {
	tests := []struct {
		name string
		addr func(t *testing.T) string
	}{
		{"path", func(t *testing.T) string { return filepath.Join(t.TempDir(), "notify.sock") }},
		{"abstract", func(t *testing.T) string {
			if runtime.GOOS != "linux" {
				t.Skip("abstract sockets are Linux-only")
			}
			return "@gendaemon-test-" + rand.Text()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearNotifyEnv(t)
			conn := listenNotify(t, tt.addr(t))
			n := NotifierFromEnv()
			if !n.Enabled() {
				t.Fatal("Enabled() = false with NOTIFY_SOCKET set")
			}

			send := func(what string, f func() (bool, error)) {
				t.Helper()
				if sent, err := f(); !sent || err != nil {
					t.Fatalf("%s = (%v, %v), want (true, nil)", what, sent, err)
				}
			}
			send("Ready()", n.Ready)
			send("Status()", func() (bool, error) { return n.Status("loading\nREADY=1") })
			before := monotonicUsec(t)
			send("Reloading()", n.Reloading)
			after := monotonicUsec(t)
			send("Ready()", n.Ready)
			send("Stopping()", n.Stopping)
			send("Notify()", func() (bool, error) { return n.Notify("EXTEND_TIMEOUT_USEC=5000000") })

			if got, want := readDatagram(t, conn), "READY=1"; got != want {
				t.Errorf("datagram 1 = %q, want %q", got, want)
			}
			if got, want := readDatagram(t, conn), "STATUS=loading READY=1"; got != want {
				t.Errorf("datagram 2 = %q, want %q (a newline must not start a new assignment)", got, want)
			}
			reload := readDatagram(t, conn)
			usec, ok := strings.CutPrefix(reload, "RELOADING=1\nMONOTONIC_USEC=")
			if !ok {
				t.Errorf("datagram 3 = %q, want RELOADING=1\\nMONOTONIC_USEC=…", reload)
			} else if u, err := strconv.ParseInt(usec, 10, 64); err != nil || u < before || u > after {
				t.Errorf("datagram 3 MONOTONIC_USEC=%q, want a CLOCK_MONOTONIC time in [%d, %d]", usec, before, after)
			}
			for i, want := range []string{"READY=1", "STOPPING=1", "EXTEND_TIMEOUT_USEC=5000000"} {
				if got := readDatagram(t, conn); got != want {
					t.Errorf("datagram %d = %q, want %q", i+4, got, want)
				}
			}
		})
	}
}

func TestNotifierWithoutManager(t *testing.T) {
	clearNotifyEnv(t)
	t.Setenv("WATCHDOG_USEC", "1000")
	notifiers := map[string]*Notifier{
		"NotifierFromEnv":  NotifierFromEnv(),
		"NewNotifier(nil)": NewNotifier(nil),
		"zero":             {},
		"nil":              nil,
	}
	for name, n := range notifiers {
		t.Run(name, func(t *testing.T) {
			if n.Enabled() {
				t.Error("Enabled() = true, want false")
			}
			calls := map[string]func() (bool, error){
				"Notify":    func() (bool, error) { return n.Notify("READY=1") },
				"Ready":     n.Ready,
				"Stopping":  n.Stopping,
				"Status":    func() (bool, error) { return n.Status("idle") },
				"Reloading": n.Reloading,
				"Watchdog":  n.Watchdog,
			}
			for call, f := range calls {
				if sent, err := f(); sent || err != nil {
					t.Errorf("%s() = (%v, %v), want (false, nil)", call, sent, err)
				}
			}
			// No manager, no keep-alives: RunWatchdog must return by itself.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := n.RunWatchdog(ctx); err != nil || ctx.Err() != nil {
				t.Errorf("RunWatchdog() = %v after ctx %v, want nil at once", err, ctx.Err())
			}
		})
	}
}

func TestNotifierErrors(t *testing.T) {
	tests := []struct {
		name   string
		socket string
		state  string
		want   error // nil: any error
	}{
		{"no listener", "", "READY=1", unix.ENOENT},
		{"relative path", "notify.sock", "READY=1", nil},
		{"vsock", "vsock:2:1234", "READY=1", nil},
		{"empty state", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearNotifyEnv(t)
			socket := tt.socket
			if socket == "" {
				socket = filepath.Join(t.TempDir(), "absent.sock")
			}
			t.Setenv("NOTIFY_SOCKET", socket)
			sent, err := NotifierFromEnv().Notify(tt.state)
			if sent || err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Notify(%q) to %q = (%v, %v), want (false, error %v)", tt.state, socket, sent, err, tt.want)
			}
		})
	}
}

func TestUnsetNotifyEnv(t *testing.T) {
	clearNotifyEnv(t)
	conn := listenNotify(t, filepath.Join(t.TempDir(), "notify.sock"))
	t.Setenv("WATCHDOG_USEC", "30000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	n := NotifierFromEnv()

	if err := UnsetNotifyEnv(); err != nil {
		t.Fatalf("UnsetNotifyEnv() = %v", err)
	}
	for _, name := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
		if v, ok := os.LookupEnv(name); ok {
			t.Errorf("after UnsetNotifyEnv, %s=%q is still set", name, v)
		}
	}
	// The Notifier keeps what it read.
	if d, ok := n.WatchdogInterval(); d != 30*time.Second || !ok {
		t.Errorf("WatchdogInterval() = (%v, %v), want (30s, true)", d, ok)
	}
	if sent, err := n.Ready(); !sent || err != nil {
		t.Fatalf("Ready() = (%v, %v), want (true, nil)", sent, err)
	}
	if got := readDatagram(t, conn); got != "READY=1" {
		t.Errorf("datagram = %q, want %q", got, "READY=1")
	}
}

func TestWatchdogInterval(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	other := strconv.Itoa(os.Getppid())
	tests := []struct {
		name   string
		usec   string
		pid    string
		want   time.Duration
		wantOK bool
	}{
		{"unset", "", "", 0, false},
		{"no pid", "200000", "", 200 * time.Millisecond, true},
		{"our pid", "30000000", self, 30 * time.Second, true},
		{"another pid", "200000", other, 0, false},
		{"malformed pid", "200000", "self", 0, false},
		{"zero", "0", self, 0, false},
		{"negative", "-5", "", 0, false},
		{"malformed", "1s", "", 0, false},
		{"one microsecond", "1", "", time.Microsecond, true},
		{"overflows Duration", "9223372036854775807", "", 0, false},
		{"overflows int64", "99999999999999999999", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"WATCHDOG_USEC": tt.usec, "WATCHDOG_PID": tt.pid}
			n := NewNotifier(func(k string) string { return env[k] })
			if got, ok := n.WatchdogInterval(); got != tt.want || ok != tt.wantOK {
				t.Errorf("WatchdogInterval() with WATCHDOG_USEC=%q WATCHDOG_PID=%q = (%v, %v), want (%v, %v)",
					tt.usec, tt.pid, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestRunWatchdogSendsAtHalfInterval(t *testing.T) {
	clearNotifyEnv(t)
	conn := listenNotify(t, filepath.Join(t.TempDir(), "notify.sock"))
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	n := NotifierFromEnv()

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- n.RunWatchdog(ctx) }()

	const beats = 3
	for i := range beats {
		if got := readDatagram(t, conn); got != "WATCHDOG=1" {
			t.Fatalf("datagram %d = %q, want %q", i+1, got, "WATCHDOG=1")
		}
	}
	// A ticker never fires early, so the beats cannot come sooner than every
	// half interval; this catches a watchdog that spins.
	if elapsed, floor := time.Since(start), beats*100*time.Millisecond; elapsed < floor {
		t.Errorf("%d keep-alives after %v, want no sooner than %v", beats, elapsed, floor)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunWatchdog() = %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunWatchdog did not return 10s after its context was cancelled")
	}
}

func TestRunWatchdogNotAsked(t *testing.T) {
	tests := []struct {
		name string
		usec string
		pid  string
	}{
		{"another pid", "200000", strconv.Itoa(os.Getppid())},
		{"no WATCHDOG_USEC", "", ""},
		{"zero WATCHDOG_USEC", "0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearNotifyEnv(t)
			conn := listenNotify(t, filepath.Join(t.TempDir(), "notify.sock"))
			t.Setenv("WATCHDOG_USEC", tt.usec)
			t.Setenv("WATCHDOG_PID", tt.pid)
			n := NotifierFromEnv()

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := n.RunWatchdog(ctx); err != nil || ctx.Err() != nil {
				t.Fatalf("RunWatchdog() = %v after ctx %v, want nil at once", err, ctx.Err())
			}
			// Nothing was sent before this marker, or it would be read first.
			if sent, err := n.Notify("X_MARKER=1"); !sent || err != nil {
				t.Fatalf("Notify() = (%v, %v), want (true, nil)", sent, err)
			}
			if got := readDatagram(t, conn); got != "X_MARKER=1" {
				t.Errorf("first datagram = %q, want the marker %q", got, "X_MARKER=1")
			}
		})
	}
}

func TestRunWatchdogSendError(t *testing.T) {
	clearNotifyEnv(t)
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "absent.sock"))
	t.Setenv("WATCHDOG_USEC", "2000")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := NotifierFromEnv().RunWatchdog(ctx)
	if !errors.Is(err, unix.ENOENT) || ctx.Err() != nil {
		t.Errorf("RunWatchdog() to an absent socket = %v after ctx %v, want ENOENT at the first keep-alive", err, ctx.Err())
	}
}
