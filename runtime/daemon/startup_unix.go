//go:build unix

package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A daemon is starting from the moment its pidfile gets its name until its
// Init has returned: it holds the starting lock, a POSIX write lock on the
// pidfile's third byte (the first two are the daemon's and the removers' on
// the portable path), taken before the file is linked and released once
// Init has returned nil; a daemon whose start fails exits, which releases
// it. A second start that finds a starting daemon waits for the outcome
// instead of reporting it as running: if the first start fails, the second
// starts the daemon. The wait is bounded by the first daemon's own start
// deadline (initialize).
const startingLockByte = 2

// launcherGrace is how much longer than the start timeout the daemon
// waits before it enforces the timeout itself: a launcher that is still
// there acts first, and says so to whoever ran start.
const launcherGrace = time.Second

// errStoppedDuringStart: a stop (or restart) came while Init ran.
var errStoppedDuringStart = errors.New("the daemon was asked to stop while Init ran, so it did not start")

// holdStartingLock takes the starting lock on f, the daemon's own pidfile
// before it is linked, so nobody else can hold it.
func holdStartingLock(f *os.File) error {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: startingLockByte, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk); err != nil {
		return os.NewSyscallError("fcntl F_SETLK", err)
	}
	return nil
}

// releaseStartingLock says that the daemon has started.
func releaseStartingLock(f *os.File) {
	lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: io.SeekStart, Start: startingLockByte, Len: 1}
	unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk)
}

// errStillStarting: a start gave up waiting for another one's Init.
var errStillStarting = errors.New("still starting")

// waitStarted waits until the daemon whose pidfile f is has started, or
// has failed to, for at most timeout if it is positive; it reports whether
// the daemon was starting at all. A start that gives up waiting returns an
// error: it neither reports the other daemon as running nor starts one.
func waitStarted(f *os.File, timeout time.Duration) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_RDLCK, Whence: io.SeekStart, Start: startingLockByte, Len: 1}
	probe := lk
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &probe); err != nil {
		return false, os.NewSyscallError("fcntl F_GETLK", err)
	}
	if probe.Type == unix.F_UNLCK {
		return false, nil
	}
	// The wait blocks in the kernel; a goroutine keeps it, so that a
	// timeout can end this wait (the process gives up the start and exits).
	fd := int(f.Fd())
	settled := make(chan error, 1)
	go func() {
		for {
			err := unix.FcntlFlock(uintptr(fd), unix.F_SETLKW, &lk)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				settled <- os.NewSyscallError("fcntl F_SETLKW", err)
				return
			}
			unlock := lk
			unlock.Type = unix.F_UNLCK
			unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &unlock)
			settled <- nil
			return
		}
	}()
	var expired <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case err := <-settled:
		return true, err
	case <-expired:
		return true, fmt.Errorf("%w: another start of the daemon (pid %d) has not finished its start-up within %v; try again once it has", errStillStarting, probe.Pid, timeout)
	}
}

// settledLockHolder is lockHolder for a start: a daemon that is still
// starting is waited for, so that a start that is about to fail is not
// reported as a running daemon.
func settledLockHolder(cfg Config) (int, error) {
	for {
		f, pid, err := runningDaemon(cfg)
		if err != nil {
			return 0, err
		}
		waited, err := waitStarted(f, cfg.StartTimeout)
		if err != nil && waited {
			return 0, err // f stays open: the abandoned wait may still use it
		}
		f.Close()
		if err != nil || !waited {
			return pid, err
		}
	}
}

// initialize runs the service's Init and settles the start: Init's error,
// errStoppedDuringStart if a stop came meanwhile (Init returned nil but the
// daemon must not report itself ready), or nil, after which the starting
// lock is released (ready). In a detached daemon, what Init started is
// killed when the start fails, and the daemon enforces its own start
// deadline (a launcherGrace after the launcher's), even if the launcher
// that would have enforced it is gone.
func (d *running) initialize(ctx context.Context, svc hooks, stop func(), ready func() error) error {
	var expired *startDeadline
	if d.detached && d.cfg.StartTimeout > 0 {
		expired = enforceStartDeadline(d.cfg.StartTimeout+launcherGrace, stop)
	}
	err := callHook(ctx, "init", svc.Init)
	if expired != nil && !expired.disarm() {
		select {} // the deadline's SIGKILL is on its way
	}
	if err == nil && ctx.Err() != nil && d.detached {
		// Under Run, a service manager that stops a starting service
		// expects it to stop, not to fail; Serve sees the same ctx.
		err = errStoppedDuringStart
	}
	if err == nil {
		err = ready()
	}
	if err != nil {
		if d.detached {
			killInitChildren()
		}
		return err
	}
	return nil
}

// killInitChildren kills what Init started, before the start is reported
// as failed. A detached daemon shares its process group only with what it
// started (the session leader that made the group has exited), so the
// daemon leaves the group for one of its own and kills the old one, then
// reaps its own children in it, so that they are gone, not merely doomed,
// when the start is reported. The daemon exits next, so no status it
// takes from os/exec matters any more.
func killInitChildren() {
	group := unix.Getpgrp()
	if group == os.Getpid() || unix.Setpgid(0, 0) != nil {
		return
	}
	unix.Kill(-group, unix.SIGKILL)
	for {
		_, err := unix.Wait4(-group, nil, 0, nil)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return // ECHILD: none left
		}
	}
}

// A startDeadline kills the daemon, and what its Init started, if Init
// has not returned when it expires.
type startDeadline struct {
	mu      sync.Mutex
	fired   bool
	stopped bool
	timer   *time.Timer
}

// enforceStartDeadline arms a deadline of timeout. When it expires, it
// removes the pidfile (stop) and kills the daemon's process group.
func enforceStartDeadline(timeout time.Duration, stop func()) *startDeadline {
	s := &startDeadline{}
	s.timer = time.AfterFunc(timeout, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.stopped {
			return
		}
		s.fired = true
		slog.Error(fmt.Sprintf("not ready within the start timeout of %v: the daemon and what its Init started are killed", timeout))
		stop()
		unix.Kill(0, unix.SIGKILL)
	})
	return s
}

// disarm stops the deadline; it reports false if it has already expired.
func (s *startDeadline) disarm() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer.Stop()
	s.stopped = true
	return !s.fired
}
