// Command gowait is the floor for a Go start command that returns once its
// daemon is ready, as gendaemon's start does: the shared bench's go-reexec
// (re-exec into a new session, which re-execs once more and exits), except
// that the launcher waits, on a pipe the daemon inherits, for the daemon to
// say it is ready, and reaps the session leader, before it exits. go-reexec's
// launcher exits as soon as it has started the session leader.
//
// It is a module of its own because it needs the shared bench's probe
// (daemonbench/probe), which gendaemon's module does not depend on.
//
// usage: gowait start [FIFO]   (default FIFO: $READY_FIFO)
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"daemonbench/probe"
)

// stageEnv marks the re-executed stages; the daemon removes it.
const stageEnv = "GOWAIT_STAGE"

// readyFD is the descriptor of the readiness pipe in the re-executed stages:
// 4, where gendaemon's daemon has its own, so that bench/breakdown finds the
// READY message in a trace of either (3 is left closed).
const readyFD = 4

// sysCloseRange is close_range(2)'s number, the same on every architecture.
const sysCloseRange = 436

// closeRangeCloexec is CLOSE_RANGE_CLOEXEC (linux/close_range.h).
const closeRangeCloexec = 1 << 2

func main() {
	if len(os.Args) < 2 || os.Args[1] != "start" {
		fmt.Fprintln(os.Stderr, "usage: gowait start [FIFO]")
		os.Exit(2)
	}
	switch os.Getenv(stageEnv) {
	case "":
		launch()
	case "1":
		spawn("2", false, readyFD) // the session leader: one more exec, then exit
	default:
		os.Unsetenv(stageEnv)
		syscall.Umask(0)
		fifo := ""
		if len(os.Args) > 2 {
			fifo = os.Args[2]
		}
		ready := os.NewFile(readyFD, "ready")
		if _, err := ready.Write([]byte("READY\n")); err != nil {
			fail("ready", err)
		}
		ready.Close()
		os.Exit(probe.Report("go-reexec-wait", fifo))
	}
	os.Exit(0)
}

// launch starts the session leader and returns once the daemon has said it
// is ready and closed the pipe.
func launch() {
	if _, _, e := syscall.RawSyscall(sysCloseRange, 3, ^uintptr(0)>>32, closeRangeCloexec); e != 0 {
		fail("close_range", e)
	}
	r, w, err := os.Pipe()
	if err != nil {
		fail("pipe", err)
	}
	pid := spawn("1", true, int(w.Fd()))
	w.Close()
	msg, err := io.ReadAll(r)
	if err != nil {
		fail("read", err)
	}
	var status syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &status, 0, nil); err != nil {
		fail("wait", err)
	}
	if string(msg) != "READY\n" {
		fail("ready", fmt.Errorf("the daemon said %q", msg))
	}
	fmt.Println("started")
}

// spawn re-executes the program as stage, with the readiness pipe (ready)
// on readyFD, and returns the child's pid.
func spawn(stage string, setsid bool, ready int) int {
	null, err := syscall.Open("/dev/null", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		fail("open /dev/null", err)
	}
	self, err := os.Executable()
	if err != nil {
		fail("executable", err)
	}
	env := []string{stageEnv + "=" + stage}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, stageEnv+"=") {
			env = append(env, kv)
		}
	}
	pid, err := syscall.ForkExec(self, os.Args, &syscall.ProcAttr{
		Dir:   "/",
		Env:   env,
		Files: []uintptr{uintptr(null), uintptr(null), uintptr(null), ^uintptr(0), uintptr(ready)},
		Sys:   &syscall.SysProcAttr{Setsid: setsid},
	})
	if err != nil {
		fail("re-exec", err)
	}
	return pid
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "gowait: %s: %v\n", what, err)
	os.Exit(1)
}
