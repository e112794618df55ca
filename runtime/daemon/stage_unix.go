//go:build unix

package daemon

import (
	"os"

	"golang.org/x/sys/unix"
)

// beginStage is where a process that Start re-executed begins, before Main
// parses the command line. It protects the start's descriptors from the
// service's code. A session leader, which needs nothing of the command line
// (the daemon parses it again), starts the daemon there and exits, running
// none of the service's code.
func beginStage(cfg Config) {
	stage := handoffStage()
	if stage == stageLauncher {
		return
	}
	protectStartDescriptors()
	if stage == stageSession || stage == stageUpgrade {
		os.Exit(leadSession(cfg, stage))
	}
}

// leadSession is the session leader of a start or of an upgrade (stage):
// it takes the handoff, which it has read already, starts the daemon and
// returns the status to exit with.
func leadSession(cfg Config, stage int) int {
	unix.Close(handoffFD)
	if stage == stageUpgrade {
		return startReplacement(cfg) // replacement_unix.go
	}
	return startDaemon(cfg)
}
