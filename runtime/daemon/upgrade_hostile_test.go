//go:build linux

package daemon_test

import (
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
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// The hostile upgrade tests drive the upgrade into the races and corners
// an operator or a local attacker reaches: a signal during start-up, a
// caller that gives up, a stop while an old daemon drains, a failed
// replacement's leftovers.

// hostileEnv names a file that says how the next Init of the hostile
// upgrade service behaves: "gate" (wait until the test releases it),
// "hang" (until cancelled), "crash", "stubborn" (succeed, but never
// return from Serve once cancelled), "two" (keep a second listener,
// "extra", and report its address after "listening"), or anything else to
// succeed.
const hostileEnv = "DAEMONTEST_HOSTILE"

// hostileService is upgradeService with behaviours that the hostile
// tests need: it listens on a loopback port kept with daemon.Listen and
// answers each connection with its pid.
type hostileService struct {
	l         net.Listener
	behaviour string
}

func (s *hostileService) Init(ctx context.Context) error {
	pid := os.Getpid()
	data, _ := os.ReadFile(os.Getenv(hostileEnv))
	s.behaviour = strings.TrimSpace(string(data))
	switch s.behaviour {
	case "gate":
		if err := waitAtGate(pid); err != nil {
			return err
		}
	case "hang":
		report(fmt.Sprintf("hanging %d", pid))
		<-ctx.Done()
		return ctx.Err()
	case "crash":
		report(fmt.Sprintf("crashing %d", pid))
		os.Exit(3)
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
	extra := ""
	if s.behaviour == "two" {
		// A new version that serves one more listener.
		f, err := daemon.Listen(ctx, "extra", func() (net.Listener, error) {
			return net.Listen("tcp", "127.0.0.1:0")
		})
		if err != nil {
			return err
		}
		l, err := net.FileListener(f)
		if err != nil {
			return err
		}
		extra = l.Addr().String()
		l.Close() // the daemon keeps f
	}
	report(fmt.Sprintf("listening %s %d", s.l.Addr(), pid))
	if extra != "" {
		report(fmt.Sprintf("extra %s %d", extra, pid))
	}
	return nil
}

func (s *hostileService) Serve(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		s.l.Close()
	}()
	for {
		conn, err := s.l.Accept()
		if err != nil {
			break
		}
		fmt.Fprintf(conn, "%d\n", os.Getpid())
		conn.Close()
	}
	report(fmt.Sprintf("draining %d", os.Getpid()))
	if s.behaviour == "stubborn" {
		select {} // a drain that never ends: long requests, a stuck client
	}
	return nil
}

// gatePath is the FIFO at which the daemon with pid waits in Init.
func gatePath(pid int) string {
	return filepath.Join(filepath.Dir(os.Getenv(eventsEnv)), "gate."+strconv.Itoa(pid))
}

// waitAtGate reports "gated PID" and waits for a byte on its own FIFO,
// opened read-write first, so that a byte the test writes is never lost.
func waitAtGate(pid int) error {
	path := gatePath(pid)
	if err := unix.Mkfifo(path, 0o666); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	report(fmt.Sprintf("gated %d", pid))
	var b [1]byte
	_, err = f.Read(b[:])
	return err
}

// hostileHarness runs the hostile upgrade service through Main.
type hostileHarness struct {
	*upgradeHarness
}

func newHostileHarness(t *testing.T) *hostileHarness {
	h := &hostileHarness{newUpgradeHarness(t)}
	h.env = append(h.env, hostileEnv+"="+h.behaviour)
	// Daemons work in the test's directory: end any that an event did not
	// name (a new binary that a fixed runtime starts later, say).
	t.Cleanup(func() {
		procs, _ := filepath.Glob("/proc/[0-9]*/cwd")
		for _, cwd := range procs {
			if dir, err := os.Readlink(cwd); err == nil && dir == h.dir {
				endProcess(t, atoi(filepath.Base(filepath.Dir(cwd))))
			}
		}
	})
	return h
}

// cmd returns the hostile service's main with args, unstarted.
func (h *hostileHarness) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = h.command("upgrade-hostile").Env
	return cmd
}

// main runs the hostile service's main with args to completion, for at
// most a minute, and returns its output and exit status.
func (h *hostileHarness) main(args ...string) (stdout, stderr string, code int) {
	h.t.Helper()
	cmd := h.cmd(args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		code = exit.ExitCode()
	} else if err != nil {
		h.t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// behave sets how the next Init behaves.
func (h *hostileHarness) behave(behaviour string) {
	h.t.Helper()
	if err := os.WriteFile(h.behaviour, []byte(behaviour), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// event waits for the next event that begins with word and a space, and
// returns what follows; earlier events are skipped. Daemons that an event
// names are ended when the test ends.
func (h *hostileHarness) event(word string) string {
	h.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case e := <-h.events:
			if rest, ok := strings.CutPrefix(e, word+" "); ok {
				return rest
			}
		case <-timeout:
			h.t.Fatalf("no %q event within 20s", word)
		}
	}
}

// gated waits until a daemon waits at its gate in Init and returns its pid.
func (h *hostileHarness) gated() int {
	h.t.Helper()
	pid, err := strconv.Atoi(h.event("gated"))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { endProcess(h.t, pid) })
	return pid
}

// release lets the daemon with pid past its gate, if it still waits there.
func (h *hostileHarness) release(pid int) {
	h.t.Helper()
	gate := filepath.Join(h.dir, "gate."+strconv.Itoa(pid)) // gatePath, in the daemon
	f, err := os.OpenFile(gate, os.O_WRONLY|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.ENXIO) {
		return // no one waits there any more
	}
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte{'\n'}); err != nil && !errors.Is(err, unix.EPIPE) {
		h.t.Fatal(err) // EPIPE: the daemon died as the byte was written
	}
}

// alive reports whether pid still runs (a zombie does not).
func alive(pid int) bool {
	st, err := parseStat(pid)
	return err == nil && st.state != "Z"
}

// eventually waits up to 20s for cond, checking it every 10ms, and fails
// the test with what if it never holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 20s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pidFileText returns the pidfile's pid, or "" if there is none.
func (h *hostileHarness) pidFileText() string {
	data, _ := os.ReadFile(h.pidFile())
	return strings.TrimSpace(string(data))
}

// TestUpgradeSignalDuringStartUp sends SIGUSR2 to a daemon whose Init is
// still running, as a script that upgrades right after a start or restart
// does. A daemon that has not started has nothing to hand over, and no
// start record or pidfile an operator can trust yet: the upgrade must not
// run then. Today dispatchSignals starts the upgrade at once; the new
// binary becomes ready and takes the pidfile's name, the old daemon hands
// over (cancelling its own context in the middle of Init), and when its
// Init returns, the start fails with "asked to stop while Init ran" while
// the replacement runs on: start reports failure and a daemon runs.
func TestUpgradeSignalDuringStartUp(t *testing.T) {
	h := newHostileHarness(t)
	h.config["LogFile"] = filepath.Join(h.dir, "testd.log")
	h.behave("gate")
	launcher := h.cmd("start", "--start-timeout", "30s")
	var out strings.Builder
	launcher.Stdout, launcher.Stderr = &out, &out
	if err := launcher.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { endProcess(t, launcher.Process.Pid) })
	old := h.gated()
	h.behave("ok")
	if err := unix.Kill(old, unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	// An upgrade under way shows within a moment: the new binary's Init
	// reports that it listens. A runtime that leaves SIGUSR2 alone during
	// start-up shows nothing, and the test goes on after the wait.
	select {
	case e := <-h.events:
		var addr string
		var replacement int
		if _, err := fmt.Sscanf(e, "listening %s %d", &addr, &replacement); err != nil {
			t.Fatalf("event %q; want none, or a new binary that listens", e)
		}
		t.Cleanup(func() { endProcess(t, replacement) })
		t.Errorf("SIGUSR2 during the start-up of pid %d started an upgrade: pid %d listens", old, replacement)
		// The old daemon hands over before its own Init has returned.
		eventually(t, "the old daemon hands over", func() bool {
			log, _ := os.ReadFile(h.config["LogFile"])
			return strings.Contains(string(log), "upgraded: the new daemon serves")
		})
	case <-time.After(3 * time.Second):
	}
	h.release(old)
	err := launcher.Wait()
	if err != nil || !strings.Contains(out.String(), fmt.Sprintf("testd started (pid %d)", old)) {
		t.Errorf("start: %v, %q; want it to report pid %d started", err, out.String(), old)
	}
	pid := h.pidFileText()
	if err != nil && pid != "" && alive(atoi(pid)) {
		t.Errorf("start reported failure, yet pid %s runs and its pidfile names it", pid)
	}
}

// atoi is strconv.Atoi without the error: 0 for what is not a number.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// TestUpgradeStopEndsTheDrainingDaemon upgrades a daemon whose drain does
// not end (a long request, a stuck client) and then stops the daemon. The
// old daemon no longer has the pidfile, so stop signals only the new one,
// and nothing ever bounds the old one's drain: stop reports the daemon
// stopped while the old daemon runs on, for ever, still holding the
// listening socket it handed over (the runtime keeps its descriptor), so
// that a connection to the port is queued where nobody accepts it rather
// than refused, and a start that binds the port fails with EADDRINUSE.
func TestUpgradeStopEndsTheDrainingDaemon(t *testing.T) {
	h := newHostileHarness(t)
	h.behave("stubborn")
	if _, errOut, code := h.main("start"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, errOut)
	}
	addr, old := h.listening()
	h.behave("ok")
	if err := unix.Kill(old, unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	_, replacement := h.listening()
	if e := h.event("draining"); e != strconv.Itoa(old) {
		t.Fatalf("pid %s drains; want the old daemon, %d", e, old)
	}
	out, errOut, code := h.main("stop", "--timeout", "2s")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("stopped (pid %d)", replacement)) {
		t.Fatalf("stop: exit %d, %q %q; want pid %d stopped", code, out, errOut, replacement)
	}
	waitExit(t, replacement, 10*time.Second)
	if alive(old) {
		t.Errorf("stop returned %q while pid %d, the daemon the upgrade replaced, still runs (draining for ever)", out, old)
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		conn.Close()
		t.Errorf("after stop, a connection to %s was accepted by the kernel: pid %d still holds the listening socket, and nobody will answer", addr, old)
	}
}

// TestUpgradeGivenUpByItsCaller asks for an upgrade with a --timeout
// shorter than the new binary's start-up, as happens whenever the daemon's
// start timeout (start --start-timeout, Config.StartTimeout) exceeds the
// command's default of DefaultStartTimeout+1s. upgrade reports failure
// (exit 1, "did not finish its upgrade"), and a deploy script rolls back;
// but the daemon does not notice that its caller has gone, so the new
// binary takes over later anyway, and the start record, which only the
// command rewrites, still names the old daemon (restart then drops the
// service's flags).
func TestUpgradeGivenUpByItsCaller(t *testing.T) {
	h := newHostileHarness(t)
	if _, errOut, code := h.main("start", "--start-timeout", "30s"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, errOut)
	}
	addr, old := h.listening()
	h.behave("gate")
	out, errOut, code := h.main("upgrade", "--timeout", "1s")
	if code == 0 || !strings.Contains(errOut, "did not finish its upgrade within 1s") {
		t.Fatalf("upgrade --timeout 1s to a binary still in Init: exit %d, %q %q; want it to give up", code, out, errOut)
	}
	replacement := h.gated()
	h.release(replacement)
	// Either the old daemon gave the upgrade up with its caller, and the
	// new binary was killed, or the new one took over and the old one
	// drains and exits.
	oldFD, err := unix.PidfdOpen(old, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(oldFD)
	newFD, err := unix.PidfdOpen(replacement, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(newFD)
	fds := []unix.PollFd{{Fd: int32(oldFD), Events: unix.POLLIN}, {Fd: int32(newFD), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 20000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if n == 0 || err != nil {
			t.Fatalf("neither pid %d nor pid %d exited within 20s (%v)", old, replacement, err)
		}
		break
	}
	if fds[0].Revents != 0 {
		t.Errorf("upgrade exited %d (%q), yet pid %d then took over and the old daemon, %d, exited; the pidfile names %s, the start record %q",
			code, strings.TrimSpace(errOut), replacement, old, h.pidFileText(), firstRecordLine(h))
	}
	if fds[0].Revents == 0 {
		if got := server(t, addr); got != old {
			t.Errorf("pid %d answered; want the old daemon, %d, which the failed upgrade left serving", got, old)
		}
	}
}

// firstRecordLine is the pid line of the start record.
func firstRecordLine(h *hostileHarness) string {
	data, _ := os.ReadFile(h.pidFile() + ".args")
	line, _, _ := strings.Cut(string(data), "\n")
	return line
}

// TestUpgradeOnSignalKeepsTheStartRecord upgrades with SIGUSR2, the
// issue's way for scripts, and checks what TestUpgradeHandsOverTheListener
// checks for the upgrade command: the start record names the new daemon,
// so that restart keeps the flags it was started with. Only the upgrade
// command rewrites the record, so after SIGUSR2 it names a daemon that is
// gone, and restart drops the service's flags ("records another daemon").
func TestUpgradeOnSignalKeepsTheStartRecord(t *testing.T) {
	h := newHostileHarness(t)
	if _, errOut, code := h.main("start", "--start-timeout", "20s"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, errOut)
	}
	_, old := h.listening()
	if err := unix.Kill(old, unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	_, replacement := h.listening()
	waitExit(t, old, 10*time.Second)
	h.pidFileNames(replacement)
	if args := readFile(t, h.pidFile()+".args"); !strings.HasPrefix(args, strconv.Itoa(replacement)+"\n") {
		t.Errorf("start record %q after an upgrade on SIGUSR2: want it to name the new daemon, pid %d", args, replacement)
	}
}

// TestUpgradeFailureLeavesNoStagedPIDFile makes upgrades fail in the two
// ways that end the new binary without its cleanup (killed at the start
// timeout, and a crash) and checks that nothing is left in the pidfile's
// directory but the pidfile and the start record. A replacement stages its
// pidfile for the whole of its Init: where it has a name there (the
// portable build, -tags gendaemon_portable, always; Linux without
// O_TMPFILE), each such failure leaves a locked-by-nobody .PID.*.pid.tmp
// behind for good.
func TestUpgradeFailureLeavesNoStagedPIDFile(t *testing.T) {
	h := newHostileHarness(t)
	if _, errOut, code := h.main("start", "--start-timeout", "1s"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, errOut)
	}
	_, old := h.listening()
	for _, behaviour := range []string{"hang", "crash"} {
		h.behave(behaviour)
		if _, errOut, code := h.main("upgrade"); code != 1 {
			t.Fatalf("upgrade to a binary that does %q: exit %d, %q; want 1", behaviour, code, errOut)
		}
		waitExit(t, atoi(h.event(map[string]string{"hang": "hanging", "crash": "crashing"}[behaviour])), 10*time.Second)
		reapOrphans()
	}
	h.pidFileNames(old)
	entries, err := os.ReadDir(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pid.tmp") {
			t.Errorf("%s is left in the pidfile's directory after failed upgrades", e.Name())
		}
	}
}

// TestUpgradeReplacementLostAfterPublishing: a new binary links its
// pidfile over the name once Init has returned, and only then reports
// READY. If it never reports - killed at the start timeout, crashed, or
// stopped by the old daemon's stop - in that moment, the old daemon says
// "upgrade failed; serving on", but the pidfile it serves on names the
// dead replacement: status says the daemon is dead (exit 1), stop says it
// is not running and removes the pidfile, and the old daemon runs on with
// no pidfile at all, out of reach of every command. The test stops the new
// binary (SIGSTOP) as soon as the pidfile's name changes, so that it
// misses the start timeout after publishing; where it was too late (READY
// was out already), it goes on from the new daemon and tries again.
func TestUpgradeReplacementLostAfterPublishing(t *testing.T) {
	h := newHostileHarness(t)
	if _, errOut, code := h.main("start", "--start-timeout", "1s"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, errOut)
	}
	addr, old := h.listening()
	watch, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(watch)
	if _, err := unix.InotifyAddWatch(watch, h.dir, unix.IN_MOVED_TO); err != nil {
		t.Fatal(err)
	}
	for try := 0; ; try++ {
		if try == 50 {
			t.Fatal("in 50 upgrades, the new binary could never be stopped between its pidfile and its READY")
		}
		h.behave("gate")
		upgrade := h.cmd("upgrade")
		var out strings.Builder
		upgrade.Stdout, upgrade.Stderr = &out, &out
		if err := upgrade.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { endProcess(t, upgrade.Process.Pid) })
		replacement := h.gated()
		h.release(replacement)
		awaitRename(t, watch, filepath.Base(h.pidFile()))
		unix.Kill(replacement, unix.SIGSTOP)
		err := upgrade.Wait()
		if err == nil {
			// Too late: it was ready; it serves now.
			unix.Kill(replacement, unix.SIGCONT)
			if e := h.event("listening"); !strings.HasSuffix(e, " "+strconv.Itoa(replacement)) {
				t.Fatalf("event %q; want pid %d listening", e, replacement)
			}
			waitExit(t, old, 10*time.Second)
			old = replacement
			continue
		}
		if !strings.Contains(out.String(), "was not ready within 1s") {
			t.Fatalf("upgrade: %v, %q; want it to fail on the start timeout", err, out.String())
		}
		waitExit(t, replacement, 10*time.Second)
		reapOrphans()
		t.Logf("stopped the new binary between its pidfile and READY at try %d", try+1)
		break
	}
	if got := server(t, addr); got != old {
		t.Fatalf("pid %d answered; want the old daemon, %d, serving on", got, old)
	}
	out, _, code := h.main("status")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("pid %d", old)) {
		t.Errorf("status after a failed upgrade: exit %d, %q; want pid %d, which serves on, running (the pidfile names %s)", code, out, old, h.pidFileText())
	}
	out, _, code = h.main("stop")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("stopped (pid %d)", old)) {
		t.Errorf("stop after a failed upgrade: exit %d, %q; want pid %d stopped", code, out, old)
	}
}

// awaitRename reads inotify events from watch until one says that a file
// was renamed to name.
func awaitRename(t *testing.T, watch int, name string) {
	t.Helper()
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(watch, buf)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			raw := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			if strings.TrimRight(string(raw), "\x00") == name {
				return
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

// TestUpgradeByPID upgrades a daemon named by its pid, as a unit's
// ExecReload= or a script without the pidfile does. On Linux the daemon
// answers over its control socket in every build; with -tags
// gendaemon_portable (which CI runs), upgradeDaemon then waits for the old
// daemon with process_lockwait.go, which can only wait through a pidfile,
// so upgrade --pid upgrades the daemon and then exits 1 with "waiting for
// a process without a pidfile is not supported here".
func TestUpgradeByPID(t *testing.T) {
	h := newHostileHarness(t)
	if _, errOut, code := h.main("start"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, errOut)
	}
	_, old := h.listening()
	out, errOut, code := h.main("upgrade", "--pid", strconv.Itoa(old))
	_, replacement := h.listening()
	if code != 0 || !strings.Contains(out, fmt.Sprintf("upgraded (pid %d, replacing pid %d)", replacement, old)) {
		t.Errorf("upgrade --pid %d: exit %d, %q %q; want pid %d reported as upgraded to %d", old, code, out, errOut, old, replacement)
	}
	waitExit(t, old, 10*time.Second)
}

// TestUpgradeFollowsTheSymlinkAtItsPath installs the daemon the way
// versioned deployments and package managers do (Homebrew's Cellar,
// alternatives, a "current" release symlink): the command is a symbolic
// link to the version's binary, and an upgrade points the link at the new
// version. The issue asks for "the binary now at its path"; the daemon
// records os.Executable(), which Linux resolves through the link
// (/proc/self/exe), so upgrade runs the old version's file again and
// reports success.
func TestUpgradeFollowsTheSymlinkAtItsPath(t *testing.T) {
	h := newHostileHarness(t)
	link := filepath.Join(h.dir, "testd")
	for _, version := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(h.dir, version), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := exec.Command("cp", os.Args[0], filepath.Join(h.dir, version, "testd")).Run(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("v1/testd", link); err != nil {
		t.Fatal(err)
	}
	start := exec.Command(link, "start")
	start.Env = h.command("upgrade-hostile").Env
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("start: %v, %q", err, out)
	}
	_, old := h.listening()
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", old)); exe != filepath.Join(h.dir, "v1", "testd") {
		t.Fatalf("the daemon runs %q; want v1", exe)
	}
	// The new version is installed, and the link points at it.
	if err := os.Symlink("v2/testd", link+".new"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(link+".new", link); err != nil {
		t.Fatal(err)
	}
	upgrade := exec.Command(link, "upgrade")
	upgrade.Env = h.command("upgrade-hostile").Env
	if out, err := upgrade.CombinedOutput(); err != nil {
		t.Fatalf("upgrade: %v, %q", err, out)
	}
	_, replacement := h.listening()
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", replacement)); exe != filepath.Join(h.dir, "v2", "testd") {
		t.Errorf("after the link at the daemon's path moved to v2, upgrade started %q", exe)
	}
}

// TestUpgradeStoresNewListenersFromTheMainPID upgrades a daemon under a
// service manager with the file descriptor store (FDStore) to a version
// that opens one more listener. Under NotifyAccess=main, which the README
// says suffices, systemd takes a notification only from the unit's main
// pid, and the new daemon is not main until the old one sends MAINPID=,
// after the new one's Init: the FDSTORE=1 that Listen sends from the new
// daemon's Init is dropped, and a later systemctl restart refuses
// connections on the new listener. The fake manager here keeps systemd's
// rule: each notification must come from the main pid of the moment.
func TestUpgradeStoresNewListenersFromTheMainPID(t *testing.T) {
	h := newHostileHarness(t)
	h.config["FDStore"] = "true"
	recv := notifyReceiver(t, filepath.Join(h.dir, "notify"))
	cmd := h.cmd("run", "--pidfile", "")
	cmd.Env = append(cmd.Env, "NOTIFY_SOCKET="+filepath.Join(h.dir, "notify"))
	h.startForeground(cmd)
	_, old := h.listening()
	main := old
	check := func(d datagram) {
		t.Helper()
		if d.pid != main {
			t.Errorf("notification %q from pid %d while the main pid is %d: systemd drops it under NotifyAccess=main", d.state, d.pid, main)
		}
		if rest, ok := strings.CutPrefix(d.state, "MAINPID="); ok && d.pid == main {
			main = atoi(strings.SplitN(rest, "\n", 2)[0])
		}
	}
	for _, want := range []string{"FDSTORE=1\nFDNAME=test", "READY=1"} {
		if d := recv(); d.state != want {
			t.Fatalf("notification %q; want %q", d.state, want)
		} else {
			check(d)
		}
	}
	h.behave("two")
	if stdout, errOut, code := h.main("upgrade", "--pid", strconv.Itoa(old)); code != 0 {
		t.Fatalf("upgrade: exit %d, %q %q", code, stdout, errOut)
	}
	_, replacement := h.listening()
	stored := false
	for !stored || main != replacement {
		d := recv()
		check(d)
		stored = stored || d.state == "FDSTORE=1\nFDNAME=extra"
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the old daemon: %v", err)
	}
}

// TestUpgradeUnderContainerInit upgrades a daemon that is a container's
// entry point (run as process 1, docker run; here unshare --pid --fork),
// with SIGUSR2 sent to the container's process 1, as docker kill -s USR2
// does. Process 1 is then the runtime's minimal init (runAsInit), which
// forwards the signal to the service, its only child, and exits with the
// service's status once that child has exited, which ends the container.
// The old daemon hands over and exits, so init exits, and the kernel kills
// every process of the pid namespace, the new daemon with them: in a
// container, a zero-downtime upgrade takes the service down.
func TestUpgradeUnderContainerInit(t *testing.T) {
	h := newHostileHarness(t)
	cmd := exec.Command("unshare", "--pid", "--fork", "--kill-child", "--", os.Args[0], "run", "--pidfile", "")
	cmd.Env = h.command("upgrade-hostile").Env
	out := h.startRunner(cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the container's output:\n%s", out)
		}
	})
	// Events name pids of the container's namespace: only the host's pids
	// are ended at cleanup, found as children.
	addr, _, _ := strings.Cut(h.event("listening"), " ")
	init := onlyChildOf(t, cmd.Process.Pid)
	t.Cleanup(func() { endProcess(t, init) }) // and with it the namespace
	service := onlyChildOf(t, init)
	// "listening" comes from Init; an answer comes from Serve, once the
	// daemon is ready, and takes an upgrade.
	server(t, addr)
	if err := unix.Kill(init, unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	h.event("listening") // the new daemon
	h.event("draining")  // the old one
	waitExit(t, service, 10*time.Second)
	pidfd, err := unix.PidfdOpen(init, 0)
	if err != nil {
		t.Fatalf("the container's init, pid %d, is gone as the old daemon exits (%v)", init, err)
	}
	defer unix.Close(pidfd)
	if exited(pidfd, 3*time.Second) {
		t.Fatalf("the container's init, pid %d, exited with the old daemon after the upgrade, ending the container and the new daemon in it", init)
	}
	if conn, err := net.DialTimeout("tcp", addr, 5*time.Second); err != nil {
		t.Errorf("after the upgrade, %s refuses: %v", addr, err)
	} else {
		conn.Close()
	}
}

// onlyChildOf returns the one child of pid, whichever of its threads
// started it (/proc/PID/task/TID/children lists each thread's own).
func onlyChildOf(t *testing.T, pid int) int {
	t.Helper()
	paths, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var children []string
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		children = append(children, strings.Fields(string(data))...)
	}
	if len(children) != 1 {
		t.Fatalf("children of %d: %q, want one", pid, children)
	}
	return atoi(children[0])
}

// TestUpgradeParsesFlagsWhereStartDid upgrades a daemon started with a
// service flag that is relative to where the command ran (the CLI tests'
// --data, made absolute when parsed). reexec keeps the launcher's working
// directory for every stage "so that the command line, which the stages
// parse again, means there what it meant here"; startUpgrade instead runs
// the new binary with the same command line in the old daemon's working
// directory (Config.WorkDir, "/" by default), so the new daemon reads
// another directory, file or socket path than the one it replaces.
func TestUpgradeParsesFlagsWhereStartDid(t *testing.T) {
	h := newHarness(t)
	launchDir := filepath.Join(h.dir, "launch")
	if err := os.Mkdir(launchDir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := exec.Command(os.Args[0], "start", "--data", "state")
	start.Dir = launchDir
	start.Env = h.command("main").Env
	out, err := start.CombinedOutput()
	if err != nil {
		t.Fatalf("start: %v, %q", err, out)
	}
	if m := regexp.MustCompile(`started \(pid (\d+)\)`).FindStringSubmatch(string(out)); m != nil {
		pid := atoi(m[1])
		t.Cleanup(func() { endProcess(t, pid) })
	}
	want := "data=" + filepath.Join(launchDir, "state")
	if e := h.eventsUntil(want); len(e) > 2 {
		t.Fatalf("events before %q: %q", want, e)
	}
	stdout, errOut, code := h.runMain("upgrade")
	if m := regexp.MustCompile(`upgraded \(pid (\d+)`).FindStringSubmatch(stdout); m != nil {
		replacement := atoi(m[1])
		t.Cleanup(func() { endProcess(t, replacement) })
	}
	if code != 0 {
		t.Fatalf("upgrade: exit %d, %q %q", code, stdout, errOut)
	}
	for {
		e := h.nextEvent()
		if got, ok := strings.CutPrefix(e, "data="); ok {
			if e != want {
				t.Errorf("the new daemon's --data state is %s; the daemon it replaced had %s", got, strings.TrimPrefix(want, "data="))
			}
			break
		}
	}
}

// TestUpgradeByAnotherUser runs upgrade as a user who is neither root nor
// the daemon's: the generated README promises exit status 4, "permission
// denied", as for reload. The daemon closes the control connection of
// such a caller without a word, which the client reports as a failure
// (exit 1): a script cannot tell "not allowed" from "the new binary
// failed", which the README gives status 1.
func TestUpgradeByAnotherUser(t *testing.T) {
	h := newHostileHarness(t)
	h.openToOthers()
	program := filepath.Join(h.dir, "testd")
	if err := exec.Command("cp", os.Args[0], program).Run(); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := h.main("start"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, errOut)
	}
	_, old := h.listening()
	for _, args := range [][]string{{"upgrade"}, {"upgrade", "--pid", strconv.Itoa(old)}} {
		cmd := exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", program}, args...)...)
		cmd.Env = h.command("upgrade-hostile").Env
		out, err := cmd.CombinedOutput()
		exit, _ := errors.AsType[*exec.ExitError](err)
		if exit == nil || exit.ExitCode() != 4 {
			t.Errorf("%s as nobody: %v, %q; want exit status 4, permission denied", strings.Join(args, " "), err, out)
		}
	}
	h.pidFileNames(old)
}

// TestUpgradePublishNamePlanted keeps the pidfile in a sticky directory
// open to all, as /tmp is, which the runtime supports on purpose (its
// lock checks distrust what others plant there). A replacement whose
// pidfile is unnamed (O_TMPFILE, the Linux default) publishes it by
// linking it first at .PID.pid.tmp, a name any local user can predict
// (pids are handed out in order) and take first: link(2) then fails with
// EEXIST and the upgrade fails. An unprivileged user who plants a few
// thousand names blocks every upgrade of the daemon; a normal start, which
// links straight at the pidfile's name, is not affected.
func TestUpgradePublishNamePlanted(t *testing.T) {
	h := newHostileHarness(t)
	h.openToOthers()
	shared := filepath.Join(h.dir, "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o1777); err != nil {
		t.Fatal(err)
	}
	h.config["PIDFile"] = filepath.Join(shared, "testd.pid")
	if _, errOut, code := h.main("start"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, errOut)
	}
	_, old := h.listening()
	// The attacker, user nobody, plants the names of the next pids.
	last := atoi(strings.TrimSpace(readFile(t, "/proc/sys/kernel/ns_last_pid")))
	pidMax := atoi(strings.TrimSpace(readFile(t, "/proc/sys/kernel/pid_max")))
	var script strings.Builder
	for i := 1; i <= 3000; i++ {
		pid := last + i
		if pid > pidMax {
			pid = pid - pidMax + 300 // the kernel wraps to 300
		}
		fmt.Fprintf(&script, ": > .%d.pid.tmp\n", pid)
	}
	plant := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", script.String())
	plant.Dir = shared
	if out, err := plant.CombinedOutput(); err != nil {
		t.Fatalf("planting: %v, %q", err, out)
	}
	out, errOut, code := h.main("upgrade")
	if code != 0 {
		t.Errorf("upgrade with names planted in the pidfile's sticky directory by user nobody: exit %d, %q %q; want it upgraded", code, out, errOut)
		h.pidFileNames(old)
		return
	}
	h.listening()
}

// TestUpgradeStatusDuringTheOverlap asks daemon.Status, over and over,
// while the daemon is upgraded again and again. The issue wants status
// and stop to stay correct while two processes run, and a daemon runs
// throughout. runningDaemon opens the pidfile's name, then checks the
// lock: a reader that opened the old daemon's file just before the new
// one's was renamed over it, and checks its lock just after the old one
// has drained and exited, finds it unlocked and says ErrDead ("not
// running, but pidfile exists"). Stop, on ErrDead, reports "not running"
// and exits 0 while the new daemon runs; status exits 1; restart's stop
// does the same and its start then finds the daemon "already running".
func TestUpgradeStatusDuringTheOverlap(t *testing.T) {
	h := newHostileHarness(t)
	if _, errOut, code := h.main("start"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, errOut)
	}
	_, old := h.listening()
	cfg := h.daemonConfig()
	var wrong, calls atomic.Int64
	var lastErr atomic.Value
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 3 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := daemon.Status(cfg); err != nil {
					wrong.Add(1)
					lastErr.Store(err)
				}
				calls.Add(1)
			}
		})
	}
	for range 20 {
		if err := unix.Kill(old, unix.SIGUSR2); err != nil {
			t.Fatal(err)
		}
		_, replacement := h.listening()
		waitExit(t, old, 10*time.Second)
		reapOrphans()
		old = replacement
	}
	close(done)
	readers.Wait()
	if wrong.Load() > 0 {
		t.Errorf("%d of %d calls of Status during 20 upgrades failed, the last with %q; a daemon ran throughout", wrong.Load(), calls.Load(), lastErr.Load())
	}
}

// TestUpgradeLeavesTheListenerNonBlocking upgrades a daemon to a new
// binary that waits in Init, and looks at the old daemon's sockets
// meanwhile. A listening socket handed over is one open file description
// shared by both daemons, and O_NONBLOCK belongs to it: a process of the
// upgrade that turned it blocking (unix.SetNonblock, or os.File.Fd on a
// file that Go itself made non-blocking) would leave the old daemon's
// next accept blocked in the kernel, where closing the listener to drain
// cannot wake it, until a client happens to connect.
func TestUpgradeLeavesTheListenerNonBlocking(t *testing.T) {
	h := newHostileHarness(t)
	if stdout, errOut, code := h.main("start"); code != 0 {
		t.Fatalf("start: exit %d, %q %q", code, stdout, errOut)
	}
	addr, old := h.listening()
	server(t, addr) // ready: an upgrade is taken
	h.behave("gate")
	upgrade := h.cmd("upgrade")
	if err := upgrade.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { endProcess(t, upgrade.Process.Pid) })
	replacement := h.gated()
	sockets := 0
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", old))
	for _, fd := range fds {
		if link, _ := os.Readlink(fd); !strings.HasPrefix(link, "socket:") {
			continue
		}
		sockets++
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", old, filepath.Base(fd)))
		if err != nil {
			t.Fatal(err)
		}
		var flags int64
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				flags, _ = strconv.ParseInt(strings.TrimSpace(v), 8, 64)
			}
		}
		if flags&unix.O_NONBLOCK == 0 {
			t.Errorf("the old daemon's descriptor %s (%s) is blocking (flags %o) while the new binary (pid %d) starts", filepath.Base(fd), mustReadlink(fd), flags, replacement)
		}
	}
	if sockets == 0 {
		t.Fatalf("the old daemon (pid %d) has no socket", old)
	}
	h.release(replacement)
	if err := upgrade.Wait(); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
}

// mustReadlink is the target of the symbolic link path, or "".
func mustReadlink(path string) string {
	target, _ := os.Readlink(path)
	return target
}
