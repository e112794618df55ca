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
	"strconv"
	"strings"
	"testing"
	"time"

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
}

func newUpgradeHarness(t *testing.T) *upgradeHarness {
	h := &upgradeHarness{harness: newHarness(t)}
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
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
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
		h.eventsUntil(fmt.Sprintf("drained %d", old))
		waitExit(t, old, 10*time.Second)
		h.pidFileNames(replacement)
		if got := server(t, addr); got != replacement {
			t.Fatalf("pid %d answered after the upgrade; want %d", got, replacement)
		}
		if st := readStat(t, replacement); st.sid == replacement || st.pgrp != replacement {
			t.Errorf("the new daemon's session %d, group %d: want no session of its own and a group of its own", st.sid, st.pgrp)
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
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", failed)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the failed new binary, pid %d, is still there (%v)", failed, err)
		}
		h.pidFileNames(old)
		if got := server(t, addr); got != old {
			t.Fatalf("after a failed upgrade (%s), pid %d answered; want the old daemon, %d", c.behaviour, got, old)
		}
	}
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
