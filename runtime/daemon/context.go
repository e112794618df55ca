package daemon

import (
	"context"
	"sync/atomic"
)

// running is the state of a daemon that runs, shared with its hooks through
// their context.
type running struct {
	cfg       Config
	notifier  *Notifier
	activated Activated

	// keptFiles are the files the daemon hands to its replacement (Listen).
	keptFiles keptFiles

	// handedOver is set once another daemon has replaced this one: it
	// drains, and no longer speaks for the service to the service manager.
	handedOver atomic.Bool

	daemonState // what only a Unix daemon has (context_unix.go)
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
