//go:build linux

// Command idlebase is the baseline of bench/idle.sh: a trivial Go program
// that detaches the way a generated daemon does (re-executed into a new
// session, which re-executes it once more and exits; stdio on /dev/null,
// cwd /), writes its pid to a file and blocks in select{} forever.
//
// usage: idlebase start PIDFILE
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// stageEnv marks the re-executed stages.
const stageEnv = "GENDAEMON_BENCH_IDLEBASE_STAGE"

// readyFD is the write end of the readiness pipe in the re-executed stages.
const readyFD = 3

func main() {
	if len(os.Args) != 3 || os.Args[1] != "start" {
		fmt.Fprintln(os.Stderr, "usage: idlebase start PIDFILE")
		os.Exit(2)
	}
	switch os.Getenv(stageEnv) {
	case "":
		// The launcher waits until the daemon closes the write end of a
		// readiness pipe, after writing its pidfile, as `start` does.
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
			fail(err)
		}
		spawn("1", true, p[1])
		syscall.Close(p[1])
		var buf [1]byte
		for {
			n, err := syscall.Read(p[0], buf[:])
			if err == syscall.EINTR {
				continue
			}
			if n <= 0 {
				break
			}
		}
	case "1":
		spawn("2", false, readyFD)
	default:
		os.Unsetenv(stageEnv)
		err := os.WriteFile(os.Args[2], []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
		syscall.Close(readyFD)
		if err != nil {
			os.Exit(1)
		}
		// Block until SIGTERM, as a generated daemon's idle serve() does.
		// A bare select{} would be a deadlock: the runtime would end the
		// program, since no goroutine could ever wake it.
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		<-term
		os.Remove(os.Args[2])
	}
}

// spawn re-executes this program as stage, passing ready on as readyFD,
// and for the first stage waits until that session leader has exited.
func spawn(stage string, setsid bool, ready int) {
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	null, err := syscall.Open(os.DevNull, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		fail(err)
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
		Files: []uintptr{uintptr(null), uintptr(null), uintptr(null), uintptr(ready)},
		Sys:   &syscall.SysProcAttr{Setsid: setsid},
	})
	if err != nil {
		fail(err)
	}
	if setsid {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil || ws.ExitStatus() != 0 {
			fail(fmt.Errorf("session leader: %v %v", err, ws))
		}
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "idlebase: %v\n", err)
	os.Exit(1)
}
