//go:build unix

package daemon

import "golang.org/x/sys/unix"

// protectStartDescriptors makes the stage handoff and the readiness pipes,
// which a re-executed process inherits at handoffFD, readyFD and (the
// session leader) startedFD, close on exec, so that a process the service's
// code starts before Start takes them does not inherit them, nor the files
// an upgrade hands over.
func protectStartDescriptors() {
	unix.CloseOnExec(handoffFD)
	unix.CloseOnExec(readyFD)
	unix.CloseOnExec(startedFD)
	protectHandedFiles() // replacement_unix.go
}
