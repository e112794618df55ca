//go:build linux

// Command pidfdstop is the baseline of bench/stop-latency.sh: the least a
// stop command can do. It opens a pidfd for the pid it is given, sends
// SIGTERM through it, waits until the pidfd is readable (the process has
// exited) and exits. A generated daemon's `stop` does this and, around it,
// reads and checks its pidfile.
//
// usage: pidfdstop PID
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/gendaemon/gendaemon/bench/internal/pidfd"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pidfdstop PID")
		os.Exit(2)
	}
	pid, err := strconv.Atoi(os.Args[1])
	if err != nil || pid <= 0 {
		fmt.Fprintf(os.Stderr, "pidfdstop: bad pid %q\n", os.Args[1])
		os.Exit(2)
	}
	fd, err := pidfd.Open(pid)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pidfdstop: pidfd_open %d: %v\n", pid, err)
		os.Exit(1)
	}
	if err := pidfd.Signal(fd, syscall.SIGTERM); err != nil {
		fmt.Fprintf(os.Stderr, "pidfdstop: pidfd_send_signal %d: %v\n", pid, err)
		os.Exit(1)
	}
	if _, _, err := pidfd.Wait([]int{fd}, -1); err != nil {
		fmt.Fprintf(os.Stderr, "pidfdstop: waiting for %d: %v\n", pid, err)
		os.Exit(1)
	}
}
