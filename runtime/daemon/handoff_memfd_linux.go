//go:build !gendaemon_portable

package daemon

import (
	"os"

	"golang.org/x/sys/unix"
)

// newHandoff returns a sealed, close-on-exec memfd that names stage.
func newHandoff(stage int) (*os.File, error) {
	fd, err := unix.MemfdCreate("gendaemon-handoff", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, os.NewSyscallError("memfd_create", err)
	}
	f := os.NewFile(uintptr(fd), "gendaemon-handoff")
	if _, err := f.WriteString(handoffMessage(stage)); err != nil {
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
func handoffStage() int { return handoffStageAt(handoffFD) }

// handoffStageAt is handoffStage for the descriptor fd.
func handoffStageAt(fd int) int {
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_WRITE == 0 {
		return stageLauncher
	}
	var buf [len(handoffMagic) + 2]byte
	n, err := unix.Pread(fd, buf[:], 0)
	if err != nil {
		return stageLauncher
	}
	return parseHandoff(buf[:n])
}

// checkNoHandoff has nothing to check on Linux: handoffStage reads every
// memfd handoff there, as the tests show.
func checkNoHandoff() error { return nil }
