package daemon

import "context"

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
		d.notifier.Status(status)
	}
}
