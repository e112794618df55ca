//go:build !gendaemon_portable

package daemon

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A process is a daemon to signal and wait for. On Linux it is a pidfd,
// which refers to the process that had the pid when it was opened: a signal
// sent through it never reaches a process that reused the pid, and it
// becomes readable when the process exits.
type process struct {
	pid int
	fd  int
}

// openProcess returns the process pid, or errGone if it has exited. The
// pidfile its caller holds open is not needed here.
func openProcess(pid int, _ *os.File) (*process, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil, errGone
	}
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	return &process{pid: pid, fd: fd}, nil
}

// signal sends sig to the process; unix.ESRCH if it has exited.
func (p *process) signal(sig unix.Signal) error {
	return unix.PidfdSendSignal(p.fd, sig, nil, 0)
}

// wait waits up to timeout for the process to exit, without a polling
// interval.
func (p *process) wait(timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left < 0 {
			left = 0
		}
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
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

// close releases the pidfd.
func (p *process) close() { unix.Close(p.fd) }
