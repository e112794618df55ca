//go:build unix

package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"

	"golang.org/x/sys/unix"
)

// logFileMode is the mode a new log file gets, whatever the umask.
const logFileMode = 0o640

// Run runs the service in the foreground, without detaching: for debugging,
// for containers and for service managers, which detach on their own. It
// sets the umask and working directory, takes the pidfile if Config.PIDFile
// is set, drops privileges, runs Init and then Serve until SIGTERM or SIGINT.
// It returns Init's or Serve's error, or an error wrapping ErrAlreadyRunning
// if another daemon holds the pidfile.
//
// Under systemd, Run speaks the service manager's protocols: it takes the
// sockets passed by socket activation (see Activation), reports READY=1
// after Init, RELOADING=1 and READY=1 around Reload, STOPPING=1 on SIGTERM,
// and WATCHDOG=1 at half of WatchdogSec= when the unit asks for it; it logs
// to the journal with syslog priorities. It removes the protocols'
// environment variables, so that the programs the service starts do not
// mistake them for their own.
//
// Run, like Start in the daemon, makes a logger that writes to standard
// error (the journal under systemd) the default of log/slog, and so of the
// log package.
func Run(cfg Config, svc Service) error {
	if err := cfg.check(); err != nil {
		return err
	}
	if os.Getpid() == 1 { // a container's entry point: reaper_unix.go
		status, err := runAsInit()
		if err != nil {
			return err
		}
		os.Exit(status)
	}
	replacing := false
	switch takeHandoff() {
	case stageUpgrade:
		os.Exit(startReplacement(cfg))
	case stageReplace:
		replacing = true
	}
	activated, err := ListenFDs()
	if err != nil {
		return fmt.Errorf("socket activation: %w", err)
	}
	notifier := NotifierFromEnv()
	if err := UnsetNotifyEnv(); err != nil {
		return err
	}
	d := &running{cfg: cfg, notifier: notifier, activated: activated}
	d.initPipe = takeInitPipe()
	started := func(int, error) {}
	if replacing {
		// Started by the upgrade of a daemon that runs in the foreground,
		// which waits for this one's readiness as a launcher does.
		setCloseOnExec(readyFD)
		ready := os.NewFile(readyFD, "gendaemon-ready")
		defer runtime.KeepAlive(ready)
		started = startedReporter(readinessReporter(ready))
		if err := d.takeOver(); err != nil {
			started(0, err)
			return err
		}
	}
	return d.run(hooksOf(svc), started)
}

// run is the life of the daemon after it has detached, and of Run:
// daemon(7)'s steps 10 to 14, then the service. It calls started once, with
// the error that ended start-up, or nil once Init has returned nil.
func (d *running) run(svc hooks, started func(pid int, err error)) (err error) {
	journal := journalStream(os.Stderr, os.Getenv)
	var critErr error
	if journal {
		critErr = critStderr(d.cfg.Name)
	}
	slog.SetDefault(newLogger(os.Stderr, journal))
	if critErr != nil {
		slog.Warn("crash output stays at the journal's default priority", "err", critErr)
	}

	// Signals are caught before the pidfile exists and until it is gone, so
	// that a stop or reload at either edge cannot kill the daemon with its
	// default action and leave the pidfile behind.
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), contextKey{}, d))
	defer cancel()
	d.serving, d.stopServing = ctx, cancel
	// What an upgrade needs, before the daemon changes directory: the
	// program's path and the directory its command line was given in.
	exe, exeErr := invokedPath()
	if exeErr != nil {
		slog.Warn("upgrade will fail: the program's path is unknown", "err", exeErr)
	}
	d.executable = exe
	if d.startDir, err = os.Getwd(); err != nil {
		d.startDir = "/"
	}
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGUSR2)
	defer signal.Stop(signals)
	reloads := make(chan reloadRequest, 1)
	go d.dispatchSignals(ctx, signals, cancel, reloads)

	d.pidfile, err = setUp(d.cfg, d.detached, d.replacing)
	if err != nil {
		started(runningPID(err), err)
		return err
	}
	stop, ready := d.pidfile.remove, d.pidfile.ready
	defer stop()

	if err := d.initialize(ctx, svc, stop, ready); err != nil { // startup_unix.go
		stop() // before start returns, no pidfile may be left
		d.manager().Status(firstLine(err.Error()))
		slog.Error("start-up failed", "err", err)
		started(0, err)
		return &initError{err}
	}
	// The control socket answers until the loop below has ended, which may
	// be after ctx is cancelled; a reload asked for then is refused, and an
	// upgrade under way is given up. The daemon exits once every request
	// is answered.
	loop, loopDone := context.WithCancel(context.Background())
	stopControl := d.serveControl(loop, reloads)
	defer func() {
		cancel()
		loopDone()
		stopControl()
		d.endPredecessor() // replacement_unix.go
	}()
	// Before an upgrade may hand the files over.
	d.releaseUnclaimed() // fdstore_unix.go
	// Ready for an upgrade before whoever waits for the start learns it.
	d.started.Store(true)
	started(0, nil)
	if !d.replacing {
		// A replacement becomes the service manager's main process when
		// the daemon it replaces says so (MAINPID=): it was ready already.
		d.manager().Ready()
	}
	go d.runWatchdog(ctx, svc.Healthy)

	served := make(chan error, 1)
	go func() {
		if svc.Serve == nil {
			<-ctx.Done()
			served <- nil
			return
		}
		served <- svc.Serve(ctx)
	}()
	for {
		select {
		case err := <-served:
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			return nil
		case req := <-reloads:
			var err error
			if ctx.Err() != nil {
				err = errStopping // no reload once stopping has begun
			} else {
				err = d.reload(ctx, svc)
			}
			if req.done != nil {
				req.done <- err
			}
		}
	}
}

// A reloadRequest asks the running daemon's main loop for a reload. done,
// if non-nil, receives the reload's outcome: a SIGHUP asks without
// waiting, the control socket waits.
type reloadRequest struct {
	done chan<- error
}

// errStopping answers a reload asked for once the daemon has begun to stop.
var errStopping = errors.New("the daemon is stopping")

// reload reopens the log file, so that logrotate can rename it, and calls
// the service's Reload hook, between RELOADING=1 and READY=1. It returns
// what failed, for the reload command; the daemon keeps running.
func (d *running) reload(ctx context.Context, svc hooks) error {
	d.manager().Reloading()
	defer d.manager().Ready()
	var reopenErr error
	if d.detached && d.cfg.LogFile != "" {
		reopenErr = reopenLog(d.cfg) // logging_unix.go
	}
	hookErr := callHook(ctx, "reload", svc.Reload)
	err := errors.Join(reopenErr, hookErr)
	switch {
	case err != nil:
		slog.Error("reload failed", "err", err)
		d.manager().Status("reload failed: " + firstLine(err.Error()))
		d.reloadFailed = true
	case d.reloadFailed:
		d.manager().Status("") // the failure it showed is over
		d.reloadFailed = false
	}
	return err
}

// dispatchSignals cancels the service on SIGTERM and SIGINT and asks for a
// reload on SIGHUP; reloads that arrive during a reload are merged into one.
func (d *running) dispatchSignals(ctx context.Context, signals <-chan os.Signal, cancel context.CancelFunc, reloads chan<- reloadRequest) {
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-signals:
			switch sig {
			case unix.SIGUSR2:
				go d.upgradeOnSignal(ctx)
				continue
			case unix.SIGTERM, unix.SIGINT:
				d.manager().Stopping()
				cancel()
				continue
			}
			select {
			case reloads <- reloadRequest{}:
			default:
			}
		}
	}
}

// setUp sets the umask and working directory, takes the pidfile and drops
// privileges, in daemon(7)'s order. A detached daemon's log file is given to
// the user it switches to, so that it can reopen the file after logrotate.
// It returns the pidfile, nil without one: its remove releases it, and
// its ready says that the daemon has started (startup_unix.go); a daemon
// that replaces another (replacing) gives its pidfile the name only then.
func setUp(cfg Config, detached, replacing bool) (*pidFile, error) {
	unix.Umask(cfg.Umask)
	dir := cfg.WorkDir
	if dir == "" {
		dir = "/"
	}
	if err := os.Chdir(dir); err != nil {
		return nil, err
	}
	creds, err := lookupCredentials(cfg.User, cfg.Group)
	if err != nil {
		return nil, err
	}
	var p *pidFile
	switch {
	case cfg.PIDFile != "" && replacing:
		if p, err = stagePIDFile(cfg); err != nil {
			return nil, err
		}
	case cfg.PIDFile != "":
		var pid int
		if p, pid, err = createPIDFile(cfg); err != nil {
			return nil, &runningError{pid: pid, err: err}
		}
	}
	if creds != nil && detached && cfg.LogFile != "" && os.Geteuid() == 0 {
		if err := giveLogFile(creds); err != nil {
			p.remove()
			return nil, fmt.Errorf("giving %s to user %q: %w", cfg.LogFile, cfg.User, err)
		}
	}
	if err := creds.apply(); err != nil {
		p.remove()
		return nil, err
	}
	return p, nil
}

// giveLogFile gives the log file on standard output to the user the daemon
// switches to, so that it can reopen the file after logrotate. Only a
// regular file with one name that root owns, as the daemon creates it, is
// given away: never a device such as /dev/console, nor a file that belongs
// to someone else already.
func giveLogFile(creds *credentials) error {
	var st unix.Stat_t
	if err := unix.Fstat(1, &st); err != nil {
		return os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 || st.Uid != 0 {
		return nil
	}
	return os.NewSyscallError("fchown", unix.Fchown(1, creds.uid, creds.gid))
}

// runningError carries the pid of a daemon that already runs.
type runningError struct {
	pid int
	err error
}

func (e *runningError) Error() string { return e.err.Error() }
func (e *runningError) Unwrap() error { return e.err }

// runningPID is the pid carried by err, if any.
func runningPID(err error) int {
	if re, ok := errors.AsType[*runningError](err); ok {
		return re.pid
	}
	return 0
}

// redirectStdio puts standard input on Config.Stdio and standard output and
// error on Config.LogFile, or Config.Stdio (daemon(7), step 9).
func redirectStdio(cfg Config) error {
	user := configuredUID(cfg)
	in, err := openStdio(stdioPath(cfg), os.O_RDONLY, user)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := dupTo(int(in.Fd()), 0); err != nil {
		return os.NewSyscallError("dup2", err)
	}
	out := stdioPath(cfg)
	if cfg.LogFile != "" {
		out = cfg.LogFile
	}
	return redirectOutput(out, user)
}

// redirectOutput opens path for appending and puts standard output and
// error on it, and with standard error the Go runtime's crash output
// (panics, fatal errors). debug.SetCrashOutput is not used: the runtime
// writes crash output to standard error as well as there, so the log got
// every crash twice, interleaved. Calling it again with the same path
// reopens the file after logrotate has renamed it. user is the service
// user's uid, or -1: see openStdio.
func redirectOutput(path string, user int) error {
	f, err := openStdio(path, os.O_WRONLY|os.O_APPEND, user)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, fd := range []int{1, 2} {
		if err := dupTo(int(f.Fd()), fd); err != nil {
			return os.NewSyscallError("dup2", err)
		}
	}
	return nil
}

// openStdio opens path, creating it with logFileMode, for the daemon's
// standard I/O. It refuses what an attacker could plant at the path in a
// directory open to others: a symbolic link, a FIFO or socket (which would
// block the daemon, or feed it), a hard link to another file, and a file
// in a sticky directory that belongs to someone other than this user or
// user, the service user's uid (-1 for none). Regular files and character
// devices (/dev/null, a console) are accepted.
func openStdio(path string, flag, user int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK, logFileMode)
	switch {
	case errors.Is(err, unix.ELOOP):
		return nil, fmt.Errorf("%s is a symbolic link; refusing to use it", path)
	case errors.Is(err, unix.ENXIO): // a FIFO that nobody reads, opened to write
		return nil, fmt.Errorf("%s is not a regular file or a character device; refusing to use it", path)
	case err != nil:
		return nil, err
	}
	var st unix.Stat_t
	err = unix.Fstat(int(f.Fd()), &st)
	switch {
	case err != nil:
		err = &os.PathError{Op: "stat", Path: path, Err: err}
	case st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink > 1:
		err = fmt.Errorf("%s has %d hard links; refusing to write to a file that has another name", path, st.Nlink)
	case st.Mode&unix.S_IFMT != unix.S_IFREG && st.Mode&unix.S_IFMT != unix.S_IFCHR:
		err = fmt.Errorf("%s is not a regular file or a character device; refusing to use it", path)
	case st.Mode&unix.S_IFMT == unix.S_IFREG && plantedInSticky(path, &st, user): // logging_unix.go
		err = fmt.Errorf("%s belongs to uid %d in a sticky directory that others may write to; refusing to write to a file someone else may have put there", path, st.Uid)
	default:
		// Blocking again, as standard I/O is expected to be.
		_, err = unix.FcntlInt(f.Fd(), unix.F_SETFL, flag&^unix.O_NONBLOCK)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
