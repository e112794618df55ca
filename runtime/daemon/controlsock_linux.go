package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A daemonError is the error of a reload or an upgrade, as the daemon
// reported it over its control socket.
type daemonError struct{ text string }

func (e *daemonError) Error() string { return e.text }

// A running daemon listens on a control socket in Linux's abstract
// namespace, so that the reload command can wait for the reload it asks for
// and learn how it went: SIGHUP cannot answer. Abstract sockets have no
// owner and no permissions, so the name is the daemon's name and pid and a
// random part: no one can take it first. The client finds it in the
// kernel's table of Unix sockets and checks with SO_PEERCRED that the
// socket belongs to the pid it asked for, so that no other process can pose
// as the daemon; the daemon answers only root and its own user.
//
// The protocol is one request line, "RELOAD" or "UPGRADE", and one answer,
// "OK" (for an upgrade followed by a space and the new daemon's pid) or
// "ERROR " and the error's text, up to the end of the connection.
const (
	controlReload  = "RELOAD"
	controlUpgrade = "UPGRADE"
	controlOK      = "OK"
	controlError   = "ERROR "
)

// haveControlSockets says that every daemon of this runtime listens on a
// control socket here.
const haveControlSockets = true

// controlRequestWait bounds how long the daemon waits for a request line.
const controlRequestWait = 5 * time.Second

// controlPrefix begins the abstract name of the control socket of the
// daemon called name with pid; a random part ends it.
func controlPrefix(name string, pid int) string {
	return "@gendaemon/" + name + "/" + strconv.Itoa(pid) + "/"
}

// controlAcceptPause is the pause after accept fails for want of resources
// (descriptors, memory), before it tries again.
const controlAcceptPause = 100 * time.Millisecond

// serveControl listens on the daemon's control socket and sends the reloads
// asked for to reloads until ctx is done. It returns a function that stops
// it and waits until every request it took is answered, so that the
// answer to an upgrade, which ends this daemon, reaches the caller; call
// it once ctx is done. A daemon that cannot listen still runs; reload then only signals it.
func (d *running) serveControl(ctx context.Context, reloads chan<- reloadRequest) (stop func()) {
	random, err := unguessable() // random_*.go
	fd := -1
	if err == nil {
		fd, err = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	}
	if err == nil {
		name := controlPrefix(d.cfg.Name, os.Getpid()) + random
		if err = unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err == nil {
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
	var answering sync.WaitGroup
	go func() {
		for {
			conn, err := accept(l)
			switch {
			case errors.Is(err, os.ErrClosed):
				return // closed by stop
			case err != nil:
				// Out of descriptors or memory, or a connection gone
				// before it was accepted: the next may succeed.
				time.Sleep(controlAcceptPause)
			default:
				answering.Go(func() { d.answerControl(ctx, conn, reloads) })
			}
		}
	}()
	return func() {
		l.Close()
		answering.Wait()
	}
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
	switch readRequest(conn) {
	case controlReload:
		err = d.requestReloadFromLoop(ctx, reloads)
	case controlUpgrade:
		var pid int
		if pid, err = d.upgrade(callerContext(d.serving, conn)); err == nil {
			fmt.Fprintf(conn, "%s %d", controlOK, pid)
			return
		}
	default:
		return
	}
	if err != nil {
		fmt.Fprint(conn, controlError+err.Error())
		return
	}
	fmt.Fprint(conn, controlOK)
}

// callerContext returns a context derived from ctx that is cancelled when
// the caller at the other end of conn goes away (its --timeout expired):
// an upgrade it no longer waits for is given up, not carried out unseen.
// The caller sends nothing after its request, so any read ends only then,
// or once conn is closed.
func callerContext(ctx context.Context, conn *os.File) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	conn.SetReadDeadline(time.Time{})
	go func() {
		var b [1]byte
		conn.Read(b[:])
		cancel()
	}()
	return ctx
}

// readRequest reads one request line from conn, or returns "".
func readRequest(conn *os.File) string {
	var line []byte
	var b [1]byte
	for len(line) <= len(controlUpgrade) {
		if _, err := conn.Read(b[:]); err != nil {
			return ""
		}
		if b[0] == '\n' {
			return string(line)
		}
		line = append(line, b[0])
	}
	return ""
}

// requestReloadFromLoop asks the main loop for a reload and waits for its
// outcome. ctx is done once the main loop has ended; it answers every
// request it takes before that.
func (d *running) requestReloadFromLoop(ctx context.Context, reloads chan<- reloadRequest) error {
	done := make(chan error, 1)
	select {
	case reloads <- reloadRequest{done: done}:
	case <-ctx.Done():
		return errStopping
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done:
			return err
		default:
			return errStopping
		}
	}
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
// and waits until it has, or until timeout has passed if it is positive. It
// returns the reload's error, or an error wrapping errNoControl if pid has
// no control socket of that name.
func requestReload(name string, pid int, timeout time.Duration) error {
	_, err := controlRequest(name, pid, controlReload, timeout)
	return err
}

// requestUpgrade asks the daemon called name, whose pid is pid, to upgrade
// to the program at its path, and waits until it has, or until timeout
// has passed if it is positive. It returns the new daemon's pid.
func requestUpgrade(name string, pid int, timeout time.Duration) (int, error) {
	answer, err := controlRequest(name, pid, controlUpgrade, timeout)
	if err != nil {
		return 0, err
	}
	newPID, err := strconv.Atoi(answer)
	if err != nil || newPID <= 0 {
		return 0, fmt.Errorf("pid %d answered the upgrade with %q, not a pid", pid, answer)
	}
	return newPID, nil
}

// controlRequest sends request to the control socket of the daemon called
// name with pid and returns what followed "OK" in its answer, waiting at
// most timeout if it is positive. It returns the daemon's error, or an
// error wrapping errNoControl if pid has no control socket of that name.
func controlRequest(name string, pid int, request string, timeout time.Duration) (string, error) {
	what := strings.ToLower(request)
	conn, err := dialControl(name, pid)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if timeout > 0 {
		tv := unix.NsecToTimeval(timeout.Nanoseconds())
		if err := unix.SetsockoptTimeval(int(conn.Fd()), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return "", os.NewSyscallError("setsockopt SO_RCVTIMEO", err)
		}
	}
	// A daemon that refuses the caller closes the connection at once, so
	// the request may meet a closed socket.
	_, err = io.WriteString(conn, request+"\n")
	if err != nil && !errors.Is(err, unix.EPIPE) && !errors.Is(err, unix.ECONNRESET) {
		return "", fmt.Errorf("asking pid %d to %s: %w", pid, what, err)
	}
	var answer []byte
	if err == nil {
		answer, err = io.ReadAll(conn)
	}
	switch text := string(answer); {
	case errors.Is(err, unix.EAGAIN):
		return "", fmt.Errorf("pid %d did not finish its %s within %v", pid, what, timeout)
	case err != nil && !errors.Is(err, unix.EPIPE) && !errors.Is(err, unix.ECONNRESET):
		return "", fmt.Errorf("reading pid %d's answer: %w", pid, err)
	case text == controlOK:
		return "", nil
	case strings.HasPrefix(text, controlOK+" "):
		return strings.TrimPrefix(text, controlOK+" "), nil
	case strings.HasPrefix(text, controlError):
		return "", &daemonError{text: strings.TrimPrefix(text, controlError)}
	case refusesCaller(pid):
		return "", fmt.Errorf("pid %d ended the %s without an answer: it answers only root and the user it runs as: %w", pid, what, fs.ErrPermission)
	default:
		return "", fmt.Errorf("pid %d ended the %s without an answer: it answers only root and the user it runs as, and it may have exited", pid, what)
	}
}

// dialControl connects to the control socket of the daemon called name
// with pid. The socket's full name is in the kernel's table of Unix
// sockets of the daemon's network namespace; each socket there that bears
// the daemon's prefix is tried, and only one whose other end is pid
// itself is kept: one that someone else bound with that prefix is not.
func dialControl(name string, pid int) (*os.File, error) {
	table, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/unix", pid))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoControl, err)
	}
	// The daemon names its socket with its pid as it sees it: in a pid
	// namespace of its own (a container), another number than pid.
	var prefixes []string
	for _, p := range namespacePIDs(pid) {
		prefixes = append(prefixes, controlPrefix(name, p))
	}
	lastErr := fmt.Errorf("%w: pid %d listens on none", errNoControl, pid)
	for _, line := range strings.Split(string(table), "\n") {
		// Num RefCount Protocol Flags Type St Inode Path
		f := strings.Fields(line)
		if len(f) != 8 || !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(f[7], p) }) {
			continue
		}
		conn, err := connectControl(f[7], pid)
		if err == nil {
			return conn, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// connectControl connects to the abstract socket called address, and keeps
// the connection only if the process at the other end is pid.
func connectControl(address string, pid int) (*os.File, error) {
	fd, err := controlSocket(pid)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so that a socket whose backlog is full, as anyone can
	// make one that bears the daemon's prefix, fails at once (EAGAIN)
	// rather than blocking the caller; then blocking, for the request and
	// its SO_RCVTIMEO, before os.NewFile sees it (a non-blocking
	// descriptor would go to the runtime's poller, which retries EAGAIN).
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: address}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: %v", errNoControl, err)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	conn := os.NewFile(uintptr(fd), "gendaemon-control")
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil || int(cred.Pid) != pid {
		conn.Close()
		return nil, fmt.Errorf("%w: the socket of pid %d belongs to another process", errNoControl, pid)
	}
	return conn, nil
}

// controlSocket makes the socket that connects to the control socket of
// pid. An abstract name is looked up in the network namespace that the
// connecting socket was made in, so for a daemon in a network namespace of
// its own (systemd's PrivateNetwork=) the socket is made there: in a thread
// of its own, which enters the namespace and goes back, or, if it cannot go
// back, ends with its goroutine.
func controlSocket(pid int) (int, error) {
	theirs, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil || sameNamespace(theirs, "/proc/self/ns/net") {
		if theirs != nil {
			theirs.Close()
		}
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		return fd, os.NewSyscallError("socket", err)
	}
	defer theirs.Close()
	type result struct {
		fd  int
		err error
	}
	made := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			made <- result{-1, err}
			return
		}
		defer own.Close()
		if err := unix.Setns(int(theirs.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			made <- result{-1, fmt.Errorf("%w: pid %d is in another network namespace, which this process may not enter (%v); run the command as root", errNoControl, pid, os.NewSyscallError("setns", err))}
			return
		}
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		made <- result{fd, os.NewSyscallError("socket", err)}
	}()
	r := <-made
	return r.fd, r.err
}

// sameNamespace reports whether ns and the namespace file at path are the
// same namespace.
func sameNamespace(ns *os.File, path string) bool {
	var a, b unix.Stat_t
	return unix.Fstat(int(ns.Fd()), &a) == nil && unix.Stat(path, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

// refusesCaller reports whether the daemon with pid refuses this process's
// requests (answerControl): it runs as another user, and this one is not
// root. /proc/PID belongs to the process's effective user.
func refusesCaller(pid int) bool {
	var st unix.Stat_t
	euid := os.Geteuid()
	return euid != 0 && unix.Stat(fmt.Sprintf("/proc/%d", pid), &st) == nil && int(st.Uid) != euid
}

// namespacePIDs returns pid's numbers in each pid namespace it is in, from
// this one down to its own (NSpid in /proc/PID/status), or pid alone.
func namespacePIDs(pid int) []int {
	pids := []int{pid}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return pids
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok && len(strings.Fields(rest)) > 1 {
			for _, field := range strings.Fields(rest)[1:] {
				if n, err := strconv.Atoi(field); err == nil && n > 0 {
					pids = append(pids, n)
				}
			}
		}
	}
	return pids
}
