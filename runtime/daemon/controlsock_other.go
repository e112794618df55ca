//go:build unix && !linux

package daemon

import (
	"context"
	"time"
)

// Control sockets live in Linux's abstract namespace. Elsewhere a daemon
// has none: reload and upgrade only signal it.

const haveControlSockets = false

func (d *running) serveControl(ctx context.Context, reloads chan<- reloadRequest) (stop func()) {
	return func() {}
}

func requestReload(name string, pid int, timeout time.Duration) error { return errNoControl }

func requestUpgrade(name string, pid int, timeout time.Duration) (int, error) { return 0, errNoControl }
