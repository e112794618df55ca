package daemon

import (
	"bytes"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The launcher tells the processes it re-executes which stage they are with
// a sealed memfd at handoffFD, and passes them the write end of the readiness
// pipe at readyFD. A descriptor, unlike an environment variable, leaves no
// trace in /proc/PID/environ and is invisible to the user's code once closed.
const (
	handoffFD = 3
	readyFD   = 4
)

// The stages of a start, as written in the handoff.
const (
	stageLauncher = 0 // the process the user ran: no handoff
	stageSession  = 1 // the session leader that starts the daemon and exits
	stageDaemon   = 2 // the daemon
)

// handoffMagic precedes the stage digit; a descriptor that does not hold
// exactly this is not a handoff.
const handoffMagic = "gendaemon-handoff v1 stage="

// newHandoff returns a sealed, close-on-exec memfd that names stage.
func newHandoff(stage int) (*os.File, error) {
	fd, err := unix.MemfdCreate("gendaemon-handoff", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, os.NewSyscallError("memfd_create", err)
	}
	f := os.NewFile(uintptr(fd), "gendaemon-handoff")
	if _, err := fmt.Fprintf(f, "%s%d", handoffMagic, stage); err != nil {
		f.Close()
		return nil, err
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, os.NewSyscallError("fcntl F_ADD_SEALS", err)
	}
	return f, nil
}

// handoffStage reports the stage of this process without taking the
// handoff. A descriptor at handoffFD that is not a write-sealed memfd
// holding the magic is left alone: this process is then the launcher.
func handoffStage() int {
	seals, err := unix.FcntlInt(handoffFD, unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_WRITE == 0 {
		return stageLauncher
	}
	var buf [len(handoffMagic) + 2]byte
	n, err := unix.Pread(handoffFD, buf[:], 0)
	if err != nil || n != len(handoffMagic)+1 || !bytes.HasPrefix(buf[:n], []byte(handoffMagic)) {
		return stageLauncher
	}
	stage := int(buf[n-1] - '0')
	if stage != stageSession && stage != stageDaemon {
		return stageLauncher
	}
	return stage
}

// takeHandoff reports the stage of this process and closes the handoff.
func takeHandoff() int {
	stage := handoffStage()
	if stage != stageLauncher {
		unix.Close(handoffFD)
	}
	return stage
}
