//go:build linux

package daemon_test

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// The test binary doubles as the program under test: with roleEnv set,
// TestMain runs a launcher that calls daemon.Start (and, in the processes
// Start re-executes, becomes the daemon) instead of the tests.
const (
	roleEnv   = "DAEMONTEST_ROLE"   // "launcher", "runner" or "main"
	configEnv = "DAEMONTEST_CONFIG" // the daemon.Config, one field a line: Field=value
	initEnv   = "DAEMONTEST_INIT"   // ok, fail, panic, or wait
	serveEnv  = "DAEMONTEST_SERVE"  // ok, or stubborn: ignore SIGTERM
	eventsEnv = "DAEMONTEST_EVENTS" // a FIFO the hooks report to, one line each
	ttyEnv    = "DAEMONTEST_TTY"    // a terminal that Init opens without O_NOCTTY
	ignoreEnv = "DAEMONTEST_IGNORE" // signals the launcher ignores, comma-separated
	stagesEnv = "DAEMONTEST_STAGES" // if set, every process reports daemon.Reexecuted
	regainEnv = "DAEMONTEST_REGAIN" // if set, Init tries setuid(0) and reports
	reloadEnv = "DAEMONTEST_RELOAD" // the Reload hook's behaviour at each call: ok, fail or wait, comma-separated
	lockEnv   = "DAEMONTEST_LOCK"   // the file a "locker" locks as a daemon would
	hangEnv   = "DAEMONTEST_HANG"   // if set, the launcher's session leader hangs before it calls Start
)

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "":
		// Daemons the tests start are orphaned on purpose; as their
		// subreaper, the test process inherits them and can reap them, so
		// they never linger as zombies under an init that does not reap.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			fmt.Fprintln(os.Stderr, "PR_SET_CHILD_SUBREAPER:", err)
			os.Exit(1)
		}
		flag.Parse()
		endLeftoversAtDeadline() // leftovers_test.go
		code := m.Run()
		// Each test ends what it started: a process still running here is
		// a test's leak, which fails the run.
		if n := endLeftovers(); n > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: the tests left %d processes running; ended them\n", n)
			code = 1
		}
		os.Exit(code)
	case "launcher":
		os.Exit(launcher())
	case "main":
		daemon.Main(mainConfig(), &cliService{funcService: testService().(funcService)})
	case "runner":
		if err := daemon.Run(testConfig(), testService()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "locker":
		os.Exit(locker())
	case "upgrade":
		daemon.Main(mainConfig(), &upgradeService{}) // upgrade_test.go
	case "upgrade-environ":
		daemon.Main(mainConfig(), &environUpgradeService{}) // upgrade_test.go
	case "upgrade-hostile":
		daemon.Main(mainConfig(), &hostileService{}) // upgrade_hostile_test.go
	case "upgrade-hostile-environ":
		daemon.Main(mainConfig(), &environHostileService{}) // fdstore_test.go
	}
}

// launcher is the program's main for the start tests.
func launcher() int {
	for _, name := range strings.Split(os.Getenv(ignoreEnv), ",") {
		if n, err := strconv.Atoi(name); err == nil {
			ignoreRaw(unix.Signal(n)) // the runtime's own, which signal.Ignore leaves
		} else if name != "" {
			signal.Ignore(unix.SignalNum(name))
		}
	}
	if os.Getenv(stagesEnv) != "" {
		report(fmt.Sprintf("reexecuted=%v", daemon.Reexecuted()))
	}
	if sid, _ := unix.Getsid(0); os.Getenv(hangEnv) != "" && daemon.Reexecuted() && sid == os.Getpid() {
		// The program's own code, before it calls Start again, in the
		// session leader: it may block, as any code may.
		report("session leader hangs " + strconv.Itoa(os.Getpid()))
		waitForTest()
	}
	fmt.Printf("launcher sigign=%s sigblk=%s\n", statusField(os.Getpid(), "SigIgn"), blockedInAllThreads(os.Getpid()))
	pid, err := daemon.Start(testConfig(), testService())
	if errors.Is(err, daemon.ErrAlreadyRunning) {
		fmt.Printf("running %d\n", pid)
		return 3
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("started %d\n", pid)
	return 0
}

// locker takes the lock a daemon takes on the file named by lockEnv, says
// "locked", and holds it until its standard input is closed: a stranger's
// lock, in a process of its own, as POSIX record locks need.
func locker() int {
	f, err := os.OpenFile(os.Getenv(lockEnv), os.O_RDWR, 0)
	if errors.Is(err, os.ErrPermission) {
		// A stranger who may only read the file: enough for flock(2).
		f, err = os.Open(os.Getenv(lockEnv))
	}
	if err == nil {
		err = daemon.LockAsDaemon(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

func testConfig() daemon.Config {
	cfg := daemon.Config{Name: "testd"}
	for _, line := range strings.Split(os.Getenv(configEnv), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "PIDFile":
			cfg.PIDFile = v
		case "WorkDir":
			cfg.WorkDir = v
		case "Umask":
			u, _ := strconv.ParseInt(v, 8, 32)
			cfg.Umask = int(u)
		case "LogFile":
			cfg.LogFile = v
		case "User":
			cfg.User = v
		case "Group":
			cfg.Group = v
		case "StartTimeout":
			cfg.StartTimeout, _ = time.ParseDuration(v)
		case "FDStore":
			cfg.FDStore = v == "true"
		case "EnvAdd":
			// Env: the tests' own variables and PATH, the same in every
			// process of a start, and v.
			for _, kv := range os.Environ() {
				if strings.HasPrefix(kv, "DAEMONTEST_") || strings.HasPrefix(kv, "PATH=") {
					cfg.Env = append(cfg.Env, kv)
				}
			}
			cfg.Env = append(cfg.Env, v)
		}
	}
	if os.Getenv(ignoreEnv) != "" {
		// The launcher ignores signals; the daemon, which runs this same
		// main, must not do so again. This also exercises Config.Env.
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, ignoreEnv+"=") {
				cfg.Env = append(cfg.Env, kv)
			}
		}
	}
	return cfg
}

// funcService is a daemon.Service made of functions, each of which may be
// nil.
type funcService struct {
	init, serve, reload func(ctx context.Context) error
}

func (s funcService) Init(ctx context.Context) error   { return call(ctx, s.init) }
func (s funcService) Reload(ctx context.Context) error { return call(ctx, s.reload) }

func (s funcService) Serve(ctx context.Context) error {
	if s.serve == nil {
		<-ctx.Done()
		return nil
	}
	return s.serve(ctx)
}

func call(ctx context.Context, f func(context.Context) error) error {
	if f == nil {
		return nil
	}
	return f(ctx)
}

func testService() daemon.Service {
	return funcService{
		init: func(ctx context.Context) error {
			if tty := os.Getenv(ttyEnv); tty != "" {
				// Deliberately without O_NOCTTY, and kept open.
				if _, err := unix.Open(tty, unix.O_RDWR, 0); err != nil {
					return err
				}
			}
			if os.Getenv(regainEnv) != "" {
				if err := syscall.Setuid(0); err != nil {
					report("cannot regain root: " + err.Error())
				} else {
					report("regained root")
				}
			}
			switch os.Getenv(initEnv) {
			case "fail":
				return errors.New("init says no")
			case "panic":
				panic("init panics")
			case "child-fail", "child-panic":
				// A child that outlives Init unless the runtime ends it.
				child := exec.Command("sleep", "1000")
				if err := child.Start(); err != nil {
					return err
				}
				report("child " + strconv.Itoa(child.Process.Pid))
				if os.Getenv(initEnv) == "child-panic" {
					panic("init panics")
				}
				return errors.New("init says no")
			case "orphans":
				// Orphans for process 1 to reap, from a shell whose own
				// status the service waits for with os/exec.
				err := exec.Command("sh", "-c", "sleep 1000 & sleep 1000 & exit 3").Run()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 3 {
					return fmt.Errorf("the shell's status was taken: %v, want exit status 3", err)
				}
				report("pid " + strconv.Itoa(os.Getpid()))
			case "until-stopped":
				// Init that ends when stopped, and returns nil even so.
				report("init waiting")
				<-ctx.Done()
				return nil
			case "wait":
				report("init waiting")
				// The test answers on the same FIFO once it has checked that
				// the launcher is still waiting.
				f, err := os.Open(os.Getenv(eventsEnv) + ".go")
				if err != nil {
					return err
				}
				defer f.Close()
				line, err := bufio.NewReader(f).ReadString('\n')
				if err != nil {
					return err
				}
				if line == "fail\n" {
					return errors.New("init says no")
				}
			}
			report("init")
			if os.Getenv("NOTIFY_SOCKET") != "" || os.Getenv("LISTEN_FDS") != "" {
				report("protocol variables leak to the service")
			}
			return nil
		},
		serve: func(ctx context.Context) error {
			if os.Getenv(serveEnv) == "activation" {
				if err := serveActivated(ctx); err != nil {
					return err
				}
			}
			<-ctx.Done()
			report("serve cancelled")
			switch os.Getenv(serveEnv) {
			case "stubborn":
				select {}
			case "panic":
				panic("serve panics")
			}
			return nil
		},
		reload: func(ctx context.Context) error {
			slog.Info("reloading", "pid", os.Getpid())
			report("reload")
			switch nextReload() {
			case "fail":
				return errors.New("reload says no")
			case "wait":
				return waitForTest()
			}
			return nil
		},
	}
}

// reloads counts the Reload hook's calls in this process.
var reloads atomic.Int32

// nextReload returns what the Reload hook does this time: reloadEnv lists
// it for each call in turn, the last for the calls after it.
func nextReload() string {
	plan := strings.Split(os.Getenv(reloadEnv), ",")
	return plan[min(int(reloads.Add(1))-1, len(plan)-1)]
}

// waitForTest blocks until the test writes a line to the FIFO beside the
// events FIFO, which it does once it has checked that the process that
// asked for this hook is still waiting for it.
func waitForTest() error {
	f, err := os.Open(os.Getenv(eventsEnv) + ".go")
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = bufio.NewReader(f).ReadString('\n')
	return err
}

// report writes one line to the events FIFO, if there is one.
func report(event string) {
	if path := os.Getenv(eventsEnv); path != "" {
		if f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			fmt.Fprintln(f, event)
			f.Close()
		}
	}
}

// A harness starts launchers and ends every process they leave behind.
type harness struct {
	t      *testing.T
	dir    string
	config map[string]string
	env    []string
	fifo   string
	events chan string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	// Registered first, so it runs last: daemons that lost a race for the
	// pidfile exit on their own, orphaned, and end up as the test's zombies.
	t.Cleanup(reapOrphans)
	dir := t.TempDir()
	h := &harness{t: t, dir: dir, config: map[string]string{
		"PIDFile": filepath.Join(dir, "testd.pid"),
		"WorkDir": dir,
	}}
	fifo := filepath.Join(dir, "events")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Opened read-write, the FIFO never blocks a writer and never reports
	// end of file when one closes.
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.events = make(chan string, 16)
	go func() {
		s := bufio.NewScanner(f)
		for s.Scan() {
			h.events <- s.Text()
		}
	}()
	t.Cleanup(func() { f.Close() })
	h.fifo = fifo
	h.env = append(h.env, eventsEnv+"="+fifo)
	return h
}

func (h *harness) pidFile() string { return h.config["PIDFile"] }

func (h *harness) daemonConfig() daemon.Config {
	// The user is part of what makes a lock the daemon's.
	return daemon.Config{Name: "testd", PIDFile: h.pidFile(), User: h.config["User"]}
}

// command returns an unstarted launcher with the harness's configuration.
func (h *harness) command(role string, env ...string) *exec.Cmd {
	var cfg []string
	for k, v := range h.config {
		cfg = append(cfg, k+"="+v)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"="+role, configEnv+"="+strings.Join(cfg, "\n"))
	cmd.Env = append(cmd.Env, h.env...)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// start runs a launcher to completion and returns the daemon's pid, which
// the test ends when it finishes.
func (h *harness) start(env ...string) (pid int, launcherOut string) {
	h.t.Helper()
	out, err := h.command("launcher", env...).CombinedOutput()
	if err != nil {
		h.t.Fatalf("launcher: %v\n%s", err, out)
	}
	return h.startedPID(string(out)), string(out)
}

// startedPID finds the daemon's pid in the launcher's output and has the
// test end that process.
func (h *harness) startedPID(out string) int {
	h.t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "started "); ok {
			pid, err := strconv.Atoi(rest)
			if err != nil {
				h.t.Fatalf("launcher printed %q", line)
			}
			h.t.Cleanup(func() { endProcess(h.t, pid) })
			return pid
		}
	}
	h.t.Fatalf("launcher did not print the daemon's pid:\n%s", out)
	return 0
}

// mark writes a line to the events FIFO, after whatever was written so far.
func (h *harness) mark(line string) {
	h.t.Helper()
	f, err := os.OpenFile(h.fifo, os.O_WRONLY, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

// openToOthers lets another user (nobody, in the privilege tests) reach the
// harness's directory and report to its events FIFO.
func (h *harness) openToOthers() {
	h.t.Helper()
	for p, mode := range map[string]os.FileMode{filepath.Dir(h.dir): 0o755, h.dir: 0o777, h.fifo: 0o666} {
		if err := os.Chmod(p, mode); err != nil {
			h.t.Fatal(err)
		}
	}
}

// refusedStart runs a launcher that is expected to fail, and fails the test
// if it has not returned within 30 seconds: a refusal must not block.
func (h *harness) refusedStart() (string, error) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := h.command("launcher")
	launcher := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	launcher.Env = cmd.Env
	out, err := launcher.CombinedOutput()
	if ctx.Err() != nil {
		h.t.Fatalf("start blocked: %v\n%s", ctx.Err(), out)
	}
	return string(out), err
}

// startRunner starts a foreground daemon, which the test ends, and returns
// what it writes.
func (h *harness) startRunner(cmd *exec.Cmd) *strings.Builder {
	h.t.Helper()
	out := new(strings.Builder)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { endProcess(h.t, cmd.Process.Pid) })
	return out
}

// stopRunner ends a foreground daemon as a service manager would, with
// SIGTERM, and checks that it stopped cleanly.
func (h *harness) stopRunner(cmd *exec.Cmd, out fmt.Stringer) {
	h.t.Helper()
	cmd.Process.Signal(unix.SIGTERM)
	if err := cmd.Wait(); err != nil {
		h.t.Fatalf("runner: %v\n%s", err, out)
	}
	h.waitEvent("serve cancelled")
}

// eventsUntil returns the events before the line last.
func (h *harness) eventsUntil(last string) []string {
	h.t.Helper()
	var events []string
	for {
		select {
		case got := <-h.events:
			if got == last {
				return events
			}
			events = append(events, got)
		case <-time.After(10 * time.Second):
			h.t.Fatalf("no %q among the events within 10s; got %q", last, events)
		}
	}
}

// waitEvent waits for the next event from the hooks and checks it.
func (h *harness) waitEvent(want string) {
	h.t.Helper()
	select {
	case got := <-h.events:
		if got != want {
			h.t.Fatalf("event %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		h.t.Fatalf("no event %q within 10s", want)
	}
}

// endProcess kills pid, unless it is gone, waits until it has exited, and
// reaps it if it is the test's child (the daemons are, by the subreaper).
func endProcess(t *testing.T, pid int) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // already gone
	}
	defer unix.Close(pidfd)
	unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
	if !exited(pidfd, 10*time.Second) {
		t.Errorf("pid %d did not exit within 10s of SIGKILL", pid)
		return
	}
	reap(pid)
}

// waitExit waits up to timeout for pid to exit, and fails the test if it
// does not.
func waitExit(t *testing.T, pid int, timeout time.Duration) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // already gone
	}
	defer unix.Close(pidfd)
	if !exited(pidfd, timeout) {
		t.Errorf("pid %d did not exit within %v", pid, timeout)
	}
}

// reapOrphans reaps the test's children that have exited.
func reapOrphans() {
	for _, pid := range zombieChildren() {
		reap(pid)
	}
}

// reap collects the exit status of pid, an exited child of the test.
func reap(pid int) {
	var ws unix.WaitStatus
	for {
		if _, err := unix.Wait4(pid, &ws, 0, nil); !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// exited waits up to timeout for the process behind pidfd to exit.
func exited(pidfd int, timeout time.Duration) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		// Poll waits for ever on a negative timeout.
		n, err := unix.Poll(fds, max(0, int(time.Until(deadline).Milliseconds())))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return n > 0
	}
}

// procStat is what /proc/PID/stat says about a process.
type procStat struct {
	state                  string
	ppid, pgrp, sid, ttyNr int
}

func readStat(t *testing.T, pid int) procStat {
	t.Helper()
	st, err := parseStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// parseStat reads /proc/PID/stat, counting fields after the parenthesised
// command name, which may hold spaces.
func parseStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 5 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	n := func(i int) int { v, _ := strconv.Atoi(f[i]); return v }
	return procStat{state: f[0], ppid: n(1), pgrp: n(2), sid: n(3), ttyNr: n(4)}, nil
}

// statusField returns a field of /proc/PID/status.
func statusField(pid int, name string) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// blockedInAllThreads returns, in hex, the signals that every thread of pid
// blocks: those the process cannot receive. The Go runtime parks one thread
// with most signals blocked, so a single thread's SigBlk says little.
func blockedInAllThreads(pid int) string {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	all := ^uint64(0)
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "SigBlk:"); ok {
				m, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
				all &= m
			}
		}
	}
	return fmt.Sprintf("%016x", all)
}

func hasSignal(hexMask string, sig unix.Signal) bool {
	m, _ := strconv.ParseUint(hexMask, 16, 64)
	return m&(1<<(uint(sig)-1)) != 0
}

func fds(t *testing.T, pid int) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		if err == nil {
			m[e.Name()] = target
		}
	}
	return m
}

// TestStartDetaches starts a daemon the way a careless launcher would (an
// inherited descriptor, SIGHUP ignored as under nohup, a signal blocked, a
// umask) and checks what the kernel says about the daemon.
func TestStartDetaches(t *testing.T) {
	h := newHarness(t)
	h.config["Umask"] = "027"
	leak, err := os.Create(filepath.Join(h.dir, "leaked"))
	if err != nil {
		t.Fatal(err)
	}
	defer leak.Close()
	cmd := h.command("launcher", ignoreEnv+"=SIGHUP,SIGTTOU")
	cmd.ExtraFiles = []*os.File{leak} // fd 3 in the launcher, not close-on-exec
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	// The launcher starts with SIGUSR2 blocked: its parent blocked it on the
	// thread that forks.
	runtime.LockOSThread()
	var usr2, old unix.Sigset_t
	usr2.Val[0] = 1 << (uint(unix.SIGUSR2) - 1)
	unix.PthreadSigmask(unix.SIG_BLOCK, &usr2, &old)
	err = cmd.Run()
	unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatalf("launcher: %v\n%s", err, out.String())
	}
	pid := h.startedPID(out.String())
	h.waitEvent("init")

	// The launcher's own state proves the checks below can fail.
	var launcherIgn, launcherBlk string
	fmt.Sscanf(out.String(), "launcher sigign=%s sigblk=%s", &launcherIgn, &launcherBlk)
	if !hasSignal(launcherIgn, unix.SIGHUP) || !hasSignal(launcherBlk, unix.SIGUSR2) {
		t.Fatalf("launcher had SigIgn %s, SigBlk %s: the test did not set up SIGHUP ignored and SIGUSR2 blocked", launcherIgn, launcherBlk)
	}

	st := readStat(t, pid)
	if st.sid == pid {
		t.Errorf("daemon %d is a session leader: it could acquire a controlling terminal", pid)
	}
	if st.pgrp != st.sid {
		t.Errorf("daemon's process group %d is not its session's %d", st.pgrp, st.sid)
	}
	if mySID, _ := unix.Getsid(0); st.sid == mySID {
		t.Errorf("daemon is in the test's session %d", mySID)
	}
	if st.ttyNr != 0 {
		t.Errorf("daemon has controlling terminal %#x", st.ttyNr)
	}
	if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd != h.dir {
		t.Errorf("daemon's cwd = %q, want %q", cwd, h.dir)
	}
	if umask := statusField(pid, "Umask"); umask != "0027" {
		t.Errorf("daemon's umask = %s, want 0027", umask)
	}
	if ign := statusField(pid, "SigIgn"); ign != "0000000000000000" {
		t.Errorf("daemon ignores signals %s, want none (SIGHUP was ignored by its launcher)", ign)
	}
	if blk := blockedInAllThreads(pid); blk != "0000000000000000" {
		t.Errorf("daemon blocks signals %s in every thread, want none (SIGUSR2 was blocked in its launcher)", blk)
	}
	open := fds(t, pid)
	for fd := range 3 {
		if got := open[strconv.Itoa(fd)]; got != os.DevNull {
			t.Errorf("daemon's fd %d is %q, want %s", fd, got, os.DevNull)
		}
	}
	control := controlSocket(t, pid)
	for fd, target := range open {
		switch {
		case target == leak.Name():
			t.Errorf("daemon inherited the launcher's fd on %s as fd %s", target, fd)
		case target == control:
			// The daemon's own control socket, for reload.
		case strings.Contains(target, "gendaemon-handoff"), strings.HasPrefix(target, "pipe:"), strings.HasPrefix(target, "socket:"):
			t.Errorf("daemon still holds start-up descriptor %s: %s", fd, target)
		}
	}
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(environ), roleEnv+"=launcher") {
		t.Errorf("daemon's environ lacks the launcher's variables: %q", environ)
	}
	// The launcher passes its environment on, less the signals it ignores
	// (testConfig's Config.Env): anything more is a start-up marker.
	given := map[string]bool{}
	for _, kv := range cmd.Env {
		given[kv] = true
	}
	for _, kv := range strings.Split(strings.TrimSuffix(string(environ), "\x00"), "\x00") {
		if !given[kv] {
			t.Errorf("daemon's environ has %q, which its launcher did not: a start-up marker", kv)
		}
	}
	if got, err := daemon.Status(h.daemonConfig()); err != nil || got != pid {
		t.Errorf("Status = %d, %v; want %d, nil", got, err, pid)
	}
}

// TestStartDefaults checks the createDaemon recipe's defaults: umask 0 is
// honoured, not taken as unset, and the working directory is /.
func TestStartDefaults(t *testing.T) {
	h := newHarness(t)
	delete(h.config, "WorkDir")
	pid, _ := h.start()
	if umask := statusField(pid, "Umask"); umask != "0000" {
		t.Errorf("daemon's umask = %s, want 0000", umask)
	}
	if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd != "/" {
		t.Errorf("daemon's cwd = %q, want /", cwd)
	}
	st, err := os.Stat(h.pidFile())
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o644 {
		t.Errorf("pidfile mode = %v under umask 0, want 0644", mode)
	}
}

// openPTY opens a new pseudo-terminal, neither end as a controlling
// terminal; pts.Name() is the path of its slave.
func openPTY(t *testing.T) (master, pts *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, pts
}

// TestNeverAcquiresTerminal starts the launcher from a terminal it controls;
// the daemon then opens that terminal without O_NOCTTY.
func TestNeverAcquiresTerminal(t *testing.T) {
	h := newHarness(t)
	master, pts := openPTY(t)
	defer master.Close()
	defer pts.Close()
	ptsName := pts.Name()
	cmd := h.command("launcher", ttyEnv+"="+ptsName)
	var out strings.Builder
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Run(); err != nil {
		t.Fatalf("launcher: %v\n%s", err, out.String())
	}
	pid := h.startedPID(out.String())
	h.waitEvent("init")
	if st := readStat(t, pid); st.ttyNr != 0 {
		t.Errorf("daemon acquired controlling terminal %#x after opening %s", st.ttyNr, ptsName)
	}
	held := false
	for _, target := range fds(t, pid) {
		held = held || target == ptsName
	}
	if !held {
		t.Errorf("daemon does not hold %s open: the test proved nothing", ptsName)
	}
}

// TestReadyOnlyAfterInit holds the daemon in Init and checks that the
// launcher is still waiting.
func TestReadyOnlyAfterInit(t *testing.T) {
	h := newHarness(t)
	goFIFO := filepath.Join(h.dir, "events.go")
	if err := unix.Mkfifo(goFIFO, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := h.command("launcher", initEnv+"=wait")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	launcherPID := cmd.Process.Pid
	t.Cleanup(func() { endProcess(t, launcherPID) })
	pidfd, err := unix.PidfdOpen(launcherPID, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pidfd)
	h.waitEvent("init waiting")
	if exited(pidfd, 0) {
		t.Fatalf("launcher exited while the daemon was still in Init:\n%s", out.String())
	}
	release, err := os.OpenFile(goFIFO, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(release, "go")
	release.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("launcher: %v\n%s", err, out.String())
	}
	h.startedPID(out.String())
	h.waitEvent("init")
}

// TestInitFailure checks that an error or a panic in Init reaches the person
// who ran start, and that neither a process nor a pidfile is left.
func TestInitFailure(t *testing.T) {
	for _, tc := range []struct{ name, init, user, want string }{
		{"error", "fail", "", "init: init says no"},
		{"panic", "panic", "", "init panicked: init panics"},
		// The daemon cannot remove a pidfile it wrote as root.
		{"error as nobody", "fail", "nobody", "init: init says no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.user != "" && os.Geteuid() != 0 {
				t.Skip("needs root to switch users; CI runs as root")
			}
			h := newHarness(t)
			if tc.user != "" {
				h.config["User"] = tc.user
			}
			token := "DAEMONTEST_TOKEN=" + strconv.Itoa(os.Getpid()) + "-" + t.Name()
			out, err := h.command("launcher", initEnv+"="+tc.init, token).CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("launcher: %v, want exit status 1\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("launcher said %q, want it to contain %q", out, tc.want)
			}
			if _, err := os.Lstat(h.pidFile()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("pidfile left behind: %v", err)
			}
			if pids := processesWithEnv(token); len(pids) > 0 {
				for _, pid := range pids {
					endProcess(t, pid)
				}
				t.Errorf("processes left behind: %v", pids)
			}
		})
	}
}

// processesWithEnv lists the live processes whose environment holds kv.
func processesWithEnv(kv string) []int {
	return processes(func(pid int, st procStat) bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		return err == nil && st.state != "Z" && strings.Contains("\x00"+string(b), "\x00"+kv+"\x00")
	})
}

// processes lists the processes in /proc for which match is true.
func processes(match func(pid int, st procStat) bool) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := parseStat(pid); err == nil && match(pid, st) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestLifecycle runs start, a second start, reload, status and stop.
func TestLifecycle(t *testing.T) {
	h := newHarness(t)
	cfg := h.daemonConfig()
	if _, err := daemon.Status(cfg); !errors.Is(err, daemon.ErrNotRunning) {
		t.Fatalf("Status before start: %v, want ErrNotRunning", err)
	}
	pid, _ := h.start()
	h.waitEvent("init")

	out, err := h.command("launcher").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 || !strings.Contains(string(out), fmt.Sprintf("running %d", pid)) {
		t.Errorf("second start: %v\n%s\nwant it to report pid %d running", err, out, pid)
	}

	if got, err := daemon.Reload(cfg); err != nil || got != pid {
		t.Errorf("Reload = %d, %v; want %d, nil", got, err, pid)
	}
	h.waitEvent("reload")

	got, killed, err := daemon.Stop(cfg, 10*time.Second)
	if err != nil || got != pid || killed {
		t.Errorf("Stop = %d, %v, %v; want %d, false, nil", got, killed, err, pid)
	}
	h.waitEvent("serve cancelled")
	if !daemon.StopWaitsForExit {
		// Stop saw the lock go, which the daemon drops as it exits: the
		// exit itself follows at once.
		waitExit(t, pid, 5*time.Second)
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(st), ") Z ") {
		t.Errorf("daemon %d still runs after Stop: %s", pid, st)
	}
	if _, err := os.Lstat(h.pidFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile left after Stop: %v", err)
	}
	if _, err := daemon.Status(cfg); !errors.Is(err, daemon.ErrNotRunning) {
		t.Errorf("Status after stop: %v, want ErrNotRunning", err)
	}
	if _, _, err := daemon.Stop(cfg, time.Second); !errors.Is(err, daemon.ErrNotRunning) {
		t.Errorf("Stop when stopped: %v, want ErrNotRunning", err)
	}
}

// TestStopEscalates stops a daemon that ignores SIGTERM.
func TestStopEscalates(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.start(serveEnv + "=stubborn")
	h.waitEvent("init")
	got, killed, err := daemon.Stop(h.daemonConfig(), 100*time.Millisecond)
	if err != nil || got != pid || !killed {
		t.Fatalf("Stop = %d, %v, %v; want %d, true, nil", got, killed, err, pid)
	}
	if _, err := os.Lstat(h.pidFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile left after the daemon was killed: %v", err)
	}
}

// TestDeadDaemon kills the daemon behind the runtime's back: its pidfile is
// then stale, Status says so, and the next start replaces it.
func TestDeadDaemon(t *testing.T) {
	h := newHarness(t)
	cfg := h.daemonConfig()
	pid, _ := h.start()
	h.waitEvent("init")
	endProcess(t, pid)
	if _, err := daemon.Status(cfg); !errors.Is(err, daemon.ErrDead) {
		t.Fatalf("Status after SIGKILL: %v, want ErrDead", err)
	}
	if _, err := daemon.Reload(cfg); !errors.Is(err, daemon.ErrDead) {
		t.Errorf("Reload of a dead daemon: %v, want ErrDead", err)
	}
	pid2, _ := h.start()
	h.waitEvent("init")
	if got, err := daemon.Status(cfg); err != nil || got != pid2 {
		t.Errorf("Status after restart = %d, %v; want %d, nil", got, err, pid2)
	}
}

// TestPIDFileNotTrusted checks that a pidfile nobody has locked is never
// believed, whatever it holds, and that Stop signals nothing then.
func TestPIDFileNotTrusted(t *testing.T) {
	// A live process that is not the daemon: the pid a recycled pidfile names.
	victim := exec.Command("sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Process.Kill(); victim.Wait() })
	for _, content := range []string{"", "garbage\n", strconv.Itoa(victim.Process.Pid) + "\n"} {
		h := newHarness(t)
		cfg := h.daemonConfig()
		if err := os.WriteFile(h.pidFile(), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := daemon.Status(cfg); !errors.Is(err, daemon.ErrDead) {
			t.Errorf("pidfile %q: Status = %v, want ErrDead", content, err)
		}
		if _, _, err := daemon.Stop(cfg, time.Second); !errors.Is(err, daemon.ErrDead) {
			t.Errorf("pidfile %q: Stop = %v, want ErrDead", content, err)
		}
		if _, err := os.Lstat(h.pidFile()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("pidfile %q: stale pidfile not removed by Stop: %v", content, err)
		}
	}
	if st := readStat(t, victim.Process.Pid); st.state == "Z" {
		t.Errorf("the unrelated process %d was signalled", victim.Process.Pid)
	}
}

// TestSymlinkedPIDFile plants a symbolic link where the pidfile goes.
func TestSymlinkedPIDFile(t *testing.T) {
	h := newHarness(t)
	target := filepath.Join(h.dir, "target")
	if err := os.WriteFile(target, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, h.pidFile()); err != nil {
		t.Fatal(err)
	}
	out, err := h.command("launcher").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "symbolic link") {
		t.Errorf("start with a symlinked pidfile: %v\n%s\nwant a refusal naming the symbolic link", err, out)
	}
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	if _, err := daemon.Status(h.daemonConfig()); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Status with a symlinked pidfile: %v, want a refusal", err)
	}
}

// TestRun runs the service in the foreground and stops it with SIGTERM.
func TestRun(t *testing.T) {
	h := newHarness(t)
	cmd := h.command("runner")
	out := h.startRunner(cmd)
	h.waitEvent("init")
	if got, err := daemon.Status(h.daemonConfig()); err != nil || got != cmd.Process.Pid {
		t.Errorf("Status of a foreground daemon = %d, %v; want %d, nil", got, err, cmd.Process.Pid)
	}
	if st := readStat(t, cmd.Process.Pid); st.ppid != os.Getpid() {
		t.Errorf("run detached: parent %d, want the test %d", st.ppid, os.Getpid())
	}
	h.stopRunner(cmd, out)
}

// TestCrashOutputInLogFile makes Serve panic in a daemon with a log file:
// the panic and its stack must land in the log, not in /dev/null.
func TestCrashOutputInLogFile(t *testing.T) {
	h := newHarness(t)
	logFile := filepath.Join(h.dir, "testd.log")
	h.config["LogFile"] = logFile
	pid, _ := h.start(serveEnv + "=panic")
	h.waitEvent("init")
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pidfd)
	if _, _, err := daemon.Stop(h.daemonConfig(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !exited(pidfd, 10*time.Second) {
		t.Fatal("daemon did not exit")
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "panic: serve panics") || !strings.Contains(string(b), "goroutine ") {
		t.Errorf("log file lacks the panic and its stack:\n%s", b)
	}
	if st, err := os.Stat(logFile); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("log file mode = %v, %v; want 0640 under umask 0", st.Mode().Perm(), err)
	}
}

// TestDropPrivileges starts a daemon as root that runs as nobody:nogroup,
// and checks every id the kernel keeps, so that it cannot regain root.
func TestDropPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch users; CI runs as root")
	}
	h := newHarness(t)
	h.config["WorkDir"] = "/" // the test's own directory is private
	h.config["User"] = "nobody"
	h.config["Group"] = "nogroup"
	h.openToOthers()
	pid, _ := h.start(regainEnv + "=1")
	h.waitEvent("cannot regain root: operation not permitted")
	h.waitEvent("init")
	for _, field := range []string{"Uid", "Gid"} {
		got := strings.Fields(statusField(pid, field))
		if len(got) != 4 || got[0] != "65534" || got[1] != "65534" || got[2] != "65534" || got[3] != "65534" {
			t.Errorf("%s (real, effective, saved, filesystem) = %v, want 65534 everywhere", field, got)
		}
	}
	if groups := statusField(pid, "Groups"); groups != "65534" {
		t.Errorf("supplementary groups = %q, want only 65534", groups)
	}
	if got, killed, err := daemon.Stop(h.daemonConfig(), 10*time.Second); err != nil || got != pid || killed {
		t.Errorf("Stop = %d, %v, %v; want %d, false, nil", got, killed, err, pid)
	}
	if _, err := os.Lstat(h.pidFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stop left the pidfile the unprivileged daemon could not remove: %v", err)
	}
}

// TestDropPrivilegesAlreadyDone runs the service as systemd's User= would:
// already as the configured user, without root, so there is nothing to drop.
func TestDropPrivilegesAlreadyDone(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start the test as another user; CI runs as root")
	}
	h := newHarness(t)
	h.config["WorkDir"] = "/"
	h.config["User"] = "nobody"
	h.config["Group"] = "nogroup"
	delete(h.config, "PIDFile")
	// nobody must be able to run the test binary and report to the FIFO.
	exe := filepath.Join(h.dir, "daemon.test")
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	h.openToOthers()
	cmd := h.command("runner")
	cmd.Path, cmd.Args[0] = exe, exe
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out := h.startRunner(cmd)
	h.waitEvent("init")
	h.stopRunner(cmd, out)
}

// TestSymlinkedLogFile plants a symbolic link where the log file goes, in a
// world-writable directory as an attacker would: start is refused and
// nothing is written through the link.
func TestSymlinkedLogFile(t *testing.T) {
	h := newHarness(t)
	public := filepath.Join(h.dir, "public")
	if err := os.Mkdir(public, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(h.dir, "shadow")
	if err := os.WriteFile(target, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(public, "testd.log")
	if err := os.Symlink(target, logFile); err != nil {
		t.Fatal(err)
	}
	h.config["LogFile"] = logFile
	out, err := h.command("launcher").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "symbolic link") {
		t.Errorf("start with a symlinked log file: %v\n%s\nwant a refusal naming the symbolic link", err, out)
	}
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	if _, err := os.Lstat(h.pidFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile left after a refused start: %v", err)
	}
}
