//go:build unix

package daemon

import (
	"context"
	"log/slog"
	"time"
)

// runWatchdog sends systemd's watchdog keep-alives, when the unit asks for
// them, until ctx is done. If the service can tell whether it is healthy,
// a keep-alive is sent only after healthy has returned nil within half the
// interval; otherwise one is sent every half interval, which says only
// that the process runs.
func (d *running) runWatchdog(ctx context.Context, healthy func(context.Context) error) {
	interval, ok := d.manager().WatchdogInterval()
	if !ok || !d.manager().Enabled() {
		return
	}
	if healthy == nil {
		if err := d.manager().RunWatchdog(ctx); err != nil {
			slog.Error("watchdog", "err", err)
		}
		return
	}
	ticker := time.NewTicker(interval / 2)
	defer ticker.Stop()
	wasHealthy := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		err := checkHealth(ctx, healthy, interval/2)
		switch {
		case err != nil && wasHealthy:
			slog.Error("unhealthy: no watchdog keep-alive", "err", err)
			d.manager().Status("unhealthy: " + firstLine(err.Error()))
		case err == nil && !wasHealthy:
			slog.Info("healthy again")
			d.manager().Status("")
		}
		wasHealthy = err == nil
		if err == nil {
			if _, err := d.manager().Watchdog(); err != nil {
				slog.Error("watchdog", "err", err)
				return
			}
		}
	}
}

// checkHealth calls healthy with a deadline of wait, and gives up waiting
// for it then: a service that hangs is not healthy.
func checkHealth(ctx context.Context, healthy func(context.Context) error, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	result := make(chan error, 1)
	go func() { result <- callHook(ctx, "healthy", healthy) }()
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
