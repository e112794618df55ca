//go:build unix

package daemon

import "golang.org/x/sys/unix"

// protectStartDescriptors makes the stage handoff and the readiness pipe,
// which a re-executed process inherits at handoffFD and readyFD, close on
// exec, so that a process the service's code starts before Start takes them
// does not inherit them, nor the files an upgrade hands over.
func protectStartDescriptors() {
	unix.CloseOnExec(handoffFD)
	unix.CloseOnExec(readyFD)
	protectHandedFiles() // upgrade_unix.go
}
