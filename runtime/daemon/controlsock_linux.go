package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A running daemon listens on a control socket in Linux's abstract
// namespace, named after the daemon and its pid, so that the reload command
// can wait for the reload it asks for and learn how it went: SIGHUP cannot
// answer. Abstract sockets have no file permissions, so the daemon answers
// only root and its own user, and the client checks with SO_PEERCRED that
// the socket belongs to the pid it asked for, so that no other process can
// pose as the daemon.
//
// The protocol is one request line, "RELOAD", and one answer, "OK" or
// "ERROR " and the error's text, up to the end of the connection.
const (
	controlReload = "RELOAD"
	controlOK     = "OK"
	controlError  = "ERROR "
)

// controlRequestWait bounds how long the daemon waits for a request line.
const controlRequestWait = 5 * time.Second

// controlAddress is the abstract address of the control socket of the
// daemon called name with pid.
func controlAddress(name string, pid int) *unix.SockaddrUnix {
	return &unix.SockaddrUnix{Name: "@gendaemon/" + name + "/" + strconv.Itoa(pid)}
}

// serveControl listens on the daemon's control socket and sends the reloads
// asked for to reloads until ctx is done. It returns a function that stops
// it. A daemon that cannot listen still runs; reload then only signals it.
func (d *running) serveControl(ctx context.Context, reloads chan<- reloadRequest) (stop func()) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err == nil {
		if err = unix.Bind(fd, controlAddress(d.cfg.Name, os.Getpid())); err == nil {
			err = unix.Listen(fd, 8)
		}
		if err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		slog.Warn("no control socket: reload will not wait for the reload", "err", err)
		return func() {}
	}
	l := os.NewFile(uintptr(fd), "gendaemon-control")
	go func() {
		for {
			conn, err := accept(l)
			if err != nil {
				return // closed by stop
			}
			go d.answerControl(ctx, conn, reloads)
		}
	}()
	return func() { l.Close() }
}

// accept waits for the next connection to l, through the runtime's poller.
func accept(l *os.File) (*os.File, error) {
	rc, err := l.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var acceptErr error
	err = rc.Read(func(fd uintptr) bool {
		nfd, _, acceptErr = unix.Accept4(int(fd), unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
		return !errors.Is(acceptErr, unix.EAGAIN)
	})
	if err != nil {
		return nil, err
	}
	if acceptErr != nil {
		return nil, acceptErr
	}
	return os.NewFile(uintptr(nfd), "gendaemon-control-conn"), nil
}

// answerControl carries out one request from a peer that may make it.
func (d *running) answerControl(ctx context.Context, conn *os.File, reloads chan<- reloadRequest) {
	defer conn.Close()
	cred, err := peerCredentials(conn)
	if err != nil || cred.Uid != 0 && int(cred.Uid) != os.Geteuid() {
		return
	}
	conn.SetReadDeadline(time.Now().Add(controlRequestWait))
	var buf [len(controlReload) + 1]byte
	n, _ := io.ReadFull(conn, buf[:])
	if string(buf[:n]) != controlReload+"\n" {
		return
	}
	done := make(chan error, 1)
	select {
	case reloads <- reloadRequest{done: done}:
	case <-ctx.Done():
		fmt.Fprint(conn, controlError+"the daemon is stopping")
		return
	}
	select {
	case err = <-done:
	case <-ctx.Done():
		err = errors.New("the daemon is stopping")
	}
	if err != nil {
		fmt.Fprint(conn, controlError+err.Error())
		return
	}
	fmt.Fprint(conn, controlOK)
}

// peerCredentials returns the credentials of the process at the other end
// of conn, as the kernel recorded them when it connected.
func peerCredentials(conn *os.File) (*unix.Ucred, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := rc.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	return cred, credErr
}

// requestReload asks the daemon called name, whose pid is pid, to reload,
// and waits until it has. It returns the reload's error, or an error
// wrapping errNoControl if pid has no control socket of that name.
func requestReload(name string, pid int) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	conn := os.NewFile(uintptr(fd), "gendaemon-control")
	defer conn.Close()
	if err := unix.Connect(fd, controlAddress(name, pid)); err != nil {
		return fmt.Errorf("%w: %v", errNoControl, err)
	}
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil || int(cred.Pid) != pid {
		return fmt.Errorf("%w: the socket of pid %d belongs to another process", errNoControl, pid)
	}
	// A daemon that refuses the caller closes the connection at once, so
	// the request may meet a closed socket.
	_, err = io.WriteString(conn, controlReload+"\n")
	if err != nil && !errors.Is(err, unix.EPIPE) && !errors.Is(err, unix.ECONNRESET) {
		return fmt.Errorf("asking pid %d to reload: %w", pid, err)
	}
	var answer []byte
	if err == nil {
		answer, err = io.ReadAll(conn)
	}
	switch text := string(answer); {
	case err != nil && !errors.Is(err, unix.EPIPE) && !errors.Is(err, unix.ECONNRESET):
		return fmt.Errorf("reading pid %d's answer: %w", pid, err)
	case text == controlOK:
		return nil
	case strings.HasPrefix(text, controlError):
		return &reloadError{text: strings.TrimPrefix(text, controlError)}
	default:
		return fmt.Errorf("pid %d ended the reload without an answer: it answers only root and the user it runs as, and it may have exited", pid)
	}
}
