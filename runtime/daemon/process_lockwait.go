//go:build unix && !(linux && !gendaemon_portable) && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package daemon

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A process is a daemon to signal and wait for, where the system offers
// neither pidfds nor kqueue: its exit is seen as the release of the
// daemon's lock on its pidfile, for which a goroutine waits in F_SETLKW, so
// there is no polling interval either. The lock is released when the daemon
// closes its pidfile as it exits (or the kernel does), which is a moment
// before the process is gone. A signal is sent only while the pid holds the
// lock.
type process struct {
	pid  int
	lock *os.File      // the pidfile, or nil: then nothing can be waited for
	done chan struct{} // closed once the daemon's lock is released
}

// errCannotWait: this system has no way to wait for a process that holds
// no pidfile.
var errCannotWait = errors.New("waiting for a process without a pidfile is not supported here")

// openProcess returns the process pid, or errGone if it has exited. pidfile
// is the pidfile whose lock pid holds, or nil.
func openProcess(pid int, pidfile *os.File) (*process, error) {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return nil, errGone
	}
	p := &process{pid: pid}
	if pidfile == nil {
		return p, nil
	}
	fd, err := unix.Dup(int(pidfile.Fd()))
	if err != nil {
		return nil, os.NewSyscallError("dup", err)
	}
	unix.CloseOnExec(fd)
	p.lock = os.NewFile(uintptr(fd), pidfile.Name())
	p.done = make(chan struct{})
	go p.awaitUnlock()
	return p, nil
}

// awaitUnlock waits until it can take a read lock where the daemon holds its
// write lock, which it can once the daemon has released it, and lets go at
// once.
func (p *process) awaitUnlock() {
	defer close(p.done)
	defer p.lock.Close()
	fd := p.lock.Fd()
	for {
		err := unix.FcntlFlock(fd, unix.F_SETLKW, recordLock(unix.F_RDLCK, daemonLockByte))
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	_ = unix.FcntlFlock(fd, unix.F_SETLK, recordLock(unix.F_UNLCK, daemonLockByte))
}

// signal sends sig to the process; unix.ESRCH if it no longer holds the
// lock.
func (p *process) signal(sig unix.Signal) error {
	if p.lock != nil {
		select {
		case <-p.done:
			return unix.ESRCH
		default:
		}
	}
	return unix.Kill(p.pid, sig)
}

// wait waits up to timeout for the daemon to release its lock.
func (p *process) wait(timeout time.Duration) (bool, error) {
	if p.done == nil {
		return false, errCannotWait
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return true, nil
	case <-timer.C:
		return false, nil
	}
}

// close does nothing: the goroutine that waits for the lock closes the
// pidfile itself, once the daemon is gone.
func (p *process) close() {}
