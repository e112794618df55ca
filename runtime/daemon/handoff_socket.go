//go:build unix && !(linux && !gendaemon_portable)

package daemon

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// newHandoff returns one end of a stream socket pair, close-on-exec, from
// which the message naming stage can be read: the other end wrote it and is
// closed. Where there is no memfd, a socket is the descriptor whose content
// a process can look at without taking it (MSG_PEEK), which reexecuted needs
// before Start takes the handoff; a pipe's content can only be consumed.
func newHandoff(stage int) (*os.File, error) {
	fds, err := socketPairCloexec()
	if err != nil {
		return nil, err
	}
	msg := []byte(handoffMessage(stage))
	n, err := unix.Write(fds[1], msg)
	unix.Close(fds[1])
	if err == nil && n != len(msg) {
		err = unix.EIO
	}
	if err != nil {
		unix.Close(fds[0])
		return nil, os.NewSyscallError("write", err)
	}
	return os.NewFile(uintptr(fds[0]), "gendaemon-handoff"), nil
}

// socketPairCloexec makes a close-on-exec stream socket pair. SOCK_CLOEXEC
// is not on every Unix, so the flag is set under syscall.ForkLock, as the
// standard library does.
func socketPairCloexec() ([2]int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return fds, os.NewSyscallError("socketpair", err)
	}
	unix.CloseOnExec(fds[0])
	unix.CloseOnExec(fds[1])
	return fds, nil
}

// handoffStage reports the stage of this process without taking the
// handoff. A descriptor at handoffFD that is not a Unix stream socket
// holding exactly the message, already written, is left alone: this
// process is then the launcher. Peeking never blocks and never consumes,
// so a socket passed by a service manager is untouched.
func handoffStage() int { return handoffStageAt(handoffFD) }

// handoffStageAt is handoffStage for the descriptor fd.
func handoffStageAt(fd int) int {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return stageLauncher
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil || typ != unix.SOCK_STREAM {
		return stageLauncher
	}
	// Readable now, so that peeking cannot block (MSG_DONTWAIT is not on
	// every Unix).
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, 0); err != nil || n != 1 || fds[0].Revents&unix.POLLIN == 0 {
		return stageLauncher
	}
	// Recvfrom's error is not looked at: it may come from decoding the
	// peer's address, which a socket pair does not have and which systems
	// report differently, after the bytes were read; n counts them, and is
	// negative if the read itself failed.
	var buf [len(handoffMagic) + 2]byte
	n, _, _ := unix.Recvfrom(fd, buf[:], unix.MSG_PEEK)
	if n <= 0 {
		return stageLauncher
	}
	return parseHandoff(buf[:n])
}

// checkNoHandoff refuses to launch from a process that has the descriptors
// of a re-executed one, a Unix stream socket at handoffFD and the write end
// of a pipe at readyFD, but did not read its stage there. Should peeking
// ever fail on some system, each process would otherwise start the next,
// without end.
func checkNoHandoff() error {
	return checkNoHandoffAt(handoffFD, readyFD)
}

// checkNoHandoffAt is checkNoHandoff for the descriptors handoff and ready.
func checkNoHandoffAt(handoff, ready int) error {
	var st unix.Stat_t
	if unix.Fstat(handoff, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return nil
	}
	if typ, err := unix.GetsockoptInt(handoff, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || typ != unix.SOCK_STREAM {
		return nil
	}
	if unix.Fstat(ready, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil
	}
	if flags, err := unix.FcntlInt(uintptr(ready), unix.F_GETFL, 0); err != nil || flags&unix.O_ACCMODE != unix.O_WRONLY {
		return nil
	}
	return errors.New("descriptors 3 and 4 look like those of a process that start re-executed, but no stage could be read from 3; not starting another")
}
