//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// killWait bounds the wait for a process to die after SIGKILL; only a
// process stuck in the kernel outlives it.
const killWait = 5 * time.Second

// Status returns the pid of the running daemon. It returns ErrNotRunning if
// there is no pidfile, ErrDead if there is one that no process has locked,
// and another error if the pidfile cannot be read or is locked by a process
// other than the one it names.
func Status(cfg Config) (pid int, err error) {
	if err := cfg.check(); err != nil {
		return 0, err
	}
	return lockHolder(cfg)
}

// Reload asks the running daemon to reopen its log file and call the
// service's Reload hook, and returns the daemon's pid. On Linux it waits
// until the daemon has reloaded, over the daemon's control socket, and
// returns the reload's error; elsewhere, or with a daemon whose runtime has
// no control socket, it sends SIGHUP and returns at once. It returns
// ErrNotRunning or ErrDead as Status does.
func Reload(cfg Config) (pid int, err error) {
	pid, _, err = reload(cfg, 0)
	return pid, err
}

// reload is Reload, waiting at most timeout if it is positive, and reports
// whether it waited for the reload.
func reload(cfg Config, timeout time.Duration) (pid int, waited bool, err error) {
	p, err := openDaemon(cfg)
	if err != nil {
		return 0, false, err
	}
	defer p.close()
	if err := requestReload(cfg.Name, p.pid, timeout); !errors.Is(err, errNoControl) {
		return p.pid, true, err
	}
	if err := p.signal(unix.SIGHUP); err != nil {
		return p.pid, false, fmt.Errorf("sending SIGHUP to pid %d: %w", p.pid, err)
	}
	return p.pid, false, nil
}

// Stop sends SIGTERM to the running daemon, then SIGCONT, so that a
// stopped daemon (SIGSTOP, Ctrl-Z) can act on it, as systemd does, and
// waits until it has exited. If it is still running after timeout, Stop
// sends SIGKILL and reports killed; a timeout of 0 sends SIGKILL right after
// SIGTERM unless the daemon has exited already, and a negative one is
// refused. It returns the daemon's pid; ErrNotRunning if there is no
// pidfile; ErrDead, after removing the pidfile, if no process had locked
// it. It removes the pidfile of a daemon that could not remove it itself.
func Stop(cfg Config, timeout time.Duration) (pid int, killed bool, err error) {
	if timeout < 0 {
		return 0, false, fmt.Errorf("stop timeout %v is negative; give 0 to send SIGKILL right after SIGTERM", timeout)
	}
	p, err := openDaemon(cfg)
	if errors.Is(err, ErrDead) {
		return 0, false, errors.Join(err, removeStalePIDFile(cfg))
	}
	if err != nil {
		return 0, false, err
	}
	defer p.close()
	pid = p.pid
	if err := p.signal(unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
		return pid, false, fmt.Errorf("sending SIGTERM to pid %d: %w", pid, err)
	}
	if err := p.signal(unix.SIGCONT); err != nil && !errors.Is(err, unix.ESRCH) {
		return pid, false, fmt.Errorf("sending SIGCONT to pid %d: %w", pid, err)
	}
	exited, err := p.wait(timeout)
	if err != nil {
		return pid, false, err
	}
	if !exited {
		killed = true
		if err := p.signal(unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			return pid, killed, fmt.Errorf("sending SIGKILL to pid %d: %w", pid, err)
		}
		if exited, err = p.wait(killWait); err != nil {
			return pid, killed, err
		}
		if !exited {
			return pid, killed, fmt.Errorf("pid %d still runs %v after SIGKILL", pid, killWait)
		}
	}
	// A daemon that dropped privileges may not be allowed to remove its own
	// pidfile; the caller of Stop usually is, and no one else needs it.
	removeStalePIDFile(cfg)
	return pid, killed, nil
}

// openDaemon returns the daemon that holds the pidfile's lock (process_*.go
// says how each platform refers to it). The lock was held before the
// process was opened and still is afterwards, so the daemon lived all along
// and its pid could not have been reused in between.
func openDaemon(cfg Config) (*process, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	f, pid, err := runningDaemon(cfg)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := openProcess(pid, f)
	if errors.Is(err, errGone) {
		return nil, ErrDead
	}
	if err != nil {
		return nil, err
	}
	if held, err := locked(f); err != nil || !held {
		p.close()
		if err == nil {
			err = ErrDead
		}
		return nil, err
	}
	return p, nil
}

// errGone: the process to open has exited already.
var errGone = errors.New("process is gone")

// upgradeDaemon asks the daemon with pid, or the one that holds the
// pidfile if pid is 0, to upgrade (upgrade_unix.go), and waits until the
// old daemon has drained and exited, so that every request made after it
// returns is the new daemon's; both waits together take at most timeout
// if it is positive. It returns the old and the new daemon's pids, and
// drained false if the old one still runs at the timeout. Where daemons
// have no control socket (off Linux), it sends SIGUSR2 and returns 0 for
// the new one: the daemon upgrades without an answer.
func upgradeDaemon(cfg Config, pid int, timeout time.Duration) (old, replacement int, drained bool, err error) {
	var p *process
	if pid > 0 {
		p, err = openProcess(pid, nil)
	} else {
		p, err = openDaemon(cfg)
	}
	if errors.Is(err, errGone) {
		err = fmt.Errorf("pid %d: %w", pid, ErrNotRunning)
	}
	if err != nil {
		return 0, 0, false, err
	}
	defer p.close()
	var args []string
	recordErr := ErrNotRunning
	if pid == 0 {
		args, recordErr = readStartRecord(cfg.PIDFile, p.pid)
	}
	began := time.Now()
	replacement, err = requestUpgrade(cfg.Name, p.pid, timeout)
	if errors.Is(err, errNoControl) && haveControlSockets {
		// A daemon of this runtime has one: a daemon without one predates
		// upgrades, and SIGUSR2 would end it.
		return p.pid, 0, false, fmt.Errorf("pid %d cannot be upgraded (%w): its runtime predates upgrade, or it could not listen on its control socket; use restart", p.pid, err)
	}
	if errors.Is(err, errNoControl) {
		if err := p.signal(unix.SIGUSR2); err != nil {
			return p.pid, 0, false, fmt.Errorf("sending SIGUSR2 to pid %d: %w", p.pid, err)
		}
		return p.pid, 0, false, nil
	}
	if err != nil {
		return p.pid, 0, false, err
	}
	if recordErr == nil {
		// restart keeps the flags of the daemon the record names.
		writeStartRecord(cfg.PIDFile, replacement, args)
	}
	wait := 100 * 365 * 24 * time.Hour // no limit
	if timeout > 0 {
		wait = max(timeout-time.Since(began), time.Millisecond)
	}
	// A system that cannot wait for a process without its pidfile (the
	// portable build, with --pid) reports it as still draining.
	drained, _ = p.wait(wait)
	return p.pid, replacement, drained, nil
}
