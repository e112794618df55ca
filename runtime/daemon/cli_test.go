//go:build linux

package daemon_test

import (
	"context"
	"errors"
	"flag"
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
	"testing/fstest"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// clashEnv makes the CLI tests' service define a flag or a command whose
// name is taken: "flag" or "command".
const clashEnv = "DAEMONTEST_CLASH"

// spawnEnv makes the CLI tests' DefineFlags run a helper process, as code
// that computes a flag's default may (see spawnHelper).
const spawnEnv = "DAEMONTEST_SPAWN"

// spawnHelper runs readlink on descriptors 3 to 5 of its own process, with
// its standard output on the events FIFO: each descriptor it inherited
// shows as one event, its target ("pipe:[N]", "/memfd:..."). os/exec passes
// a child only descriptors 0 to 2 and those not marked close-on-exec.
func spawnHelper() {
	f, err := os.OpenFile(os.Getenv(eventsEnv), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	defer f.Close()
	cmd := exec.Command("readlink", "/proc/self/fd/3", "/proc/self/fd/4", "/proc/self/fd/5")
	cmd.Stdout = f
	cmd.Run()
}

// defineEnv makes the CLI tests' DefineFlags report its pid: which
// processes of a start run the service's code.
const defineEnv = "DAEMONTEST_REPORT_DEFINE"

// rewriteArgvEnv makes the CLI tests' Init, in the daemon, rewrite its own
// command line to "x start --config=VALUE", as a compromised daemon can.
const rewriteArgvEnv = "DAEMONTEST_REWRITE_ARGV"

// cliService is the service of the CLI tests: testService's hooks, with a
// flag, a command and an environment of its own, as a user's service.go
// adds them. It reports what Init sees to the events FIFO.
type cliService struct {
	funcService
	configPath string
	tags       []string // --tag, repeatable
	dataDir    string   // --data, made absolute
}

func (s *cliService) DefineFlags(flags *flag.FlagSet) {
	flags.StringVar(&s.configPath, "config", "", "`path` of the configuration file")
	flags.Func("tag", "a `tag` of the daemon; repeat the flag for several", func(v string) error {
		s.tags = append(s.tags, v)
		return nil
	})
	flags.Func("data", "`directory` of the daemon's data, relative to where the command runs", func(v string) (err error) {
		s.dataDir, err = filepath.Abs(v)
		return err
	})
	if os.Getenv(spawnEnv) != "" {
		spawnHelper()
	}
	if os.Getenv(defineEnv) != "" {
		report("define " + strconv.Itoa(os.Getpid()))
	}
	switch os.Getenv(clashEnv) {
	case "flag":
		flags.String("pidfile", "", "a flag that start has already")
	case "timeout":
		flags.Duration("timeout", time.Second, "a flag that restart and stop have, but not start")
	}
}

func (s *cliService) Init(ctx context.Context) error {
	report("config=" + s.configPath)
	environ := "environ=" + os.Getenv("CLITEST_ADDED")
	if base, ok := os.LookupEnv("CLITEST_BASE"); ok {
		environ += " base=" + base
	}
	if state, ok := os.LookupEnv("STATE_DIRECTORY"); ok {
		environ += " state=" + state
	}
	report(environ)
	if len(s.tags) > 0 {
		report("tags=" + strings.Join(s.tags, "|"))
	}
	if s.dataDir != "" {
		report("data=" + s.dataDir)
	}
	if conf := os.Getenv(rewriteArgvEnv); conf != "" {
		rewriteArgv("x", "start", "--config="+conf)
	}
	return s.funcService.Init(ctx)
}

// healthEnv names a file that steers the CLI tests' Healthy: "sick" makes
// it fail, "hang" makes it block until its deadline; anything else, or no
// file, is healthy.
const healthEnv = "DAEMONTEST_HEALTH"

func (s *cliService) Healthy(ctx context.Context) error {
	state, _ := os.ReadFile(os.Getenv(healthEnv))
	switch strings.TrimSpace(string(state)) {
	case "sick":
		return errors.New("the worker is stuck")
	case "hang":
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (s *cliService) Environ(inherited []string) []string {
	if os.Getenv(cleanEnv) != "" {
		return (&environUpgradeService{}).Environ(inherited) // CleanEnviron
	}
	if os.Getenv(clashEnv) == "environ" {
		return append(inherited, "CLITEST_ADDED=by-environ", "NOT_AN_ASSIGNMENT")
	}
	return append(inherited, "CLITEST_ADDED=by-environ")
}

func (s *cliService) Commands() []daemon.Command {
	name := "check-config"
	if os.Getenv(clashEnv) == "command" {
		name = "stop"
	}
	return []daemon.Command{{
		Name:        name,
		Summary:     "check the configuration file and exit",
		DefineFlags: s.DefineFlags,
		Run: func(ctx context.Context, args []string) error {
			if s.configPath == "" {
				return errors.New("no configuration file: use --config")
			}
			fmt.Printf("configuration %s is fine; arguments %q\n", s.configPath, args)
			return nil
		},
	}}
}

// rewriteArgv overwrites this process's command line in place, in the
// memory /proc/PID/cmdline reads, as any process can do to itself: Go's
// os.Args point into that memory. What is left of it is zeroed.
func rewriteArgv(args ...string) {
	first, last := os.Args[0], os.Args[len(os.Args)-1]
	start := unsafe.StringData(first)
	end := uintptr(unsafe.Pointer(unsafe.StringData(last))) + uintptr(len(last))
	area := unsafe.Slice(start, int(end-uintptr(unsafe.Pointer(start))))
	clear(area[copy(area, strings.Join(args, "\x00")+"\x00"):])
}

// cleanEnv, if set, makes the CLI tests' Environ a clean one, as daemon(7)
// advises: CleanEnviron and the tests' own variables.
const cleanEnv = "DAEMONTEST_CLEAN_ENVIRON"

// unitsEnv, if set, gives the CLI tests' daemon a systemd unit to install.
const unitsEnv = "DAEMONTEST_UNITS"

// mainConfig is the Config that the CLI tests' main hands to daemon.Main.
func mainConfig() daemon.Config {
	cfg := testConfig()
	cfg.Generator = "gendaemon test"
	if os.Getenv(unitsEnv) != "" {
		cfg.ServiceFiles = fstest.MapFS{"testd.service": &fstest.MapFile{
			Data: []byte("# Code generated by gendaemon. DO NOT EDIT.\n# testd.service: the systemd unit of testd.\n[Service]\nExecStart=/usr/local/bin/testd run\n"),
		}}
	}
	return cfg
}

// runMain runs the test binary as a daemon's main with args, to completion
// or for at most a minute, and returns its standard output, standard error
// and exit status. A daemon it starts is ended when the test ends.
func (h *harness) runMain(args ...string) (stdout, stderr string, code int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = h.command("main").Env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		h.t.Fatalf("%s: did not return within a minute", strings.Join(args, " "))
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		h.t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	for _, m := range regexp.MustCompile(`started \(pid (\d+)\)`).FindAllStringSubmatch(out.String(), -1) {
		pid, _ := strconv.Atoi(m[1])
		h.t.Cleanup(func() { endProcess(h.t, pid) })
	}
	return out.String(), errOut.String(), code
}

// TestMainFlagsReachDaemon checks the service's own flag end to end: given
// to start, it is seen by Init in the detached daemon, with the environment
// the service chose, and restart passes it on too.
func TestMainFlagsReachDaemon(t *testing.T) {
	h := newHarness(t)
	pidFile := filepath.Join(h.dir, "cli.pid")
	conf := filepath.Join(h.dir, "first.conf")
	out, errOut, code := h.runMain("start", "--pidfile", pidFile, "--config", conf)
	m := regexp.MustCompile(`^testd started \(pid (\d+)\)\n$`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("start: exit %d, stdout %q, stderr %q; want 0, testd started (pid N)", code, out, errOut)
	}
	if got := h.eventsUntil("init"); !equal(got, []string{"config=" + conf, "environ=by-environ"}) {
		t.Fatalf("the daemon's Init saw %q", got)
	}
	if pid, _ := strconv.Atoi(m[1]); readPIDFile(t, pidFile) != pid {
		t.Fatalf("pidfile holds %d, start printed %d", readPIDFile(t, pidFile), pid)
	}

	second := filepath.Join(h.dir, "second.conf")
	out, errOut, code = h.runMain("restart", "--pidfile", pidFile, "--config", second)
	want := regexp.MustCompile(`^testd stopped \(pid ` + m[1] + `\)\ntestd started \(pid (\d+)\)\n$`)
	if code != 0 || !want.MatchString(out) {
		t.Fatalf("restart: exit %d, stdout %q, stderr %q; want the old daemon stopped and a new one started", code, out, errOut)
	}
	if got := h.eventsUntil("init"); !equal(got, []string{"serve cancelled", "config=" + second, "environ=by-environ"}) {
		t.Fatalf("after restart, the daemon's hooks saw %q", got)
	}

	// A restart that names none of the service's flags keeps the running
	// daemon's.
	out, errOut, code = h.runMain("restart", "--pidfile", pidFile, "--start-timeout", "1m")
	want = regexp.MustCompile(`^testd restart: keeping the running daemon's --config\ntestd stopped \(pid \d+\)\ntestd started \(pid (\d+)\)\n$`)
	if code != 0 || !want.MatchString(out) {
		t.Fatalf("restart without --config: exit %d, stdout %q, stderr %q; want the flag kept", code, out, errOut)
	}
	if got := h.eventsUntil("init"); !equal(got, []string{"serve cancelled", "config=" + second, "environ=by-environ"}) {
		t.Fatalf("after a restart without --config, the daemon's hooks saw %q", got)
	}

	if out, _, code := h.runMain("status", "--pidfile", pidFile); code != 0 || !strings.HasPrefix(out, "testd is running") {
		t.Errorf("status: exit %d, %q; want 0, running", code, out)
	}
	if out, _, code := h.runMain("stop", "--pidfile", pidFile); code != 0 || !strings.HasPrefix(out, "testd stopped") {
		t.Errorf("stop: exit %d, %q; want 0, stopped", code, out)
	}
	if out, _, code := h.runMain("status", "--pidfile", pidFile); code != 3 || out != "testd is not running\n" {
		t.Errorf("status after stop: exit %d, %q; want 3, not running", code, out)
	}
	if _, errOut, code := h.runMain("reload", "--pidfile", pidFile); code != 7 {
		t.Errorf("reload with nothing running: exit %d (%q), want 7", code, errOut)
	}
}

// TestMainRestartKeepsRepeatedFlags checks that a restart without the
// service's flags gives the new daemon the values the running one was
// started with, for a flag given twice and defined with flags.Func, the
// standard library's way to collect repeated values (its String is "").
func TestMainRestartKeepsRepeatedFlags(t *testing.T) {
	h := newHarness(t)
	pidFile := filepath.Join(h.dir, "cli.pid")
	if out, errOut, code := h.runMain("start", "--pidfile", pidFile, "--tag", "a", "--tag", "b,c"); code != 0 {
		t.Fatalf("start: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}
	want := []string{"config=", "environ=by-environ", "tags=a|b,c"}
	if got := h.eventsUntil("init"); !equal(got, want) {
		t.Fatalf("the daemon's Init saw %q, want %q", got, want)
	}
	out, errOut, code := h.runMain("restart", "--pidfile", pidFile)
	if code != 0 {
		t.Fatalf("restart: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}
	if got := h.eventsUntil("init"); !equal(got, append([]string{"serve cancelled"}, want...)) {
		t.Errorf("after a restart without flags (stdout %q), the daemon's hooks saw %q; want the tags it was started with, %q", out, got, want[2])
	}
}

// TestMainRestartWithFlagTerminator checks restart with "--" after its
// flags, as scripts write to end the options: it replaces the running
// daemon, as restart without it does. The flags that restart keeps must not
// land after the "--", where the re-executed stages read them as arguments
// and exit before they start the daemon, with the old one already stopped.
func TestMainRestartWithFlagTerminator(t *testing.T) {
	h := newHarness(t)
	pidFile := filepath.Join(h.dir, "cli.pid")
	conf := filepath.Join(h.dir, "kept.conf")
	if out, errOut, code := h.runMain("start", "--pidfile", pidFile, "--config", conf); code != 0 {
		t.Fatalf("start: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}
	h.eventsUntil("init")
	out, errOut, code := h.runMain("restart", "--pidfile", pidFile, "--")
	if code != 0 {
		t.Errorf("restart --: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}
	if out, _, code := h.runMain("status", "--pidfile", pidFile); code != 0 {
		t.Errorf("status after restart --: exit %d, %q; want 0, running", code, out)
	}
}

// TestMainServiceFlagNamedTimeout checks a service's flag that start and
// run accept, because they have no flag of that name, but restart has
// (--timeout): whether it is refused or not, start and restart must agree,
// so that a daemon that started does not fail at its first restart.
func TestMainServiceFlagNamedTimeout(t *testing.T) {
	h := newHarness(t)
	h.env = append(h.env, clashEnv+"=timeout")
	pidFile := filepath.Join(h.dir, "cli.pid")
	if _, _, code := h.runMain("start", "--pidfile", pidFile); code != 0 {
		return // refused up front, as restart refuses it
	}
	h.eventsUntil("init")
	if out, errOut, code := h.runMain("restart", "--pidfile", pidFile); code != 0 {
		t.Errorf("start accepted the service's --timeout (exit 0), but restart: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestMainRestartDistrustsDaemonCommandLine starts, as root, a daemon that
// runs as nobody and then rewrites its own command line, as a compromised
// daemon can: /proc/PID/cmdline is the daemon's memory, not a record of how
// it was started. root's restart must not hand the new daemon the flags
// the old one wrote there.
func TestMainRestartDistrustsDaemonCommandLine(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a daemon that runs as nobody; CI runs as root")
	}
	h := newHarness(t)
	h.config["WorkDir"] = "/"
	h.config["User"] = "nobody"
	h.config["Group"] = "nogroup"
	h.openToOthers()
	injected := filepath.Join(h.dir, "injected.conf")
	h.env = append(h.env, rewriteArgvEnv+"="+injected)
	pidFile := filepath.Join(h.dir, "cli.pid")
	conf := filepath.Join(h.dir, "operator.conf")
	out, errOut, code := h.runMain("start", "--pidfile", pidFile, "--config", conf)
	if code != 0 {
		t.Fatalf("start: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}
	if got := h.eventsUntil("init"); len(got) == 0 || got[0] != "config="+conf {
		t.Fatalf("the daemon's Init saw %q, want config=%s first", got, conf)
	}
	pid := readPIDFile(t, pidFile)
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err != nil || !strings.Contains(string(cmdline), injected) {
		t.Fatalf("the daemon did not rewrite its command line: %q, %v", cmdline, err)
	}
	out, errOut, code = h.runMain("restart", "--pidfile", pidFile)
	if code != 0 {
		t.Fatalf("restart: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}
	if got := h.eventsUntil("init"); slices.Contains(got, "config="+injected) {
		t.Errorf("root's restart gave the new daemon the --config that the unprivileged daemon wrote into its own command line (stdout %q); its hooks saw %q", out, got)
	}
}

// TestMainEnvironEntryWithoutEquals checks an Environ that returns an entry
// that is not NAME=value: run refuses it; start must not pass it on to a
// daemon either.
func TestMainEnvironEntryWithoutEquals(t *testing.T) {
	h := newHarness(t)
	h.env = append(h.env, clashEnv+"=environ")
	pidFile := filepath.Join(h.dir, "cli.pid")
	_, runErr, runCode := h.runMain("run", "--pidfile", "")
	if runCode == 0 {
		t.Fatalf("run accepted the entry; stderr %q", runErr)
	}
	out, errOut, code := h.runMain("start", "--pidfile", pidFile)
	if code == 0 {
		environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", readPIDFile(t, pidFile)))
		t.Errorf("run refused the environment (exit %d, %q), but start started a daemon with it (stdout %q, stderr %q); its environment has NOT_AN_ASSIGNMENT: %v",
			runCode, runErr, out, errOut, strings.Contains(string(environ), "\x00NOT_AN_ASSIGNMENT\x00"))
	}
}

// TestMainRestartKeepsFlagsOfRun checks restart of a daemon that runs in
// the foreground with a pidfile (run --pidfile, as under a supervisor or
// in a container): as for one that start detached, a restart without the
// service's flags keeps those the running daemon was given, or says that
// it does not; it must not drop them silently.
func TestMainRestartKeepsFlagsOfRun(t *testing.T) {
	h := newHarness(t)
	pidFile := filepath.Join(h.dir, "cli.pid")
	conf := filepath.Join(h.dir, "run.conf")
	cmd := exec.Command(os.Args[0], "run", "--pidfile", pidFile, "--config", conf)
	cmd.Env = h.command("main").Env
	h.startRunner(cmd)
	h.eventsUntil("init")
	out, errOut, code := h.runMain("restart", "--pidfile", pidFile)
	if code != 0 {
		t.Fatalf("restart: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}
	if got := h.eventsUntil("init"); !slices.Contains(got, "config="+conf) && !strings.Contains(out+errOut, "not keeping") {
		t.Errorf("restart of a daemon run with --config %s: its hooks saw %q, and restart said %q, %q; want the flag kept, or a word that it is not", conf, got, out, errOut)
	}
}

// TestMainHonoursConfigStartTimeout gives Main a Config whose StartTimeout
// is 300ms, as a caller's defaults may, and no --start-timeout: a daemon
// whose Init never returns must be given up after 300ms, not after the
// flag's own default of 90s.
func TestMainHonoursConfigStartTimeout(t *testing.T) {
	h := newHarness(t)
	release := h.fifo + ".go"
	if err := unix.Mkfifo(release, 0o600); err != nil { // Init waits on it
		t.Fatal(err)
	}
	h.config["StartTimeout"] = "300ms"
	h.env = append(h.env, initEnv+"=wait")
	cmd := exec.Command(os.Args[0], "start", "--pidfile", filepath.Join(h.dir, "cli.pid"))
	cmd.Env = h.command("main").Env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.t.Cleanup(func() { endProcess(t, cmd.Process.Pid) })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	h.eventsUntil("init waiting")
	select {
	case err := <-done:
		if err == nil || !strings.Contains(out.String(), "was not ready within 300ms") {
			t.Errorf("start: %v, %q; want it to give up after Config.StartTimeout, 300ms", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("start still waits for Init 10s after Config.StartTimeout (300ms) has passed")
		if f, err := os.OpenFile(release, os.O_WRONLY, 0); err == nil {
			fmt.Fprintln(f, "go")
			f.Close()
		}
		<-done
		if m := regexp.MustCompile(`started \(pid (\d+)\)`).FindStringSubmatch(out.String()); m != nil {
			pid, _ := strconv.Atoi(m[1])
			endProcess(t, pid)
		}
	}
}

// TestMainHooksBeforeStartLeakNoDescriptors checks the processes that start
// re-executes: Main runs the service's code there (Commands, DefineFlags,
// flag.Value.Set) before Start has taken the stage handoff at descriptor 3
// and made the readiness pipe at 4 (and the session leader's STARTED pipe
// at 5) close-on-exec. A process that code
// starts must inherit neither: a helper that holds the readiness pipe
// keeps start waiting until it exits (past --start-timeout, the daemon is
// killed), and one that is the program itself reads the handoff as its own.
func TestMainHooksBeforeStartLeakNoDescriptors(t *testing.T) {
	h := newHarness(t)
	h.env = append(h.env, spawnEnv+"=1")
	pidFile := filepath.Join(h.dir, "cli.pid")
	if out, errOut, code := h.runMain("start", "--pidfile", pidFile); code != 0 {
		t.Fatalf("start: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}
	for _, event := range h.eventsUntil("init") {
		if strings.HasPrefix(event, "pipe:") || strings.HasPrefix(event, "/memfd:") {
			t.Errorf("a process started by the service's DefineFlags in a re-executed stage inherited a descriptor of the runtime: %s", event)
		}
	}
}

// TestMainSessionLeaderRunsNoServiceCode counts the processes of a start
// that run the service's code (DefineFlags): the launcher and the daemon,
// which parse the command line, and not the session leader between them,
// which needs nothing of it and only starts the daemon.
func TestMainSessionLeaderRunsNoServiceCode(t *testing.T) {
	h := newHarness(t)
	h.env = append(h.env, defineEnv+"=1")
	pidFile := filepath.Join(h.dir, "cli.pid")
	out, errOut, code := h.runMain("start", "--pidfile", pidFile)
	if code != 0 {
		t.Fatalf("start: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}
	daemonPID := readPIDFile(t, pidFile)
	var defined []string
	for _, event := range h.eventsUntil("init") {
		if pid, ok := strings.CutPrefix(event, "define "); ok {
			defined = append(defined, pid)
		}
	}
	if len(defined) != 2 || defined[1] != strconv.Itoa(daemonPID) {
		t.Errorf("the service's DefineFlags ran in pids %v; want the launcher's, then the daemon's (%d) alone", defined, daemonPID)
	}
}

// TestMainRunUsesServiceFlagsAndEnviron checks that run, in the foreground,
// sees the service's flag and environment as start does.
func TestMainRunUsesServiceFlagsAndEnviron(t *testing.T) {
	h := newHarness(t)
	conf := filepath.Join(h.dir, "run.conf")
	cmd := exec.Command(os.Args[0], "run", "--config", conf)
	cmd.Env = h.command("main").Env
	out := h.startRunner(cmd)
	if got := h.eventsUntil("init"); !equal(got, []string{"config=" + conf, "environ=by-environ"}) {
		t.Fatalf("run's Init saw %q", got)
	}
	h.stopRunner(cmd, out)
}

// TestMainConfigEnvUnderEnviron checks a Config.Env set in main beside the
// service's Environ: the daemon's environment is what Environ chooses from
// Config.Env, whether start detaches it or run runs it in the foreground.
func TestMainConfigEnvUnderEnviron(t *testing.T) {
	h := newHarness(t)
	h.config["EnvAdd"] = "CLITEST_BASE=from-config"
	want := []string{"config=", "environ=by-environ base=from-config"}
	out, errOut, code := h.runMain("start", "--pidfile", filepath.Join(h.dir, "env.pid"))
	if code != 0 {
		t.Fatalf("start: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if got := h.eventsUntil("init"); !equal(got, want) {
		t.Errorf("the detached daemon's Init saw %q; want %q", got, want)
	}
	if out, errOut, code := h.runMain("stop", "--pidfile", filepath.Join(h.dir, "env.pid")); code != 0 {
		t.Fatalf("stop: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	cmd := exec.Command(os.Args[0], "run")
	cmd.Env = h.command("main").Env
	runOut := h.startRunner(cmd)
	if got := h.eventsUntil("init"); !equal(got, append([]string{"serve cancelled"}, want...)) {
		t.Errorf("run's Init saw %q; want %q", got, want)
	}
	h.stopRunner(cmd, runOut)
}

// TestMainRunKeepsWhatSystemdTellsTheService runs a service whose Environ
// starts from a clean environment, as daemon(7) advises, under run, as a
// unit does. What systemd tells the service of itself, such as the
// directory of StateDirectory= ($STATE_DIRECTORY, which the unit options
// promise), is the service manager's, not the inherited environment's, and
// must survive that choice.
func TestMainRunKeepsWhatSystemdTellsTheService(t *testing.T) {
	h := newHarness(t)
	cmd := exec.Command(os.Args[0], "run")
	cmd.Env = append(h.command("main").Env, cleanEnv+"=1", "STATE_DIRECTORY=/var/lib/testd")
	out := h.startRunner(cmd)
	if got, want := h.eventsUntil("init"), []string{"config=", "environ= state=/var/lib/testd"}; !equal(got, want) {
		t.Errorf("run's Init saw %q; want %q", got, want)
	}
	h.stopRunner(cmd, out)
}

// TestMainCommands checks a command the service adds: its flags, its
// arguments, its error and exit status, and its place in help.
func TestMainCommands(t *testing.T) {
	h := newHarness(t)
	out, errOut, code := h.runMain("check-config", "--config", "/etc/x.conf", "a", "b")
	if want := "configuration /etc/x.conf is fine; arguments [\"a\" \"b\"]\n"; code != 0 || out != want {
		t.Errorf("check-config: exit %d, stdout %q, stderr %q; want 0, %q", code, out, errOut, want)
	}
	_, errOut, code = h.runMain("check-config")
	if want := "testd check-config: no configuration file: use --config\n"; code != 1 || errOut != want {
		t.Errorf("check-config without --config: exit %d, stderr %q; want 1, %q", code, errOut, want)
	}
	out, _, code = h.runMain("help")
	if code != 0 || !regexp.MustCompile(`(?m)^  check-config +check the configuration file and exit$`).MatchString(out) {
		t.Errorf("help: exit %d, it does not list check-config:\n%s", code, out)
	}
}

// TestMainUsage checks the command line's answers to help, version and
// mistakes: where they are printed and with which exit status.
func TestMainUsage(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		args       []string
		code       int
		stdout     string // a regular expression, or "" for nothing
		stderr     string
		clash      string
		noDaemonOK bool
	}{
		{args: nil, code: 2, stderr: `(?s)^usage: testd command \[flags\].*  start  `},
		{args: []string{"help"}, code: 0, stdout: `(?s)^usage: testd command.*  version  .*help COMMAND`},
		{args: []string{"--help"}, code: 0, stdout: `^usage: testd command`},
		{args: []string{"-h"}, code: 0, stdout: `^usage: testd command`},
		{args: []string{"help", "start"}, code: 0, stdout: `(?s)^usage: testd start \[flags\].*-config path.*-pidfile path.*-start-timeout`},
		{args: []string{"stop", "--help"}, code: 0, stdout: `(?s)^usage: testd stop \[flags\].*-timeout duration`},
		{args: []string{"version"}, code: 0, stdout: `(?s)^testd \S+\nmodule: .*\nrevision: .*\ngo: +go1\.\d+.*\ngenerator: gendaemon test\n$`},
		{args: []string{"--version"}, code: 0, stdout: `generator: gendaemon test\n$`},
		{args: []string{"bogus"}, code: 2, stderr: `^testd: unknown command "bogus"; run 'testd help' for the commands\n$`},
		{args: []string{"help", "bogus"}, code: 2, stderr: `unknown command "bogus"`},
		{args: []string{"start", "--bogus"}, code: 2, stderr: `^testd start: flag provided but not defined: -bogus\nrun 'testd help start' for its flags\n$`},
		{args: []string{"status", "extra"}, code: 2, stderr: `^testd status: unexpected argument "extra"\n$`},
		{args: []string{"stop", "--timeout", "-1s"}, code: 2, stderr: `^testd stop: --timeout -1s is negative; give 0 to send SIGKILL right after SIGTERM\n$`},
		{args: []string{"stop", "--config", "x"}, code: 2, stderr: `flag provided but not defined: -config`},
		{args: []string{"start"}, clash: "flag", code: 1, stderr: `^testd start: defining the flags: the service's flag -pidfile has the name of a built-in flag of start, stop, restart or reload; rename it\n$`},
		{args: []string{"status"}, clash: "command", code: 3, stdout: `^testd is not running\n$`},
		{args: []string{"stop"}, clash: "command", code: 0, stdout: `^testd is not running\n$`},
		{args: []string{"help", "start", "stop"}, code: 2, stderr: `^testd help: name one command, not 2\n$`},
		{args: []string{"--pidfile", "x", "start"}, code: 2, stderr: `^testd: --pidfile is a flag, and flags go after the command`},
		{args: []string{"help", "help"}, code: 0, stdout: `^usage: testd help \[flags\] \[COMMAND\]\n`},
	} {
		name := strings.Join(tc.args, " ") + " " + tc.clash
		t.Run(name, func(t *testing.T) {
			h.env = append(h.env[:1:1], clashEnv+"="+tc.clash)
			out, errOut, code := h.runMain(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stdout %q, stderr %q)", code, tc.code, out, errOut)
			}
			for _, s := range []struct{ what, got, want string }{{"stdout", out, tc.stdout}, {"stderr", errOut, tc.stderr}} {
				if s.want == "" && s.got != "" || s.want != "" && !regexp.MustCompile(s.want).MatchString(s.got) {
					t.Errorf("%s = %q, want it to match %q", s.what, s.got, s.want)
				}
			}
		})
	}
}

// readPIDFile returns the pid in path.
func readPIDFile(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pidfile %s holds %q", path, data)
	}
	return pid
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// controlSocket returns how /proc/PID/fd shows the listening control
// socket of the daemon testd with pid ("socket:[INODE]"), from the kernel's
// table of Unix sockets (its name is @gendaemon/testd/PID/ and a random
// part), or "" if it has none.
func controlSocket(t *testing.T, pid int) string {
	t.Helper()
	table, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/unix", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(table), "\n") {
		f := strings.Fields(line)
		if len(f) == 8 && strings.HasPrefix(f[7], fmt.Sprintf("@gendaemon/testd/%d/", pid)) {
			return "socket:[" + f[6] + "]"
		}
	}
	return ""
}

// startMain starts a daemon through Main and returns its pid.
func (h *harness) startMain(args ...string) int {
	h.t.Helper()
	out, errOut, code := h.runMain(append([]string{"start"}, args...)...)
	m := regexp.MustCompile(`^testd started \(pid (\d+)\)\n$`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		h.t.Fatalf("start: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// TestMainReloadWaits checks that reload returns once the Reload hook has
// returned, with its error: it can only report the hook's error if it
// waited for it. --pid finds the daemon without the pidfile, as systemd's
// ExecReload does.
func TestMainReloadWaits(t *testing.T) {
	h := newHarness(t)
	h.env = append(h.env, reloadEnv+"=fail,fail,wait")
	if err := unix.Mkfifo(h.fifo+".go", 0o600); err != nil {
		t.Fatal(err)
	}
	pid := h.startMain()
	h.eventsUntil("init")

	_, errOut, code := h.runMain("reload")
	if want := "testd reload: reload: reload says no\n"; code != 1 || errOut != want {
		t.Errorf("reload of a failing hook: exit %d, stderr %q; want 1, %q", code, errOut, want)
	}
	h.waitEvent("reload")
	_, errOut, code = h.runMain("reload", "--pid", strconv.Itoa(pid))
	if want := "testd reload: reload: reload says no\n"; code != 1 || errOut != want {
		t.Errorf("reload --pid of a failing hook: exit %d, stderr %q; want 1, %q", code, errOut, want)
	}
	h.waitEvent("reload")
	if st := readStat(t, pid); st.state == "Z" {
		t.Fatal("the daemon exited after a failed reload")
	}

	// A hook that blocks: reload is still waiting when the hook runs.
	cmd := exec.Command(os.Args[0], "reload", "--pid", strconv.Itoa(pid))
	cmd.Env = h.command("main").Env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { endProcess(t, cmd.Process.Pid) })
	h.waitEvent("reload")
	if st := readStat(t, cmd.Process.Pid); st.state == "Z" {
		t.Fatalf("reload returned while the hook was running: %q", out.String())
	}
	release, err := os.OpenFile(h.fifo+".go", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(release, "go")
	release.Close()
	if err := cmd.Wait(); err != nil || out.String() != fmt.Sprintf("testd reloaded (pid %d)\n", pid) {
		t.Errorf("reload: %v, %q; want it to report the reload done", err, out.String())
	}
}

// TestReloadTrustsOnlyTheDaemon checks the control socket's guards: a user
// other than the daemon's own and root gets no reload, and reload --pid
// refuses a pid whose socket another process holds.
func TestReloadTrustsOnlyTheDaemon(t *testing.T) {
	h := newHarness(t)
	h.openToOthers()
	pid := h.startMain()
	h.eventsUntil("init")

	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", os.Args[0], "reload", "--pid", strconv.Itoa(pid))
	cmd.Env = h.command("main").Env
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ended the reload without an answer") {
		t.Errorf("reload as nobody: %v, %q; want it refused without an answer", err, out)
	}

	// A process of ours poses as daemon pid: its socket bears pid's name,
	// but SO_PEERCRED names this test.
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { endProcess(t, sleeper.Process.Pid) })
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: fmt.Sprintf("@gendaemon/testd/%d/impostor", sleeper.Process.Pid)}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := h.runMain("reload", "--pid", strconv.Itoa(sleeper.Process.Pid))
	if code != 1 || !strings.Contains(errOut, "belongs to another process") {
		t.Errorf("reload --pid of an impostor: exit %d, %q; want 1, refused", code, errOut)
	}
	select {
	case e := <-h.events:
		t.Errorf("the daemon reloaded (%q) for a request it should have refused", e)
	default:
	}
}

// TestMainRunInitFailure checks what a service manager sees when Init
// fails under run: exit status 78, which the unit does not retry, and the
// error on standard error.
func TestMainRunInitFailure(t *testing.T) {
	h := newHarness(t)
	h.env = append(h.env, initEnv+"=fail")
	_, errOut, code := h.runMain("run", "--pidfile", "")
	if code != 78 || !strings.Contains(errOut, "testd run: init: init says no\n") || !strings.Contains(errOut, `level=ERROR msg="start-up failed"`) {
		t.Errorf("run with a failing Init: exit %d, stderr %q; want 78, the error logged and printed", code, errOut)
	}
}

// TestMainRelativePathFlag checks that a flag that makes its path absolute,
// as the scaffold's --config does, means the same in the detached daemon as
// where start was run: the stages that parse the command line again start
// in the launcher's working directory, and the daemon moves to its WorkDir
// only then.
func TestMainRelativePathFlag(t *testing.T) {
	h := newHarness(t)
	h.config["WorkDir"] = "/"
	cmd := exec.Command(os.Args[0], "start", "--pidfile", filepath.Join(h.dir, "cli.pid"), "--data", "state/here")
	cmd.Env = h.command("main").Env
	cmd.Dir = h.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`^testd started \(pid (\d+)\)\n$`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("start printed %q", out)
	}
	pid, _ := strconv.Atoi(m[1])
	t.Cleanup(func() { endProcess(t, pid) })
	got := h.eventsUntil("init")
	if want := "data=" + filepath.Join(h.dir, "state/here"); !slices.Contains(got, want) {
		t.Errorf("the daemon's Init saw %q, want %s", got, want)
	}
}

// TestWatchdogFollowsHealth runs the service as systemd would, with a
// watchdog: keep-alives stop while Healthy fails or hangs, with a STATUS=
// that says why, and resume when it is healthy again. Datagrams arrive in
// order, so no keep-alive between the two STATUS= lines means none was
// sent while the service was unhealthy.
func TestWatchdogFollowsHealth(t *testing.T) {
	h := newHarness(t)
	health := filepath.Join(h.dir, "health")
	sock := filepath.Join(h.dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cmd := exec.Command(os.Args[0], "run", "--pidfile", "")
	cmd.Env = append(h.command("main").Env, "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=100000", healthEnv+"="+health)
	h.startRunner(cmd)
	recv := func() string { t.Helper(); return readDatagram(t, conn) }
	until := func(want string) {
		t.Helper()
		for got := recv(); got != want; got = recv() {
		}
	}
	until("WATCHDOG=1")
	for _, tc := range []struct{ state, status string }{
		{"sick", "STATUS=unhealthy: healthy: the worker is stuck"},
		{"hang", "STATUS=unhealthy: context deadline exceeded"},
	} {
		if err := os.WriteFile(health, []byte(tc.state), 0o644); err != nil {
			t.Fatal(err)
		}
		until(tc.status)
		if err := os.WriteFile(health, []byte("ok"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := recv(); got != "STATUS=" {
			t.Errorf("%s: after %q, datagram %q; want STATUS= (healthy again), and no keep-alive before it", tc.state, tc.status, got)
		}
		if got := recv(); got != "WATCHDOG=1" {
			t.Errorf("%s: once healthy again, datagram %q; want WATCHDOG=1", tc.state, got)
		}
	}
	cmd.Process.Signal(unix.SIGTERM)
	cmd.Wait()
}

// TestInstallRefusals checks what install says where it cannot install:
// without the units built in, and where systemd does not run, as on this
// test's host (the real-systemd test installs for real), or the user has
// no service manager (LSB status 4 for both). It writes nothing then: the
// service manager's absence is checked before anything else.
func TestInstallRefusals(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs here: the refusal cannot be seen, and install would write to the system")
	}
	h := newHarness(t)
	_, errOut, code := h.runMain("install")
	if want := "testd install: this program was built without its service definitions (Config.ServiceFiles)\n"; code != 1 || errOut != want {
		t.Errorf("install without units: exit %d, %q; want 1, %q", code, errOut, want)
	}
	h.env = append(h.env, unitsEnv+"=1")
	_, errOut, code = h.runMain("install", "--now")
	if code != 4 || !strings.Contains(errOut, "systemd is not running here") {
		t.Errorf("install without systemd: exit %d, %q; want 4, refused", code, errOut)
	}
	_, errOut, code = h.runMain("uninstall")
	if code != 4 || !strings.Contains(errOut, "systemd is not running here") {
		t.Errorf("uninstall without systemd: exit %d, %q; want 4, refused", code, errOut)
	}
	// No XDG_RUNTIME_DIR, as under su or cron: no user manager is reachable.
	h.env = append(h.env, "XDG_RUNTIME_DIR=")
	for _, verb := range []string{"install", "uninstall"} {
		_, errOut, code = h.runMain(verb, "--user")
		if code != 4 || !strings.Contains(errOut, "no service manager of yours is reachable") {
			t.Errorf("%s --user without a user manager: exit %d, %q; want 4, refused", verb, code, errOut)
		}
	}
}

// TestMainReloadReportsLogReopen checks what an operator sees when the log
// file cannot be reopened after a rotation (here a symbolic link planted
// where the daemon creates the new file): reload fails with why, instead
// of succeeding while the daemon goes on logging into the rotated file.
func TestMainReloadReportsLogReopen(t *testing.T) {
	h := newHarness(t)
	logFile := filepath.Join(h.dir, "testd.log")
	h.config["LogFile"] = logFile
	h.startMain()
	h.eventsUntil("init")
	if err := os.Rename(logFile, logFile+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(h.dir, "elsewhere"), logFile); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := h.runMain("reload")
	if code != 1 || !strings.Contains(errOut, "reopening the log file") || !strings.Contains(errOut, "symbolic link") {
		t.Errorf("reload after a failed reopen: exit %d, %q; want 1, saying the log file could not be reopened and why", code, errOut)
	}
	h.waitEvent("reload") // the service's hook still ran
}
