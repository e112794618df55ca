//go:build unix && !(linux && !gendaemon_portable) && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package daemon

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A process is a daemon to signal and wait for, where the system offers
// neither pidfds nor kqueue: its exit is seen as the release of the
// daemon's lock on its pidfile, for which a goroutine, started by the first
// wait, waits in F_SETLKW, so there is no polling interval either. The lock
// is released when the daemon closes its pidfile as it exits (or the kernel
// does), which is a moment before the process is gone. A signal is sent
// only while the pid holds the lock.
type process struct {
	pid  int
	lock *os.File      // a descriptor of the pidfile, or nil: then nothing can be waited for
	done chan struct{} // once wait has started the waiter: closed when the lock is released
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
	fd, err := dupCloexec(int(pidfile.Fd()))
	if err != nil {
		return nil, err
	}
	p.lock = os.NewFile(uintptr(fd), pidfile.Name())
	return p, nil
}

// dupCloexec duplicates fd, close-on-exec, under syscall.ForkLock so that
// no concurrent exec inherits the copy (F_DUPFD_CLOEXEC is not on every
// Unix).
func dupCloexec(fd int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	nfd, err := unix.Dup(fd)
	if err != nil {
		return -1, os.NewSyscallError("dup", err)
	}
	unix.CloseOnExec(nfd)
	return nfd, nil
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
	if p.lock != nil && p.released() {
		return unix.ESRCH
	}
	return unix.Kill(p.pid, sig)
}

// released reports whether the daemon has released its lock.
func (p *process) released() bool {
	if p.done != nil {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	}
	held, err := locked(p.lock)
	return err == nil && !held
}

// wait waits up to timeout for the daemon to release its lock.
func (p *process) wait(timeout time.Duration) (bool, error) {
	if p.lock == nil {
		return false, errCannotWait
	}
	if p.done == nil {
		p.done = make(chan struct{})
		go p.awaitUnlock()
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

// close closes the pidfile, unless the goroutine that waits for the lock
// has it: that one closes it once the daemon is gone. A process that was
// never waited for, as in Reload, leaves nothing behind.
func (p *process) close() {
	if p.lock != nil && p.done == nil {
		p.lock.Close()
	}
}
