// The notify protocol is systemd's, but nothing in it is Linux-only, and the
// Notifier builds everywhere, so that a daemon that uses one still compiles
// on a developer's Mac or Windows machine, where every method is a no-op
// because no service manager sets NOTIFY_SOCKET. notify_unix.go sends the
// datagrams.

package daemon

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Environment variables of the sd_notify(3) protocol.
const (
	envNotifySocket = "NOTIFY_SOCKET"
	envWatchdogUsec = "WATCHDOG_USEC"
	envWatchdogPID  = "WATCHDOG_PID"
)

// Notifier reports the daemon's state to the service manager over the
// sd_notify(3) datagram protocol: "READY=1" once it serves, "RELOADING=1" and
// "STOPPING=1" around reloads and shutdown, "STATUS=" lines for humans, and
// "WATCHDOG=1" keep-alives when the unit has WatchdogSec= set.
//
// A Notifier reads its environment once, when it is made, and is safe for
// concurrent use. The zero value, and a Notifier made where NOTIFY_SOCKET is
// unset, is not under a service manager: every method is then a no-op that
// returns (false, nil), so callers need no "am I under systemd?" branch.
type Notifier struct {
	// socket is NOTIFY_SOCKET as read: an absolute path, or an abstract
	// socket name starting with '@'. Empty means no service manager.
	socket string

	// watchdog is the keep-alive deadline the manager asked for, or zero.
	watchdog time.Duration
}

// NotifierFromEnv returns a Notifier for the service manager named by this
// process's environment. It does not change the environment; see
// UnsetNotifyEnv.
func NotifierFromEnv() *Notifier {
	return NewNotifier(os.Getenv)
}

// NewNotifier returns a Notifier for the service manager described by
// getenv, which is called once for each of NOTIFY_SOCKET, WATCHDOG_USEC and
// WATCHDOG_PID; os.Getenv is the usual argument. If getenv is nil, the
// Notifier is a no-op.
//
// The watchdog is enabled only if WATCHDOG_USEC is a positive number of
// microseconds and WATCHDOG_PID is empty or this process's pid: systemd sets
// WATCHDOG_PID to the main process, and a child that inherited the variables
// must not keep a dead parent alive. Malformed values disable the watchdog.
func NewNotifier(getenv func(string) string) *Notifier {
	if getenv == nil {
		return &Notifier{}
	}
	return &Notifier{
		socket:   getenv(envNotifySocket),
		watchdog: watchdogInterval(getenv(envWatchdogUsec), getenv(envWatchdogPID), os.Getpid()),
	}
}

// watchdogInterval decodes WATCHDOG_USEC and WATCHDOG_PID for process pid.
// It returns zero if the watchdog is off or not meant for pid.
func watchdogInterval(usec, wpid string, pid int) time.Duration {
	if wpid != "" {
		p, err := strconv.Atoi(wpid)
		if err != nil || p != pid {
			return 0
		}
	}
	u, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || u <= 0 || u > math.MaxInt64/int64(time.Microsecond) {
		return 0
	}
	return time.Duration(u) * time.Microsecond
}

// UnsetNotifyEnv removes NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from
// this process's environment, so that the programs it starts do not report to
// the service manager as if they were the service. Call it after
// NotifierFromEnv; a Notifier keeps what it read.
func UnsetNotifyEnv() error {
	var errs []error
	for _, name := range []string{envNotifySocket, envWatchdogUsec, envWatchdogPID} {
		if err := os.Unsetenv(name); err != nil {
			errs = append(errs, fmt.Errorf("unset %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Enabled reports whether a service manager listens: whether NOTIFY_SOCKET
// was set when n was made.
func (n *Notifier) Enabled() bool {
	return n != nil && n.socket != ""
}

// Notify sends state, one or more newline-separated VAR=value assignments of
// sd_notify(3), to the service manager as a single datagram. The helpers below
// cover the common states; Notify is for the rest (e.g. "EXTEND_TIMEOUT_USEC=…").
//
// It returns one of:
//   - (true, nil): the manager's socket accepted the datagram;
//   - (false, nil): not under a service manager (NOTIFY_SOCKET was unset);
//   - (false, err): under a service manager, but state is empty, the address
//     is not an absolute path or '@' name, or the send failed.
//
// A sent datagram is not an acknowledgement: the manager reads it later, and
// ignores it if it does not expect notifications from this process (see
// NotifyAccess= in systemd.service(5)).
func (n *Notifier) Notify(state string) (bool, error) {
	if !n.Enabled() {
		return false, nil
	}
	if state == "" {
		return false, errors.New("notify: empty state")
	}
	if n.socket[0] != '/' && n.socket[0] != '@' {
		return false, fmt.Errorf("notify: unsupported %s %q: want an absolute path or an @abstract name", envNotifySocket, n.socket)
	}
	if err := sendNotify(n.socket, state); err != nil {
		return false, err
	}
	return true, nil
}

// Ready sends "READY=1": start-up, or a reload begun with Reloading, is
// complete. With Type=notify systemd considers the service started only
// now. Its outcomes are those of Notify.
func (n *Notifier) Ready() (bool, error) {
	return n.Notify("READY=1")
}

// Stopping sends "STOPPING=1": the daemon has begun to shut down, so the
// manager shows it as deactivating rather than failed. Its outcomes are
// those of Notify.
func (n *Notifier) Stopping() (bool, error) {
	return n.Notify("STOPPING=1")
}

// Status sends "STATUS=msg", a one-line description of the daemon's state
// that systemctl status shows. Each newline in msg becomes a space, because
// a newline would end the STATUS= assignment and let the rest of msg (an
// error text, say) be read as a command such as "READY=1". Its outcomes are
// those of Notify.
func (n *Notifier) Status(msg string) (bool, error) {
	msg = strings.ReplaceAll(msg, "\n", " ")
	return n.Notify("STATUS=" + msg)
}

// Reloading sends "RELOADING=1" with "MONOTONIC_USEC=", the CLOCK_MONOTONIC
// time in microseconds: the daemon has begun to reload its configuration.
// Type=notify-reload units need the timestamp to match the reply to the
// reload request that caused it. The daemon must send Ready when the reload
// is done, whether or not it succeeded. Its outcomes are those of Notify, and
// (false, err) if the clock cannot be read.
func (n *Notifier) Reloading() (bool, error) {
	if !n.Enabled() {
		return false, nil
	}
	usec, err := clockMonotonicUsec()
	if err != nil {
		return false, fmt.Errorf("notify reloading: read CLOCK_MONOTONIC: %w", err)
	}
	return n.Notify("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(usec, 10))
}

// Watchdog sends "WATCHDOG=1", one keep-alive. RunWatchdog sends them on
// schedule; call Watchdog directly only to tie keep-alives to the daemon's
// own progress. Its outcomes are those of Notify; it sends even if the
// manager did not ask for a watchdog (systemd then ignores it).
func (n *Notifier) Watchdog() (bool, error) {
	return n.Notify("WATCHDOG=1")
}

// WatchdogInterval returns how long the manager waits for a keep-alive before
// it considers the daemon hung (WatchdogSec= of the unit, passed as
// WATCHDOG_USEC), and true, if it asked this process for keep-alives. It
// returns (0, false) if WATCHDOG_USEC was unset, zero or malformed, or
// WATCHDOG_PID named another process.
func (n *Notifier) WatchdogInterval() (time.Duration, bool) {
	if n == nil || n.watchdog <= 0 {
		return 0, false
	}
	return n.watchdog, true
}

// RunWatchdog sends "WATCHDOG=1" every half WatchdogInterval, as
// sd_watchdog_enabled(3) recommends, until ctx is done; run it in its own
// goroutine. If the manager did not ask for keep-alives, or is absent, it
// returns nil at once, without a timer or goroutine, so the daemon never wakes
// up for nothing.
//
// It returns nil when ctx is done, and the error of the first send that
// fails: a daemon that cannot reach its manager should let the manager's
// watchdog act rather than pretend to be alive.
func (n *Notifier) RunWatchdog(ctx context.Context) error {
	interval, ok := n.WatchdogInterval()
	if !ok || !n.Enabled() {
		return nil
	}
	ticker := time.NewTicker(interval / 2)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if _, err := n.Watchdog(); err != nil {
				return fmt.Errorf("watchdog: %w", err)
			}
		}
	}
}
