//go:build linux

package daemon_test

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
)

// The daemons the tests start are orphaned on purpose, and the test
// process is their subreaper (see TestMain): every process a test started
// that still runs is a child of the test process, or becomes one when its
// parent ends. Each test ends its own by pid when it finishes; these
// functions end whatever is left when that cannot happen: when the run
// reaches its -timeout (which panics, and runs no t.Cleanup), when it is
// interrupted, and, as a check, when it finishes.

// liveChildren returns the pids of the test process's children that have
// not exited.
func liveChildren() []int {
	return processes(func(_ int, st procStat) bool { return st.state != "Z" && st.ppid == os.Getpid() })
}

// endLeftovers kills every process that is, or becomes, a child of the
// test process, by pid through a pidfd (so a recycled pid is never hit),
// reaps it, and returns how many it ended.
func endLeftovers() int {
	ended := 0
	for round := 0; round < 100; round++ { // killing one orphans its children onto us
		pids := liveChildren()
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			pidfd, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				continue // gone already
			}
			unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
			fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
			unix.Poll(fds, int((10 * time.Second).Milliseconds()))
			unix.Close(pidfd)
			reap(pid)
			ended++
		}
	}
	reapOrphans()
	return ended
}

// endLeftoversAtDeadline ends the leftovers shortly before the run's
// -timeout would end the test process without any cleanup, and when the
// run is interrupted (SIGINT, SIGTERM). flag.Parse must have run.
func endLeftoversAtDeadline() {
	if f := flag.Lookup("test.timeout"); f != nil {
		if timeout, ok := f.Value.(flag.Getter).Get().(time.Duration); ok && timeout > 0 {
			margin := min(max(timeout/20, 5*time.Second), timeout/2)
			time.AfterFunc(timeout-margin, func() {
				fmt.Fprintf(os.Stderr, "the run is about to time out: ended %d processes the tests started\n", endLeftovers())
			})
		}
	}
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, unix.SIGINT, unix.SIGTERM)
	go func() {
		sig := <-interrupted
		fmt.Fprintf(os.Stderr, "%v: ended %d processes the tests started\n", sig, endLeftovers())
		os.Exit(1)
	}()
}
