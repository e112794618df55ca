package generator

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestGoldenProjectsBuild writes each golden case's project to a temporary
// directory and checks what a user does right after gendaemon new: go vet,
// go build and go test pass, and the daemon starts, reports its status and
// stops.
func TestGoldenProjectsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds whole projects; skipped with -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			dir := writeProject(t, gc.opts)
			env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
			bin := filepath.Join(t.TempDir(), gc.opts.Name)
			for _, args := range [][]string{
				{"go", "vet", "./..."},
				{"go", "build", "-o", bin, "."},
				{"go", "test", "-count=1", "./..."},
			} {
				if out, code := runIn(t, dir, env, args...); code != 0 {
					t.Fatalf("%s: exit %d\n%s", strings.Join(args, " "), code, out)
				}
			}
			if !gc.run {
				return
			}
			pidFile := filepath.Join(t.TempDir(), "x.pid")
			out, code := runIn(t, dir, env, bin, "start", "--pidfile", pidFile)
			m := regexp.MustCompile(`^` + gc.opts.Name + ` started \(pid (\d+)\)\n$`).FindStringSubmatch(out)
			if code != 0 || m == nil {
				t.Fatalf("start: exit %d, output %q; want 0, %q", code, out, gc.opts.Name+" started (pid N)")
			}
			pid, _ := strconv.Atoi(m[1])
			endProcess(t, pid)

			out, code = runIn(t, dir, env, bin, "status", "--pidfile", pidFile)
			if want := fmt.Sprintf("%s is running (pid %d)\n", gc.opts.Name, pid); code != 0 || out != want {
				t.Errorf("status: exit %d, output %q; want 0, %q", code, out, want)
			}
			// restart stops the daemon once, in the process the user ran, and
			// starts a new one.
			out, code = runIn(t, dir, env, bin, "restart", "--pidfile", pidFile)
			m = regexp.MustCompile(`^` + gc.opts.Name + ` stopped \(pid ` + strconv.Itoa(pid) + `\)\n` + gc.opts.Name + ` started \(pid (\d+)\)\n$`).FindStringSubmatch(out)
			if code != 0 || m == nil {
				t.Fatalf("restart: exit %d, output %q; want 0, the old pid stopped and a new one started", code, out)
			}
			pid, _ = strconv.Atoi(m[1])
			endProcess(t, pid)

			out, code = runIn(t, dir, env, bin, "stop", "--pidfile", pidFile)
			if want := fmt.Sprintf("%s stopped (pid %d)\n", gc.opts.Name, pid); code != 0 || out != want {
				t.Errorf("stop: exit %d, output %q; want 0, %q", code, out, want)
			}
			out, code = runIn(t, dir, env, bin, "status", "--pidfile", pidFile)
			if want := gc.opts.Name + " is not running\n"; code != 3 || out != want {
				t.Errorf("status after stop: exit %d, output %q; want 3, %q", code, out, want)
			}
		})
	}
}

// endProcess makes sure that the process pid, which the test started but
// is not the parent of, is gone when the test ends. It holds a pidfd from
// now on, so a recycled pid is never signalled.
func endProcess(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	t.Cleanup(func() {
		defer unix.Close(fd)
		if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			t.Errorf("kill %d: %v", pid, err)
		}
		// The pidfd becomes readable when the process has exited.
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		deadline := time.Now().Add(10 * time.Second)
		for {
			n, err := unix.Poll(fds, max(0, int(time.Until(deadline).Milliseconds())))
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || n == 0 {
				t.Errorf("process %d still running 10s after SIGKILL (%v)", pid, err)
			}
			return
		}
	})
}
