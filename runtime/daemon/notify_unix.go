//go:build unix

package daemon

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// sendNotify sends state to the manager's socket, an absolute path or an
// '@' name. A fresh socket per message, as sd_notify does: notifications are
// rare, and a kept socket would stay connected to the old address if the
// manager re-created its socket (systemd does on daemon-reexec). A raw
// socket rather than the net package's, so that the daemon does not link
// net, and with it cgo. SockaddrUnix turns a leading '@' into the leading
// NUL of the abstract namespace, as sd_notify does.
func sendNotify(socket, state string) error {
	fd, err := socketCloexec(unix.AF_UNIX, unix.SOCK_DGRAM)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	serr := unix.Sendto(fd, []byte(state), 0, &unix.SockaddrUnix{Name: socket})
	cerr := unix.Close(fd)
	if serr != nil {
		return fmt.Errorf("notify %q: %w", firstLine(state), os.NewSyscallError("sendto", serr))
	}
	if cerr != nil {
		return fmt.Errorf("notify: %w", os.NewSyscallError("close", cerr))
	}
	return nil
}

// socketCloexec opens a close-on-exec socket. SOCK_CLOEXEC is not on every
// Unix, so the flag is set after the fact under syscall.ForkLock, as the
// standard library does, so that no concurrent exec inherits the socket.
func socketCloexec(domain, typ int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(domain, typ, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	unix.CloseOnExec(fd)
	return fd, nil
}

// firstLine returns s up to its first newline, to name a message in errors.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// childEnv returns the variables that let a daemon that replaces this one
// speak to the same service manager: its socket and the watchdog interval,
// without WATCHDOG_PID, which only the manager can know in advance.
func (n *Notifier) childEnv() []string {
	if !n.Enabled() {
		return nil
	}
	env := []string{envNotifySocket + "=" + n.socket}
	if n.watchdog > 0 {
		env = append(env, envWatchdogUsec+"="+strconv.FormatInt(n.watchdog.Microseconds(), 10))
	}
	return env
}

// sendFiles sends state with files attached (SCM_RIGHTS), as
// sd_pid_notify_with_fds does: "FDSTORE=1" puts them in the manager's
// file descriptor store.
func (n *Notifier) sendFiles(state string, files ...*os.File) error {
	if !n.Enabled() {
		return nil
	}
	fds := make([]int, 0, len(files))
	for _, f := range files {
		fd, ok := fileFD(f)
		if !ok {
			return fmt.Errorf("notify %q: a file is closed", firstLine(state))
		}
		fds = append(fds, fd)
	}
	fd, err := socketCloexec(unix.AF_UNIX, unix.SOCK_DGRAM)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Sendmsg(fd, []byte(state), unix.UnixRights(fds...), &unix.SockaddrUnix{Name: n.socket}, 0); err != nil {
		return fmt.Errorf("notify %q: %w", firstLine(state), os.NewSyscallError("sendmsg", err))
	}
	return nil
}
