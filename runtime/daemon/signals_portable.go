//go:build unix && !linux

package daemon

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// resetSignalDispositions makes sure that the daemon starts with the
// default action for the signals that a Go program leaves ignored when it
// was started with them ignored, so that an ignored SIGHUP does not reach
// the daemon and its children (daemon(7), step 2): SIGHUP and SIGINT (nohup,
// and shells that start background jobs, ignore them) and the job-control
// signals. Without a portable sigaction in golang.org/x/sys, it asks the Go
// runtime: signal.Notify installs the runtime's handler even for a signal
// that was ignored, and exec resets every caught signal to its default. It
// is called in the session leader, which only starts the daemon and exits,
// so catching these signals there changes nothing else.
func resetSignalDispositions() error {
	signal.Notify(make(chan os.Signal, 1), unix.SIGHUP, unix.SIGINT, unix.SIGCONT, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU)
	return nil
}
