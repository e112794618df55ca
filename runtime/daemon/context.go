package daemon

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
)

// running is the state of a daemon that runs, shared with its hooks through
// their context.
type running struct {
	cfg       Config
	detached  bool // started by Start: standard I/O was redirected
	notifier  *Notifier
	activated Activated

	// reloadFailed is set, by the daemon's main loop only, while the status
	// it last sent says a reload failed.
	reloadFailed bool

	// keptFiles are the files the daemon hands to its replacement (Listen).
	keptFiles keptFiles

	// toStore holds back from systemd's file descriptor store what a
	// replacement opens until it is the main process (fdstore_unix.go).
	toStore heldFiles

	// initPipe, in a daemon run by the runtime's own init (process 1 of a
	// container, reaper_unix.go), is where it tells init the pid of the
	// daemon that replaces it; nil elsewhere.
	initPipe *os.File

	// predecessor is the daemon this one replaced, in a replacement.
	predecessor *process

	// pidfile is the daemon's, or nil.
	pidfile *pidFile

	// replacing is true in a daemon that an upgrade started to replace
	// another (upgrade_unix.go); it publishes its pidfile only once ready.
	replacing bool

	// executable is the program's path when the daemon started, which an
	// upgrade runs again: by then it may name a new binary. startDir is
	// the directory its command line was given in, where the new binary
	// parses it again.
	executable, startDir string

	// serving is the service's context and stopServing cancels it: stop,
	// or drain after an upgrade.
	serving     context.Context
	stopServing context.CancelFunc

	// upgrading is held while an upgrade runs: one at a time.
	upgrading sync.Mutex

	// started is set once the daemon has reported that it is ready: an
	// upgrade asked for before is refused.
	started atomic.Bool

	// handedOver is set once another daemon has replaced this one: it
	// drains, and no longer speaks for the service to the service manager.
	handedOver atomic.Bool
}

// contextKey is the key of the *running in a hook's context.
type contextKey struct{}

// Activation returns the sockets that a service manager passed to the
// daemon by socket activation, with their names (FileDescriptorName= in the
// .socket unit); Activated.Named finds them by name. ctx must be, or derive
// from, the context of a Service hook. Outside socket activation, and in a
// daemon detached by Start, it returns nil.
func Activation(ctx context.Context) Activated {
	if d, ok := ctx.Value(contextKey{}).(*running); ok {
		return d.activated
	}
	return nil
}

// SetStatus tells the service manager, in one line, what the daemon is doing
// (STATUS=, shown by systemctl status). ctx must be, or derive from, the
// context of a Service hook. Off systemd it does nothing.
func SetStatus(ctx context.Context, status string) {
	if d, ok := ctx.Value(contextKey{}).(*running); ok {
		d.manager().Status(status)
	}
}

// manager is the daemon's Notifier, or a silent one once another daemon has
// replaced it: the replacement is then the one the service manager hears.
func (d *running) manager() *Notifier {
	if d.handedOver.Load() {
		return &Notifier{}
	}
	return d.notifier
}
