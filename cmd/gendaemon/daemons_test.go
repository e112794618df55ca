//go:build linux

package main

import (
	"errors"
	"regexp"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// cmdEndsDaemons is the script command "endsdaemons": it finds each
// "started (pid N)" in the last command's standard output and ends those
// daemons when the script ends, however it ends: by pid, through a pidfd
// opened now (so a recycled pid is never signalled), SIGKILL, then a wait of
// at most ten seconds for the exit.
func cmdEndsDaemons(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 0 {
		ts.Fatalf("usage: endsdaemons")
	}
	matches := regexp.MustCompile(`started \(pid (\d+)\)`).FindAllStringSubmatch(ts.ReadFile("stdout"), -1)
	if len(matches) == 0 {
		ts.Fatalf("endsdaemons: no \"started (pid N)\" in stdout")
	}
	for _, m := range matches {
		pid, _ := strconv.Atoi(m[1])
		pidfd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // exited already
		}
		ts.Defer(func() {
			defer unix.Close(pidfd)
			if err := unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
				ts.Logf("kill %d: %v", pid, err)
			}
			fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
			deadline := time.Now().Add(10 * time.Second)
			for {
				n, err := unix.Poll(fds, max(0, int(time.Until(deadline).Milliseconds())))
				if errors.Is(err, unix.EINTR) {
					continue
				}
				if err != nil || n == 0 {
					ts.Logf("daemon %d still running 10s after SIGKILL (%v)", pid, err)
				}
				return
			}
		})
	}
}
