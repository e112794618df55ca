package daemon

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime/debug"

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
func Run(cfg Config, svc Service) error {
	return runService(cfg, svc, func(int, error) {})
}

// runService is the life of the daemon after it has detached, and of Run:
// daemon(7)'s steps 10 to 14, then the service. It calls started once, with
// the error that ended start-up, or nil once Init has returned nil.
func runService(cfg Config, svc Service, started func(pid int, err error)) (err error) {
	stop, err := setUp(cfg)
	if err != nil {
		started(runningPID(err), err)
		return err
	}
	defer stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	defer signal.Stop(signals)
	reloads := make(chan struct{}, 1)
	go dispatchSignals(ctx, signals, cancel, reloads)

	if err := callHook("init", svc.Init, ctx); err != nil {
		stop() // before start returns, no pidfile may be left
		started(0, err)
		return err
	}
	started(0, nil)

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
		case <-reloads:
			if err := callHook("reload", svc.Reload, ctx); err != nil {
				logf(cfg, "%v", err)
			}
		}
	}
}

// setUp sets the umask and working directory, takes the pidfile and drops
// privileges, in daemon(7)'s order. stop releases what it took; calling it
// again does nothing.
func setUp(cfg Config) (stop func(), err error) {
	unix.Umask(cfg.Umask)
	dir := cfg.WorkDir
	if dir == "" {
		dir = "/"
	}
	if err := os.Chdir(dir); err != nil {
		return nil, err
	}
	stop = func() {}
	if cfg.PIDFile != "" {
		p, pid, err := createPIDFile(cfg.PIDFile)
		if err != nil {
			return nil, &runningError{pid: pid, err: err}
		}
		stop = p.remove
	}
	if err := dropPrivileges(cfg.User, cfg.Group); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
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

// dispatchSignals cancels the service on SIGTERM and SIGINT and asks for a
// reload on SIGHUP; reloads that arrive during a reload are merged into one.
func dispatchSignals(ctx context.Context, signals <-chan os.Signal, cancel context.CancelFunc, reloads chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-signals:
			if sig != unix.SIGHUP {
				cancel()
				continue
			}
			select {
			case reloads <- struct{}{}:
			default:
			}
		}
	}
}

// callHook runs one of the service's hooks, turning a panic into an error so
// that a panicking Init is reported to whoever ran start.
func callHook(name string, hook func(context.Context) error, ctx context.Context) (err error) {
	if hook == nil {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%s panicked: %v\n%s", name, v, debug.Stack())
		}
	}()
	if err := hook(ctx); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// redirectStdio puts standard input on Config.Stdio and standard output and
// error on Config.LogFile, or Config.Stdio (daemon(7), step 9). With a log
// file, the Go runtime's crash output goes there too, even if the service
// later points standard error elsewhere.
func redirectStdio(cfg Config) error {
	outPath := stdioPath(cfg)
	if cfg.LogFile != "" {
		outPath = cfg.LogFile
	}
	out, err := openAppend(outPath)
	if err != nil {
		return err
	}
	defer out.Close()
	in, err := os.OpenFile(stdioPath(cfg), os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	for fd, f := range [...]*os.File{in, out, out} {
		if err := unix.Dup3(int(f.Fd()), fd, 0); err != nil {
			return os.NewSyscallError("dup3", err)
		}
	}
	if cfg.LogFile != "" {
		if err := debug.SetCrashOutput(out, debug.CrashOptions{}); err != nil {
			return fmt.Errorf("crash output to %s: %w", cfg.LogFile, err)
		}
	}
	return nil
}

// openAppend opens path for appending, creating it with logFileMode, and
// refuses a symbolic link.
func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_NOFOLLOW, logFileMode)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link; refusing to write through it", path)
	}
	return f, err
}

// logf writes one line to the daemon's standard error, prefixed with its name.
func logf(cfg Config, format string, args ...any) {
	log.Printf("%s: %s", cfg.Name, fmt.Sprintf(format, args...))
}
