package daemon

import (
	"context"
	"errors"
	"flag"
)

// Service is the code a daemon runs: a value of the program's own type,
// which keeps the daemon's state in its fields. Serve is the one method
// every service has. The runtime looks for the others when it runs, as
// net/http looks for http.Flusher: a service has Init, Reload, DefineFlags,
// Commands, Environ or Healthy only if it needs them (see Initializer,
// Reloader, FlagDefiner, Commander, Environer and HealthChecker), and a hook
// that a later version of this package adds is one more optional interface,
// so that a service written today keeps compiling.
type Service interface {
	// Serve is the daemon's work. It runs until ctx is cancelled, which
	// happens on SIGTERM or SIGINT, and once the daemon that an upgrade
	// started in its place serves; Serve should then stop accepting work
	// and return once the work in hand is done (drain: for example
	// http.Server.Shutdown), promptly. The
	// daemon exits with status 0 when Serve returns nil and 1 when it
	// returns an error; a panic ends it as any Go panic does, with status 2.
	Serve(ctx context.Context) error
}

// An Initializer is a Service with start-up work.
type Initializer interface {
	// Init runs in the detached daemon before it reports that it is ready,
	// after the pidfile exists and privileges are dropped. If Init returns
	// an error, the daemon removes its pidfile and exits, and the error is
	// shown to whoever ran start.
	Init(ctx context.Context) error
}

// A Reloader is a Service that can re-read its configuration.
type Reloader interface {
	// Reload runs on SIGHUP (the reload command). An error is logged; the
	// daemon keeps running.
	Reload(ctx context.Context) error
}

// A FlagDefiner is a Service with flags of its own.
type FlagDefiner interface {
	// DefineFlags adds the service's flags to those of the start, restart
	// and run commands. Flags given to start reach the detached daemon,
	// which parses the same command line before it calls Init, so the
	// values are set when the other hooks run. A flag whose name a command
	// already has (pidfile, timeout, start-timeout) is refused.
	DefineFlags(flags *flag.FlagSet)
}

// A Commander is a Service with commands of its own, beside start, stop,
// restart, status, reload, run and version.
type Commander interface {
	// Commands returns the service's commands. Main calls it before it
	// parses the command line, in the process the user ran and in those
	// that start re-executes. A command with the name of a built-in one is
	// ignored; one that cannot be used fails only when it is chosen.
	Commands() []Command
}

// An Environer is a Service that chooses the daemon's environment.
type Environer interface {
	// Environ returns the environment the service runs with, given the one
	// the program was started with (os.Environ(), or Config.Env if set):
	// for example that list with variables added, or only the variables the
	// service needs, as daemon(7) advises. start passes the result to the
	// detached daemon; run sets it before Run. It runs before the command
	// line is parsed for the daemon, so it cannot depend on flag values.
	Environ(inherited []string) []string
}

// A Command is one command of the daemon's command line that the service
// adds (see Commander). Fields added to Command later are optional.
type Command struct {
	// Name is the word that selects the command: lowercase letters,
	// digits and '-', starting with a letter, and not a built-in command.
	Name string

	// Summary describes the command in one line, for help.
	Summary string

	// Args shows help how the command's arguments after its flags are
	// written, such as "FILE...". Empty means none are described.
	Args string

	// If DefineFlags is non-nil, it adds the command's flags. A service
	// whose command takes its own flags can pass its DefineFlags method.
	DefineFlags func(flags *flag.FlagSet)

	// Run carries out the command with the arguments left after the flags.
	// ctx is cancelled on SIGINT or SIGTERM. An error is printed; the exit
	// status is then 4 if it wraps fs.ErrPermission and 1 otherwise.
	Run func(ctx context.Context, args []string) error
}

// hooks are a Service's methods, found once: the fields are nil where the
// service has no such method.
type hooks struct {
	Init, Serve, Reload, Healthy func(ctx context.Context) error
}

// hooksOf finds the methods of svc, which may be nil.
func hooksOf(svc Service) hooks {
	var h hooks
	if svc == nil {
		return h
	}
	h.Serve = svc.Serve
	if i, ok := svc.(Initializer); ok {
		h.Init = i.Init
	}
	if r, ok := svc.(Reloader); ok {
		h.Reload = r.Reload
	}
	if hc, ok := svc.(HealthChecker); ok {
		h.Healthy = hc.Healthy
	}
	return h
}

// ErrInit is wrapped by the error that Run returns when the service's Init
// failed (or panicked): the daemon never became ready. Compare with
// errors.Is. Main's run command then exits with status 78 (EX_CONFIG), which
// a unit can exclude from restarts (RestartPreventExitStatus=78) so that a
// configuration error is not retried into oblivion.
var ErrInit = errors.New("init failed")

// An initError is the error of a service's Init, as Run returns it.
type initError struct{ err error }

func (e *initError) Error() string        { return e.err.Error() }
func (e *initError) Unwrap() error        { return e.err }
func (e *initError) Is(target error) bool { return target == ErrInit }

// A HealthChecker is a Service that can tell whether it is healthy, for
// systemd's watchdog (WatchdogSec=).
type HealthChecker interface {
	// Healthy returns nil if the service is doing its work: check the
	// service's own loop (a channel its worker answers, a timestamp it
	// updates), not merely that the process runs. Under a watchdog, the
	// daemon sends a keep-alive only after Healthy has returned nil within
	// half the watchdog interval, which is ctx's deadline; so a service
	// that deadlocks is restarted by systemd. Without Healthy, keep-alives
	// say only that the process runs.
	Healthy(ctx context.Context) error
}
