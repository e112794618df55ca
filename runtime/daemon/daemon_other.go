//go:build !unix

// Detaching, the pidfile and the control commands are Unix: off Unix (on
// Windows) the package's Start, Stop, Status and Reload say so, and Run
// runs the service in the foreground, so that a daemon written on a Unix
// server can be built, tested and run on a developer's Windows machine. A
// Windows service is another thing, which this package does not make.

package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

// unixOnly is the error of a command that needs Unix; it wraps
// errors.ErrUnsupported.
func unixOnly(command string) error {
	return fmt.Errorf("%s needs Unix (Linux, macOS, FreeBSD and the other BSDs), not %s; run the service in the foreground with run: %w",
		command, runtime.GOOS, errors.ErrUnsupported)
}

// Start detaches a daemon only on Unix; here it returns an error wrapping
// errors.ErrUnsupported.
func Start(cfg Config, svc Service) (pid int, err error) { return 0, unixOnly("start") }

// start is Start, which never gets as far as a ready daemon here.
func start(cfg Config, svc Service, whenReady func(pid int)) (int, error) { return Start(cfg, svc) }

// Stop needs a pidfile, which exists only on Unix; here it returns an error
// wrapping errors.ErrUnsupported.
func Stop(cfg Config, timeout time.Duration) (pid int, killed bool, err error) {
	return 0, false, unixOnly("stop")
}

// Status needs a pidfile, which exists only on Unix; here it returns an
// error wrapping errors.ErrUnsupported.
func Status(cfg Config) (pid int, err error) { return 0, unixOnly("status") }

// Reload sends SIGHUP, which exists only on Unix; here it returns an error
// wrapping errors.ErrUnsupported.
func Reload(cfg Config) (pid int, err error) { return 0, unixOnly("reload") }

func reload(cfg Config, timeout time.Duration) (pid int, waited bool, err error) {
	return 0, false, unixOnly("reload")
}

// requestReload needs a control socket, which only Linux has.
func requestReload(name string, pid int, timeout time.Duration) error { return unixOnly("reload") }

// stderrIsJournal is false: the journal is systemd's, on Linux.
func stderrIsJournal() bool { return false }

// reexecuted is false: nothing is re-executed where Start does not detach.
func reexecuted() bool { return false }

// handoverVariables is empty: nothing hands a daemon files here.
func handoverVariables() []string { return nil }

// beginStage has nothing to do where nothing is re-executed.
func beginStage(cfg Config) {}

// markCloseOnExec fails: there is no socket activation here.
func markCloseOnExec(fd int) error { return errors.ErrUnsupported }

// Run runs the service in the foreground: Init, then Serve until Ctrl-C
// (os.Interrupt) or, on Windows, the console's close, logoff or shutdown
// event (syscall.SIGTERM). It returns Init's or Serve's error.
//
// Only Config.Name applies here; the Unix settings (pidfile, user, group,
// umask, working directory, standard I/O, log file) are ignored: the
// service runs as the user who started it, in the current directory, and
// logs to standard error. There is no reload, as there is no SIGHUP.
func Run(cfg Config, svc Service) error {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	d := &running{cfg: cfg, notifier: &Notifier{}, daemonState: daemonState{}} // no Unix state here
	ctx, stop := signal.NotifyContext(context.WithValue(context.Background(), contextKey{}, d), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h := hooksOf(svc)
	if err := callHook(ctx, "init", h.Init); err != nil {
		return &initError{err}
	}
	if h.Serve == nil {
		<-ctx.Done()
		return nil
	}
	if err := h.Serve(ctx); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// upgradeDaemon needs Unix.
func upgradeDaemon(cfg Config, pid int, timeout time.Duration) (old, replacement int, drained bool, err error) {
	return 0, 0, false, unixOnly("upgrade")
}

// daemonState is the part of running that only Unix has (context_unix.go).
type daemonState struct{}
