package daemon

import "errors"

// A reloadRequest asks the running daemon's main loop for a reload. done,
// if non-nil, receives the reload's outcome: a SIGHUP asks without
// waiting, the control socket waits.
type reloadRequest struct {
	done chan<- error
}

// errNoControl is returned by requestReload when pid has no control socket
// of the daemon called name: it is not one, its runtime predates control
// sockets, or the system has none.
var errNoControl = errors.New("no control socket")

// errStopping answers a reload asked for once the daemon has begun to stop.
var errStopping = errors.New("the daemon is stopping")
