//go:build unix

package daemon

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The replacement's side of an upgrade (upgrade_unix.go has the old
// daemon's): the session leader that starts it, and what it takes over.

// startReplacement is the session leader of an upgrade: it starts the
// daemon that replaces the running one with what the old daemon passed it:
// the files handed over, its standard I/O, and its environment, with the
// service manager's variables and those that name the files. It returns
// the status to exit with.
func startReplacement(cfg Config) int {
	entries := handedEntries()
	extra := make([]*os.File, len(entries))
	for i := range extra {
		extra[i] = os.NewFile(uintptr(startedFD+1+i), "gendaemon-handed")
	}
	cfg.Env = nil // this environment, which the old daemon chose
	return startStage(cfg, stageReplace, reexecOptions{stdio: true, extra: extra})
}

// handoverVariables returns the variables that name what an upgrade, or
// the runtime's init, hands a daemon: Run takes them, so the service's
// Environ must not take them away first (setEnviron).
func handoverVariables() []string {
	return []string{envHandover, envPredecessor, envUnstored, envInitPipe}
}

// handedEntries returns the entries of envHandover.
func handedEntries() []string {
	value := os.Getenv(envHandover)
	if value == "" {
		return nil
	}
	return strings.Split(value, ":")
}

// takeOver makes d, started by an upgrade, the replacement of the daemon
// that started it: it takes the files that daemon handed over.
func (d *running) takeOver() error {
	h, err := takeHandedFiles()
	if err != nil {
		return fmt.Errorf("taking over from the old daemon: %w", err)
	}
	d.replacing = true
	d.activated = h.activated
	d.keptFiles.inherited = h.kept
	if value := os.Getenv(envUnstored); value != "" {
		d.keptFiles.unstored = strings.Split(value, ":")
	}
	os.Unsetenv(envUnstored)
	d.initPipe = h.init
	if pid, err := strconv.Atoi(os.Getenv(envPredecessor)); err == nil && pid > 0 {
		d.predecessor, _ = openProcess(pid, nil)
	}
	os.Unsetenv(envPredecessor)
	if h.promoted != nil {
		d.storeWhenMain(h.promoted) // fdstore_unix.go
	}
	return nil
}

// A handover is what a daemon that replaces another got from it.
type handover struct {
	activated Activated  // the sockets a service manager passed
	kept      []ListenFD // the files kept with Listen
	init      *os.File   // the pipe to the runtime's init, or nil
	promoted  *os.File   // closed by the old daemon once this one is main
}

// takeHandedFiles is, in a daemon that replaces another, the files the old
// one handed over. It unsets envHandover and marks the descriptors
// close-on-exec.
func takeHandedFiles() (handover, error) {
	var h handover
	_, ok := os.LookupEnv(envHandover)
	entries := handedEntries()
	os.Unsetenv(envHandover)
	if !ok {
		return h, fmt.Errorf("%s is not set", envHandover)
	}
	for i, entry := range entries {
		fd := handedFDStart + i
		if len(entry) < 2 {
			return h, fmt.Errorf("%s: entry %q is not a kind and a name", envHandover, entry)
		}
		if err := markCloseOnExec(fd); err != nil {
			return h, fmt.Errorf("%s: descriptor %d: %w", envHandover, fd, err)
		}
		l := ListenFD{Name: entry[1:], File: os.NewFile(uintptr(fd), entry[1:])}
		switch entry[0] {
		case handedActivated:
			h.activated = append(h.activated, l)
		case handedKept:
			h.kept = append(h.kept, l)
		case handedInit:
			h.init = l.File
		case handedPromotion:
			h.promoted = l.File
		default:
			return h, fmt.Errorf("%s: entry %q is of no known kind", envHandover, entry)
		}
	}
	return h, nil
}

// protectHandedFiles marks the descriptors handed over close-on-exec, as
// protectStartDescriptors does the handoff's, before the service's code
// runs in the session leader of an upgrade and in the replacement.
func protectHandedFiles() {
	entries := handedEntries()
	if len(entries) == 0 {
		return // every start but an upgrade's: no second look at the handoff
	}
	first := handedFDStart
	switch handoffStage() {
	case stageUpgrade:
		first = startedFD + 1
	case stageReplace:
	default:
		return
	}
	for i := range entries {
		unix.CloseOnExec(first + i)
	}
}

// takeInitPipe returns the pipe to the runtime's init that runAsInit
// passes the service (envInitPipe), or nil. It unsets the variable, and
// accepts only a pipe, so that a stray variable cannot make the daemon
// write to a file it did not get for that.
func takeInitPipe() *os.File {
	value, ok := os.LookupEnv(envInitPipe)
	if !ok {
		return nil
	}
	os.Unsetenv(envInitPipe)
	fd, err := strconv.Atoi(value)
	var st unix.Stat_t
	if err != nil || fd != initPipeFD || unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "gendaemon-init")
}

// endPredecessor ends the daemon this one replaced if it still drains as
// this one exits: stop, which reaches only the daemon the pidfile names,
// must leave neither running.
func (d *running) endPredecessor() {
	if d.predecessor == nil {
		return
	}
	defer d.predecessor.close()
	if exited, _ := d.predecessor.wait(0); !exited {
		slog.Warn("ending the daemon this one replaced, which still drains", "pid", d.predecessor.pid)
		d.predecessor.signal(unix.SIGKILL)
	}
}
