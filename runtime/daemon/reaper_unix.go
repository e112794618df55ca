//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// When Run is process 1, as the entry point of a container (docker run,
// unshare -pf), the kernel hands it every orphan of the container to reap,
// and it gets no default action for signals. A service that reaps with
// wait(-1) would steal the exit status of the children it waits for with
// os/exec; one that does not leaves the orphans as zombies for ever. So,
// as tini and dumb-init do, process 1 becomes a minimal init: it runs the
// service as its only child, forwards to it the signals an operator sends,
// reaps every process that ends up its child, and exits with the service's
// status once the service has exited (which ends the container, and with
// it every process left in it).

// forwardedSignals are passed on to the service: those of stop, reload and
// terminals, and the user's own.
func forwardedSignals() []os.Signal {
	return []os.Signal{
		unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT,
		unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGCONT,
	}
}

// runAsInit runs this program again as the service, with the same
// arguments, environment and standard I/O, and acts as its init until it
// exits; it returns the service's exit status (128 plus the signal's number
// if a signal ended it), or an error if the service could not be started.
func runAsInit() (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("finding this program to run it under process 1: %w", err)
	}
	children := make(chan os.Signal, 1)
	signal.Notify(children, unix.SIGCHLD)
	forward := make(chan os.Signal, 8)
	signal.Notify(forward, forwardedSignals()...)
	defer signal.Stop(forward)
	defer signal.Stop(children)
	// The service writes the pid of the daemon that replaces it, at an
	// upgrade, to this pipe: init then follows that one.
	var pipe [2]int
	syscall.ForkLock.RLock()
	err = unix.Pipe(pipe[:])
	if err == nil {
		unix.CloseOnExec(pipe[0])
		unix.CloseOnExec(pipe[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return 0, os.NewSyscallError("pipe", err)
	}
	successors := pipe[0]
	defer unix.Close(successors)
	unix.SetNonblock(successors, true) // read without waiting
	service, err := syscall.ForkExec(self, os.Args, &syscall.ProcAttr{
		Env:   append(os.Environ(), envInitPipe+"="+strconv.Itoa(initPipeFD)),
		Files: []uintptr{0, 1, 2, uintptr(pipe[1])},
	})
	unix.Close(pipe[1])
	if err != nil {
		return 0, fmt.Errorf("starting the service under process 1: %w", err)
	}
	for {
		service = followSuccessor(successors, service)
		if status, done := reapChildren(service); done {
			if next := followSuccessor(successors, service); next != service && status == 0 {
				service = next // it handed over, then exited
				continue
			}
			return status, nil
		}
		select {
		case <-children:
		case sig := <-forward:
			// What followSuccessor reads it consumes: keep it, or the
			// service's exit would find no successor and end init.
			service = followSuccessor(successors, service)
			unix.Kill(service, sig.(unix.Signal))
		}
	}
}

// The pipe on which the service tells init its successor: at initPipeFD
// in the service, named by envInitPipe.
const (
	envInitPipe = "GENDAEMON_INIT_PIPE"
	initPipeFD  = 3
)

// followSuccessor returns the last pid the service wrote to successors,
// without waiting, or service if it wrote none.
func followSuccessor(successors, service int) int {
	var buf [64]byte
	for {
		n, err := unix.Read(successors, buf[:])
		if n <= 0 || err != nil {
			return service
		}
		for _, line := range strings.Fields(string(buf[:n])) {
			if pid, err := strconv.Atoi(line); err == nil && pid > 1 {
				service = pid
			}
		}
	}
}

// reapChildren collects every child that has exited, without waiting, and
// reports the service's exit status once it is among them.
func reapChildren(service int) (status int, done bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil, pid <= 0:
			return status, done // ECHILD, or none has exited yet
		case pid != service:
			continue // an orphan, reaped
		case ws.Signaled():
			status, done = 128+int(ws.Signal()), true
		default:
			status, done = ws.ExitStatus(), true
		}
	}
}
