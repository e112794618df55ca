package daemon

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// Environment variables of the sd_listen_fds(3) protocol.
const (
	envListenPID     = "LISTEN_PID"
	envListenFDs     = "LISTEN_FDS"
	envListenFDNames = "LISTEN_FDNAMES"
)

// ListenFDsStart is the first descriptor a service manager passes
// (SD_LISTEN_FDS_START): descriptors 0 to 2 stay standard I/O.
const ListenFDsStart = 3

// UnnamedFD is the Name of a descriptor passed without LISTEN_FDNAMES, as
// sd_listen_fds_with_names(3) names it.
const UnnamedFD = "unknown"

// ListenFD is one descriptor passed by socket activation.
type ListenFD struct {
	// Name is the descriptor's name from LISTEN_FDNAMES: systemd's
	// FileDescriptorName=, by default the name of the .socket unit, so the
	// descriptors of a unit with several Listen*= lines share one name. It is
	// UnnamedFD if the manager passed no name for it.
	Name string

	// File is the descriptor, marked close-on-exec; File.Name() is Name.
	// Like any *os.File it is closed when it is garbage-collected, so keep it
	// (or what net.FileListener made of it) for as long as the daemon needs
	// it.
	File *os.File
}

// Activated is the list of descriptors a service manager passed, in the order
// it passed them: Activated[i].File is descriptor ListenFDsStart+i.
type Activated []ListenFD

// ListenFDs takes the descriptors passed by socket activation: LISTEN_FDS
// descriptors from 3 on, named by LISTEN_FDNAMES, if LISTEN_PID is this
// process's pid. It marks each of them close-on-exec, so the programs the
// daemon starts do not inherit the listening sockets.
//
// It unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES in every case, as
// sd_listen_fds(3) does when asked to, so that a child cannot mistake them for its own;
// hence call it once, early, before anything reads them or starts children.
//
// It returns one of:
//   - (a, nil) with len(a) > 0: the process was socket-activated;
//   - (nil, nil): it was not (LISTEN_PID unset or another process's pid, or
//     LISTEN_FDS unset or zero);
//   - (nil, err): the variables are meant for this process but malformed
//     (LISTEN_FDNAMES must hold one name per descriptor), or a descriptor is
//     not open.
func ListenFDs() (Activated, error) {
	n, names, err := parseListenEnv(os.Getenv, os.Getpid())
	for _, name := range []string{envListenPID, envListenFDs, envListenFDNames} {
		if uerr := os.Unsetenv(name); uerr != nil && err == nil {
			err = fmt.Errorf("unset %s: %w", name, uerr)
		}
	}
	if err != nil || n == 0 {
		return nil, err
	}
	// Check every descriptor before wrapping any in an *os.File, whose
	// finalizer would close a descriptor that belongs to someone else.
	for i := range n {
		fd := ListenFDsStart + i
		if err := markCloseOnExec(fd); err != nil {
			return nil, fmt.Errorf("%s=%d: descriptor %d: %w", envListenFDs, n, fd, err)
		}
	}
	a := make(Activated, n)
	for i := range a {
		a[i] = ListenFD{Name: names[i], File: os.NewFile(uintptr(ListenFDsStart+i), names[i])}
	}
	return a, nil
}

// parseListenEnv decodes the activation variables read by getenv for process
// pid: the number of descriptors passed, zero if none are meant for pid, and
// their names.
func parseListenEnv(getenv func(string) string, pid int) (int, []string, error) {
	spid := getenv(envListenPID)
	if spid == "" {
		return 0, nil, nil
	}
	p, err := strconv.Atoi(spid)
	if err != nil || p <= 0 {
		return 0, nil, fmt.Errorf("%s=%q: not a pid", envListenPID, spid)
	}
	if p != pid {
		return 0, nil, nil
	}
	sfds := getenv(envListenFDs)
	if sfds == "" {
		return 0, nil, nil
	}
	n, err := strconv.Atoi(sfds)
	if err != nil || n < 0 || n > math.MaxInt32-ListenFDsStart {
		return 0, nil, fmt.Errorf("%s=%q: not a number of descriptors", envListenFDs, sfds)
	}
	if n == 0 {
		return 0, nil, nil
	}
	names := make([]string, n)
	if snames := getenv(envListenFDNames); snames != "" {
		names = strings.Split(snames, ":")
		if len(names) != n {
			return 0, nil, fmt.Errorf("%s=%q: %d names for %s=%d", envListenFDNames, snames, len(names), envListenFDs, n)
		}
	}
	for i, name := range names {
		if name == "" {
			names[i] = UnnamedFD
		}
	}
	return n, names, nil
}

// Named returns the files of a called name, in the order the manager passed
// them: one per Listen*= line of the .socket unit. net.FileListener or
// net.FilePacketConn turns a socket into what a server needs; the package
// leaves that to the service, so that a daemon that does not use the net
// package does not link it (and with it cgo).
func (a Activated) Named(name string) []*os.File {
	var files []*os.File
	for _, l := range a {
		if l.Name == name {
			files = append(files, l.File)
		}
	}
	return files
}

// FDs returns the descriptor numbers of a's open files, in order: the
// descriptors that a step closing inherited descriptors must leave alone.
func (a Activated) FDs() []int {
	fds := make([]int, 0, len(a))
	for _, l := range a {
		if fd, ok := fileFD(l.File); ok {
			fds = append(fds, fd)
		}
	}
	return fds
}

// fileFD returns f's descriptor number, and false if f is closed. Unlike
// f.Fd, it leaves the descriptor in non-blocking mode.
func fileFD(f *os.File) (int, bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, false
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return -1, false
	}
	return fd, true
}
