//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package daemon

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A process is a daemon to signal and wait for: a kqueue that watches its
// pid for NOTE_EXIT (EVFILT_PROC), so that waiting needs no polling
// interval, and a signal is sent only while the exit has not been reported,
// which is while the pid is still the daemon's.
type process struct {
	pid    int
	kq     int
	exited bool // the kqueue reported the exit, which it does once
}

// openProcess returns the process pid, or errGone if it has exited. The
// pidfile its caller holds open is not needed here.
func openProcess(pid int, _ *os.File) (*process, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, os.NewSyscallError("kqueue", err)
	}
	unix.CloseOnExec(kq)
	var ev unix.Kevent_t
	unix.SetKevent(&ev, pid, unix.EVFILT_PROC, unix.EV_ADD|unix.EV_ONESHOT)
	ev.Fflags = unix.NOTE_EXIT
	if _, err := unix.Kevent(kq, []unix.Kevent_t{ev}, nil, nil); err != nil {
		unix.Close(kq)
		if errors.Is(err, unix.ESRCH) {
			return nil, errGone
		}
		return nil, os.NewSyscallError("kevent", err)
	}
	return &process{pid: pid, kq: kq}, nil
}

// signal sends sig to the process; unix.ESRCH if it has exited.
func (p *process) signal(sig unix.Signal) error {
	if exited, err := p.wait(0); err != nil || exited {
		if err == nil {
			err = unix.ESRCH
		}
		return err
	}
	return unix.Kill(p.pid, sig)
}

// wait waits up to timeout for the process to exit.
func (p *process) wait(timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	events := make([]unix.Kevent_t, 1)
	for !p.exited {
		ts := unix.NsecToTimespec(max(0, time.Until(deadline)).Nanoseconds())
		n, err := unix.Kevent(p.kq, nil, events, &ts)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return false, os.NewSyscallError("kevent", err)
		case n > 0:
			p.exited = true
		case time.Until(deadline) <= 0:
			return false, nil
		}
	}
	return true, nil
}

// close releases the kqueue.
func (p *process) close() { unix.Close(p.kq) }
