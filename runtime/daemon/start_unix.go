//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The messages to the launcher. The session leader sends "STARTED pid" on
// a line of its own, on a pipe of its own (startedFD), once it has started
// the daemon: the launcher reads that pipe only if it gives up waiting, so
// the line does not wake it while the daemon starts, on the critical path
// of every start. On the readiness pipe, the daemon, or the session leader
// if it failed, sends one message: a word, the pid of the process that sends it, a space, what the word needs,
// and msgEnd. A process that reports a failure exits, and the launcher
// waits until it has (the end of the pipe), so that a failed Start leaves
// no process behind. After READY the launcher returns at once: a process
// that the program's own init() started in a stage inherited the pipe
// before the runtime could mark it close-on-exec, and may hold it open for
// ever.
const (
	msgStarted = "STARTED" // then the daemon's pid
	msgReady   = "READY"   // Init returned nil
	msgRunning = "RUNNING" // then the pid of the daemon that holds the pidfile
	msgError   = "ERROR"   // then errorPayload: the error that ended start-up
	msgEnd     = "\x00"    // ends the last message
)

// startedFD is where the session leader, and it alone, inherits the write
// end of the pipe that carries its STARTED line (handoff_unix.go has the
// descriptors every stage inherits).
const startedFD = readyFD + 1

// Start detaches the service as a daemon and waits until it is ready.
//
// In the process that calls it, Start returns the daemon's pid once the
// service's Init has returned nil in the daemon. If the daemon could not be
// started, or Init returned an error or panicked, Start returns that error,
// and neither a daemon nor its pidfile is left behind. If a daemon already
// holds the pidfile, Start returns its pid and an error wrapping
// ErrAlreadyRunning.
//
// Start re-executes the program (a Go program cannot safely fork): first as
// a session leader, which starts the daemon and exits, so that the daemon is
// not a session leader and can never acquire a controlling terminal. Both
// re-executed processes run the program's main with the same arguments and
// must call Start again with the same Config; there it does not return. The
// first exits once it has started the daemon; the daemon exits when Serve
// returns, with status 0 if Serve returned nil and 1 otherwise (a panic in
// Serve exits 2, as any Go panic does).
func Start(cfg Config, svc Service) (pid int, err error) {
	return start(cfg, svc, nil)
}

// start is Start. whenReady, if not nil, is called with the daemon's pid as
// soon as the daemon has said it is ready, while start waits for the
// daemon to let go of the readiness pipe: what the caller does with a
// started daemon overlaps that wait.
func start(cfg Config, svc Service, whenReady func(pid int)) (pid int, err error) {
	if err := cfg.check(); err != nil {
		return 0, err
	}
	switch takeHandoff() {
	case stageSession:
		os.Exit(startDaemon(cfg))
	case stageDaemon:
		os.Exit(runDaemon(cfg, hooksOf(svc), os.NewFile(readyFD, "gendaemon-ready"), false))
	case stageUpgrade:
		os.Exit(startReplacement(cfg))
	case stageReplace:
		os.Exit(runDaemon(cfg, hooksOf(svc), os.NewFile(readyFD, "gendaemon-ready"), true))
	}
	switch pid, err := settledLockHolder(cfg); {
	case err == nil:
		return pid, fmt.Errorf("%w (pid %d)", ErrAlreadyRunning, pid)
	case errors.Is(err, errStillStarting):
		return 0, err
	}
	return launch(cfg, whenReady)
}

// check refuses a Config whose paths are relative: the processes of a start
// have different working directories (the daemon's is WorkDir), so a
// relative pidfile would be a different file for start, status and stop.
func (cfg Config) check() error {
	for _, p := range []struct{ what, path string }{
		{"pidfile", cfg.PIDFile},
		{"working directory", cfg.WorkDir},
		{"stdio", cfg.Stdio},
		{"log file", cfg.LogFile},
	} {
		if p.path != "" && !filepath.IsAbs(p.path) {
			abs, err := filepath.Abs(p.path)
			if err != nil {
				abs = filepath.Join("/", p.path)
			}
			return fmt.Errorf("%s %q is not an absolute path; use one, such as %q", p.what, p.path, abs)
		}
	}
	return nil
}

// launch starts the session leader and waits for the daemon's message; it
// calls whenReady as start says.
func launch(cfg Config, whenReady func(pid int)) (int, error) {
	if err := checkNoHandoff(); err != nil {
		return 0, err
	}
	maxFD := cfg.MaxFD
	if maxFD <= 0 {
		maxFD = 1024
	}
	if err := closeOnExecFrom(3, maxFD); err != nil {
		return 0, err
	}
	var ready, started pipeEnds
	if err := openPipes(&ready, &started); err != nil {
		return 0, err
	}
	defer ready.r.Close()
	defer started.r.Close()
	pid, err := reexec(stageSession, cfg, ready.w, reexecOptions{setsid: true, extra: []*os.File{started.w}})
	ready.w.Close()
	started.w.Close()
	if err != nil {
		return 0, err
	}
	if cfg.StartTimeout > 0 {
		if err := ready.r.SetReadDeadline(time.Now().Add(cfg.StartTimeout)); err != nil {
			return 0, err
		}
	}
	data, readErr := readMessage(ready.r)
	if errors.Is(readErr, os.ErrDeadlineExceeded) {
		// The session leader may still run: before it starts the daemon
		// it runs the program's own code (its package initialisation, and
		// the main of a program that calls Start itself), which may block.
		// It is this process's child, so until it is reaped its pid names
		// it and no other process; abandonStart ends what it started.
		unix.Kill(pid, unix.SIGKILL)
	}
	if err := reap(pid); err != nil {
		return 0, err
	}
	if errors.Is(readErr, os.ErrDeadlineExceeded) {
		// The session leader has exited, so its pipe holds its STARTED
		// line if it got as far as starting the daemon, and then ends (but
		// for a process that inherited it before it was protected).
		started.r.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		line, _ := io.ReadAll(started.r)
		return 0, abandonStart(cfg, pid, startedPID(string(line)), ready.r)
	}
	if readErr != nil {
		return 0, fmt.Errorf("reading the daemon's readiness: %w", readErr)
	}
	msg, ended := strings.CutSuffix(string(data), msgEnd)
	if ended {
		// The sender of a failure exits, and a ready daemon closes the
		// pipe: wait for the end of the pipe, so that no process of the
		// start holds it when Start returns, but not long for a stray
		// process that holds it too.
		wait := killWait
		if word, pid, _ := splitMessage(msg); word == msgReady {
			wait = readyCloseWait
			if whenReady != nil {
				whenReady(pid)
			}
		}
		ready.r.SetReadDeadline(time.Now().Add(wait))
		io.Copy(io.Discard, ready.r)
	}
	return parseReadiness(cfg, msg)
}

// pipeEnds are the read and write ends of a pipe.
type pipeEnds struct{ r, w *os.File }

// openPipes opens a pipe into each of pipes: all of them, or, on an error,
// none, closing those it opened, so that its callers need no ladder of
// closes on each error.
func openPipes(pipes ...*pipeEnds) error {
	for i, p := range pipes {
		var err error
		if p.r, p.w, err = os.Pipe(); err != nil {
			for _, opened := range pipes[:i] {
				opened.r.Close()
				opened.w.Close()
			}
			return err
		}
	}
	return nil
}

// readyCloseWait bounds the wait, after READY, for the daemon to close the
// readiness pipe, which it does at once: only a process that inherited the
// pipe before the runtime could protect it holds it longer.
const readyCloseWait = time.Second

// readMessage reads the readiness pipe up to the end of the last message,
// or to the end of the pipe if no process sends one.
func readMessage(r *os.File) ([]byte, error) {
	var data []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		data = append(data, buf[:n]...)
		if strings.HasSuffix(string(data), msgEnd) {
			return data, nil
		}
		if errors.Is(err, io.EOF) {
			return data, nil
		}
		if err != nil {
			return data, err
		}
	}
}

// startedPID is the daemon's pid from the session leader's STARTED line,
// or 0 if line is not one.
func startedPID(line string) int {
	line, ok := strings.CutSuffix(line, "\n")
	word, pidText, _ := strings.Cut(line, " ")
	pid, err := strconv.Atoi(pidText)
	if !ok || word != msgStarted || err != nil {
		return 0
	}
	return pid
}

// abandonStart ends a start-up that took longer than cfg.StartTimeout. The
// daemon, and whatever its Init started, are in the process group of the
// session leader (pid session, reaped already); POSIX does not reuse a pid
// while a process group of that number exists, so killing the group reaches
// them and nothing else. Then it removes the pidfile, so that a failed start
// leaves nothing behind. daemon is the daemon's pid, or 0 if it never
// started. ready is the launcher's end of the readiness pipe: every process
// of the start holds the other end until it exits, so its end is where a
// system that cannot wait for a process without a pidfile sees them gone.
func abandonStart(cfg Config, session, daemon int, ready *os.File) error {
	var p *process
	if daemon > 0 {
		p, _ = openProcess(daemon, nil) // before the kill: the pid is still the daemon's
	}
	unix.Kill(-session, unix.SIGKILL)
	exited := false
	if p != nil {
		exited, _ = p.wait(killWait)
		p.close()
	}
	if !exited {
		// Where a process can only be waited for by its pidfile's lock.
		if f, pid, err := runningDaemon(cfg); err == nil {
			if q, err := openProcess(pid, f); err == nil {
				q.wait(killWait)
				q.close()
			}
			f.Close()
		}
	}
	ready.SetReadDeadline(time.Now().Add(killWait))
	io.Copy(io.Discard, ready)
	removeStalePIDFile(cfg)
	if daemon > 0 {
		return fmt.Errorf("the daemon (pid %d) was not ready within %v, so it was killed; raise the start timeout if its start-up takes that long", daemon, cfg.StartTimeout)
	}
	return fmt.Errorf("no daemon started within %v", cfg.StartTimeout)
}

// splitMessage returns the word of msg, a message on the readiness pipe
// without its msgEnd, the pid that sent it and the word's payload; an
// empty word if msg is not a message (a process that died before it could
// send one).
func splitMessage(msg string) (word string, sender int, payload string) {
	word, rest, _ := strings.Cut(msg, " ")
	pidText, payload, _ := strings.Cut(rest, " ")
	sender, err := strconv.Atoi(pidText)
	if err != nil {
		return "", 0, ""
	}
	return word, sender, payload
}

// parseReadiness turns the daemon's message into Start's results.
func parseReadiness(cfg Config, msg string) (int, error) {
	word, sender, payload := splitMessage(msg)
	switch word {
	case msgReady:
		return sender, nil
	case msgRunning:
		pid, _ := strconv.Atoi(payload)
		return pid, fmt.Errorf("%w (pid %d)", ErrAlreadyRunning, pid)
	case msgError:
		// A daemon that dropped privileges may not have been allowed to
		// remove its pidfile; the launcher usually is.
		removeStalePIDFile(cfg)
		return 0, parseErrorPayload(payload)
	}
	// A crash in Init that was not a panic, or a signal. The pidfile, if
	// any, is no longer locked.
	removeStalePIDFile(cfg)
	where := "its standard error went to " + stdioPath(cfg)
	if cfg.LogFile != "" {
		where = "see " + cfg.LogFile
	}
	return 0, fmt.Errorf("the daemon exited during start-up without saying why (%s)", where)
}

// An error crosses the readiness pipe as text, behind a word that keeps the
// one class of error the launcher's caller acts on: a permission error,
// which init scripts report with their own exit status.
const (
	errClassPermission = "permission"
	errClassOther      = "other"
)

// errorPayload writes err for the readiness pipe.
func errorPayload(err error) string {
	class := errClassOther
	if errors.Is(err, fs.ErrPermission) {
		class = errClassPermission
	}
	return class + " " + err.Error()
}

// parseErrorPayload is the inverse of errorPayload.
func parseErrorPayload(payload string) error {
	class, text, _ := strings.Cut(payload, " ")
	if class == errClassPermission {
		return &startError{text: text, class: fs.ErrPermission}
	}
	return &startError{text: text}
}

// A startError is an error reported by the daemon during start-up.
type startError struct {
	text  string
	class error // fs.ErrPermission, or nil
}

func (e *startError) Error() string { return e.text }
func (e *startError) Unwrap() error { return e.class }

// startDaemon is the session leader: it starts the daemon, which is not a
// session leader, and returns the status to exit with.
func startDaemon(cfg Config) int {
	// Its standard I/O is /dev/null already (launch), which the daemon
	// inherits rather than this process opening it again; so is its
	// environment the one the launcher chose (Config.Env, Environ).
	cfg.Env = nil
	return startStage(cfg, stageDaemon, reexecOptions{stdio: true})
}

// startStage is the session leader of a start (startDaemon) or of an
// upgrade (startReplacement): it starts the daemon of stage with opts,
// reports its pid on the STARTED pipe, and returns the status to exit with.
func startStage(cfg Config, stage int, opts reexecOptions) int {
	ready := os.NewFile(readyFD, "gendaemon-ready")
	defer ready.Close()
	setCloseOnExec(startedFD) // where Main did not, so the daemon does not inherit it
	started := os.NewFile(startedFD, "gendaemon-started")
	defer started.Close()
	err := resetSignalDispositions()
	var pid int
	if err == nil {
		pid, err = reexec(stage, cfg, ready, opts)
	}
	if err != nil {
		fmt.Fprintf(ready, "%s %d %s%s", msgError, os.Getpid(), errorPayload(fmt.Errorf("starting the daemon: %w", err)), msgEnd)
		return 1
	}
	// Before this process exits, so that a launcher that gives up waiting
	// always learns of the daemon once it has reaped this process.
	fmt.Fprintf(started, "%s %d\n", msgStarted, pid)
	return 0
}

// reexecOptions are how reexec starts a stage, beside its stage.
type reexecOptions struct {
	setsid bool       // in a session of its own
	stdio  bool       // with this process's standard I/O, not /dev/null
	extra  []*os.File // from startedFD on
}

// reexec starts this program again as stage, with ready as its readiness
// pipe, /dev/null as its standard I/O (unless opts.stdio), opts.extra from
// startedFD on, and an empty signal mask, and returns its pid. Every other
// descriptor must be close-on-exec. It keeps this process's working
// directory, so that the command line, which the stages parse again, means
// there what it meant here (a relative path that a flag makes absolute);
// the daemon moves to Config.WorkDir before it runs the service.
func reexec(stage int, cfg Config, ready *os.File, opts reexecOptions) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("finding this program to re-execute it: %w", err)
	}
	p := stageProcess{path: self, env: startEnviron(cfg), setsid: opts.setsid}
	if !opts.stdio {
		null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			return 0, err
		}
		defer null.Close()
		p.stdio = null
	}
	if p.dir, err = os.Getwd(); err != nil {
		p.dir = "/"
	}
	p.extra = make([]uintptr, len(opts.extra))
	for i, f := range opts.extra {
		p.extra[i] = f.Fd()
	}
	pid, err := startStageProcess(stage, ready, p)
	if err != nil {
		return 0, fmt.Errorf("re-executing %s: %w", self, err)
	}
	return pid, nil
}

// A stageProcess is what startStageProcess starts a stage with, beside
// the stage and its readiness pipe. A start re-executes this program
// (reexec); an upgrade starts the program at the daemon's path.
type stageProcess struct {
	path   string    // the program, run with this process's arguments
	dir    string    // its working directory
	env    []string  // its whole environment
	stdio  *os.File  // its standard input, output and error; nil: this process's own
	setsid bool      // in a session of its own
	extra  []uintptr // descriptors it inherits from startedFD on
}

// startStageProcess starts p.path as stage: with a new handoff that names
// stage at handoffFD, ready at readyFD, p.extra from startedFD on, and an
// empty signal mask (startWithEmptySigmask). It returns the pid. Every
// other descriptor must be close-on-exec. Its errors are not wrapped: the
// caller says which program it started, and why.
func startStageProcess(stage int, ready *os.File, p stageProcess) (int, error) {
	handoff, err := newHandoff(stage)
	if err != nil {
		return 0, err
	}
	defer handoff.Close()
	files := make([]uintptr, 0, startedFD+len(p.extra))
	if p.stdio == nil {
		files = append(files, 0, 1, 2)
	} else {
		fd := p.stdio.Fd()
		files = append(files, fd, fd, fd)
	}
	files = append(files, handoff.Fd(), ready.Fd())
	files = append(files, p.extra...)
	return startWithEmptySigmask(p.path, os.Args, &syscall.ProcAttr{
		Dir:   p.dir,
		Env:   p.env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Setsid: p.setsid},
	})
}

// reap waits for the child pid to exit.
func reap(pid int) error {
	for {
		_, err := unix.Wait4(pid, nil, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			return os.NewSyscallError("wait4", err)
		}
	}
}

// runDaemon is the daemon: it finishes detaching, runs the service, reports
// readiness on ready, and returns the status to exit with.
func runDaemon(cfg Config, svc hooks, ready *os.File, replacing bool) int {
	setCloseOnExec(readyFD)
	report := readinessReporter(ready)
	if err := prepareLogDir(cfg); err != nil {
		report(msgError, errorPayload(err))
		return 1
	}
	if err := redirectStdio(cfg); err != nil {
		report(msgError, errorPayload(err))
		return 1
	}
	d := &running{cfg: cfg}
	d.detached = true
	if replacing {
		if err := d.takeOver(); err != nil {
			report(msgError, errorPayload(err))
			return 1
		}
	}
	err := d.run(svc, startedReporter(report))
	runtime.KeepAlive(ready) // open until exit, if the start failed
	if err != nil {
		slog.Error("exiting", "err", err)
		return 1
	}
	return 0
}

// stdioPath is where the daemon's standard I/O goes.
func stdioPath(cfg Config) string {
	if cfg.Stdio == "" {
		return os.DevNull
	}
	return cfg.Stdio
}

// readinessReporter returns what sends a daemon's one message on the
// readiness pipe ready: a word, the sender's pid, the word's payload and
// msgEnd. A daemon that reports a failure exits, and keeps the pipe open
// until it has, so that its launcher returns only once it is gone; a ready
// one closes it at once.
func readinessReporter(ready *os.File) func(word, payload string) {
	return func(word, payload string) {
		fmt.Fprintf(ready, "%s %d %s%s", word, os.Getpid(), strings.ReplaceAll(payload, msgEnd, ""), msgEnd)
		if word == msgReady {
			ready.Close()
		}
	}
}

// startedReporter turns the outcome of a daemon's start-up into its
// message on the readiness pipe, through report.
func startedReporter(report func(word, payload string)) func(pid int, err error) {
	return func(pid int, err error) {
		switch {
		case errors.Is(err, ErrAlreadyRunning):
			report(msgRunning, strconv.Itoa(pid))
		case err != nil:
			report(msgError, errorPayload(err))
		default:
			report(msgReady, "")
		}
	}
}
