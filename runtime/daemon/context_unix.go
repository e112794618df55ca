//go:build unix

package daemon

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
)

// daemonState is the part of a running daemon's state (running) that only
// Unix has: detaching, the pidfile, reload, the upgrade and the service
// manager's file descriptor store.
type daemonState struct {
	detached bool // started by Start: standard I/O was redirected

	// reloadFailed is set, by the daemon's main loop only, while the status
	// it last sent says a reload failed.
	reloadFailed bool

	// toStore holds a replacement's changes to systemd's file descriptor
	// store (the files it opens, the names it drops) back until it is the
	// main process (fdstore_unix.go).
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
}
