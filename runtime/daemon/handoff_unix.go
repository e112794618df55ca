//go:build unix

package daemon

import "golang.org/x/sys/unix"

// The launcher tells the processes it re-executes which stage they are with
// a descriptor at handoffFD, and passes them the write end of the readiness
// pipe at readyFD. A descriptor, unlike an environment variable, leaves no
// trace in /proc/PID/environ and is invisible to the user's code once closed.
// On Linux the handoff is a sealed memfd; elsewhere, and in builds with the
// gendaemon_portable tag, it is one end of a socket pair that holds the
// message (handoff_socket.go).
const (
	handoffFD = 3
	readyFD   = 4
)

// The stages of a start, as written in the handoff.
const (
	stageLauncher = 0 // the process the user ran: no handoff
	stageSession  = 1 // the session leader that starts the daemon and exits
	stageDaemon   = 2 // the daemon
	stageUpgrade  = 3 // the session leader of an upgrade (replacement_unix.go)
	stageReplace  = 4 // the daemon that an upgrade starts to replace the running one
)

// handoffMagic precedes the stage digit; a descriptor that does not hold
// exactly this is not a handoff.
const handoffMagic = "gendaemon-handoff v1 stage="

// handoffMessage is what the handoff of stage holds.
func handoffMessage(stage int) string {
	return handoffMagic + string(rune('0'+stage))
}

// parseHandoff returns the stage that msg, the whole content of a handoff,
// names, or stageLauncher if msg is not a handoff.
func parseHandoff(msg []byte) int {
	for _, stage := range []int{stageSession, stageDaemon, stageUpgrade, stageReplace} {
		if string(msg) == handoffMessage(stage) {
			return stage
		}
	}
	return stageLauncher
}

// reexecuted reports whether this process is one that Start re-executed.
// It does not take the handoff, so Start still finds it.
func reexecuted() bool {
	return handoffStage() != stageLauncher
}

// takeHandoff reports the stage of this process and closes the handoff.
func takeHandoff() int {
	stage := handoffStage()
	if stage != stageLauncher {
		unix.Close(handoffFD)
	}
	return stage
}
