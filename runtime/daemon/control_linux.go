package daemon

import (
	"errors"
	"fmt"
	"os"
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
	return lockHolder(cfg.PIDFile)
}

// Reload sends SIGHUP to the running daemon, which then calls the service's
// Reload hook, and returns the daemon's pid. It returns ErrNotRunning or
// ErrDead as Status does.
func Reload(cfg Config) (pid int, err error) {
	pidfd, pid, err := openDaemon(cfg)
	if err != nil {
		return 0, err
	}
	defer unix.Close(pidfd)
	if err := unix.PidfdSendSignal(pidfd, unix.SIGHUP, nil, 0); err != nil {
		return pid, fmt.Errorf("sending SIGHUP to pid %d: %w", pid, err)
	}
	return pid, nil
}

// Stop sends SIGTERM to the running daemon and waits until it has exited. If
// it is still running after timeout (DefaultStopTimeout if timeout is 0 or
// less), Stop sends SIGKILL and reports killed. It returns the daemon's pid;
// ErrNotRunning if there is no pidfile; ErrDead, after removing the pidfile,
// if no process had locked it. It removes the pidfile of a daemon that could
// not remove it itself.
func Stop(cfg Config, timeout time.Duration) (pid int, killed bool, err error) {
	if timeout <= 0 {
		timeout = DefaultStopTimeout
	}
	pidfd, pid, err := openDaemon(cfg)
	if errors.Is(err, ErrDead) {
		return 0, false, errors.Join(err, removeStalePIDFile(cfg.PIDFile))
	}
	if err != nil {
		return 0, false, err
	}
	defer unix.Close(pidfd)
	if err := unix.PidfdSendSignal(pidfd, unix.SIGTERM, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return pid, false, fmt.Errorf("sending SIGTERM to pid %d: %w", pid, err)
	}
	exited, err := waitExit(pidfd, timeout)
	if err != nil {
		return pid, false, err
	}
	if !exited {
		killed = true
		if err := unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			return pid, killed, fmt.Errorf("sending SIGKILL to pid %d: %w", pid, err)
		}
		if exited, err = waitExit(pidfd, killWait); err != nil {
			return pid, killed, err
		}
		if !exited {
			return pid, killed, fmt.Errorf("pid %d still runs %v after SIGKILL", pid, killWait)
		}
	}
	// A daemon that dropped privileges may not be allowed to remove its own
	// pidfile; the caller of Stop usually is, and no one else needs it.
	removeStalePIDFile(cfg.PIDFile)
	return pid, killed, nil
}

// openDaemon returns a pidfd for the daemon that holds the pidfile's lock,
// and its pid. The pidfd refers to the process that had the pid when the
// lock was held, so a signal sent through it never reaches a process that
// reused the pid of a daemon that has exited.
func openDaemon(cfg Config) (pidfd, pid int, err error) {
	if err := cfg.check(); err != nil {
		return -1, 0, err
	}
	f, pid, err := runningDaemon(cfg.PIDFile)
	if err != nil {
		return -1, 0, err
	}
	defer f.Close()
	pidfd, err = unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return -1, 0, ErrDead
	}
	if err != nil {
		return -1, 0, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	// The lock was held before the pidfd was opened and still is, so the
	// daemon lived all along and pid could not have been reused.
	if held, err := locked(f); err != nil || !held {
		unix.Close(pidfd)
		if err == nil {
			err = ErrDead
		}
		return -1, 0, err
	}
	return pidfd, pid, nil
}

// waitExit waits up to timeout for the process behind pidfd to exit. The
// pidfd becomes readable when it does, so there is no polling interval.
func waitExit(pidfd int, timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left < 0 {
			left = 0
		}
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int((left+time.Millisecond-1)/time.Millisecond))
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return false, os.NewSyscallError("poll", err)
		case n > 0:
			return true, nil
		case left == 0:
			return false, nil
		}
	}
}
