//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
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
	service, err := syscall.ForkExec(self, os.Args, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		return 0, fmt.Errorf("starting the service under process 1: %w", err)
	}
	for {
		if status, done := reapChildren(service); done {
			return status, nil
		}
		select {
		case <-children:
		case sig := <-forward:
			unix.Kill(service, sig.(unix.Signal))
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
