// Package pidfd is the little the bench programs need of Linux process file
// descriptors, on the standard library's raw system calls.
package pidfd

import (
	"errors"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// System call numbers, the same on every architecture but alpha.
const (
	sysPidfdOpen       = 434
	sysPidfdSendSignal = 424
)

// Open returns a pidfd (close-on-exec) for the process pid.
func Open(pid int) (int, error) {
	fd, _, e := syscall.Syscall(sysPidfdOpen, uintptr(pid), 0, 0)
	if e != 0 {
		return -1, e
	}
	syscall.CloseOnExec(int(fd))
	return int(fd), nil
}

// Signal sends sig to the process behind fd.
func Signal(fd int, sig syscall.Signal) error {
	if _, _, e := syscall.Syscall6(sysPidfdSendSignal, uintptr(fd), uintptr(sig), 0, 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

// pollFd is struct pollfd.
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

const pollIn = 0x1

// ErrTimeout is returned by Wait when the deadline passes first.
var ErrTimeout = errors.New("timed out")

// Wait blocks until at least one of fds is readable (for a pidfd: its
// process has exited), or timeout passes (a negative timeout: no limit). It
// returns, for each of fds, whether it is readable, and the time it saw
// that, read from the monotonic clock right after ppoll returned.
func Wait(fds []int, timeout time.Duration) ([]bool, time.Time, error) {
	p := make([]pollFd, len(fds))
	for i, fd := range fds {
		p[i] = pollFd{fd: int32(fd), events: pollIn}
	}
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		var tsp *syscall.Timespec
		if timeout >= 0 {
			left := max(time.Until(deadline), 0)
			ts := syscall.NsecToTimespec(int64(left))
			tsp = &ts
		}
		n, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
			uintptr(unsafe.Pointer(tsp)), 0, 0, 0)
		now := time.Now()
		switch {
		case e == syscall.EINTR:
			continue
		case e != 0:
			return nil, now, e
		case n == 0:
			return nil, now, ErrTimeout
		}
		ready := make([]bool, len(p))
		for i := range p {
			ready[i] = p[i].revents != 0
		}
		return ready, now, nil
	}
}

// KillWait makes sure the child pid behind fd is gone: unless it has exited
// already, it sends SIGKILL and waits up to 5 seconds; then it reaps pid.
func KillWait(fd, pid int) {
	if ready, _, err := Wait([]int{fd}, 0); err != nil || !ready[0] {
		_ = Signal(fd, syscall.SIGKILL)
		_, _, _ = Wait([]int{fd}, 5*time.Second)
	}
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
}

// WaitString describes how a process ended.
func WaitString(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}
