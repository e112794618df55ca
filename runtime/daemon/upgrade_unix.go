//go:build unix

package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// An upgrade replaces the running daemon with the program now at its path,
// without closing its listening sockets. The running daemon starts the new
// binary with its own command line, as the daemon stage of a start
// (stageUpgrade), with the files it keeps (Listen) and the sockets it was
// activated with at handedFDStart on, named by envHandover, and waits on a
// readiness pipe as a launcher does. The new daemon runs Init on the
// inherited sockets, links its own locked pidfile over the old one's name,
// and reports READY; the old one then tells the service manager the new
// main pid and cancels its service's context, so that Serve drains and
// returns. If the new daemon fails, or is not ready within the start
// timeout, its process group is killed and the old daemon serves on.
const (
	// handedFDStart is the first descriptor handed over, after the
	// handoff and the readiness pipe.
	handedFDStart = readyFD + 1

	// envHandover names the descriptors handed over, from handedFDStart
	// on: one entry per descriptor, joined by ':', each its kind
	// (handedActivated or handedKept) followed by its name.
	envHandover = "GENDAEMON_HANDOVER"

	handedActivated = 'a' // passed by the service manager (Activation)
	handedKept      = 'k' // kept with Listen
)

// errUpgrading: an upgrade was asked for while another ran.
var errUpgrading = errors.New("an upgrade is under way already; wait for it to finish")

// upgrade starts the program at the daemon's path to replace this daemon,
// waits until it is ready, and then hands over: the service's context is
// cancelled, so Serve drains. It returns the new daemon's pid. Cancelling
// ctx (a stop) gives the upgrade up.
func (d *running) upgrade(ctx context.Context) (int, error) {
	if !d.upgrading.TryLock() {
		return 0, errUpgrading
	}
	defer d.upgrading.Unlock()
	if d.handedOver.Load() || ctx.Err() != nil {
		return 0, errStopping
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	pid, err := d.startReplacement(w)
	w.Close()
	if err != nil {
		return 0, err
	}
	slog.Info("upgrading: started the new binary", "pid", pid, "path", d.executable)
	if err := d.awaitReplacement(ctx, r, pid); err != nil {
		// Its process group holds the new daemon and what its Init
		// started; the pid stays reserved until it is reaped below.
		unix.Kill(-pid, unix.SIGKILL)
		reap(pid)
		slog.Error("upgrade failed; serving on", "pid", pid, "err", err)
		return 0, err
	}
	d.handOver(pid)
	return pid, nil
}

// handOver makes pid, ready, the daemon: the service manager learns its
// pid, and this daemon's service drains.
func (d *running) handOver(pid int) {
	d.manager().Notify(fmt.Sprintf("MAINPID=%d\nSTATUS=upgraded; pid %d serves", pid, pid))
	d.handedOver.Store(true)
	slog.Info("upgraded: the new daemon serves; draining", "pid", pid)
	d.stopServing()
	// The replacement stays this process's child until this one exits,
	// then init's, which reaps it: no wait here.
}

// awaitReplacement reads the new daemon's readiness message from r, for at
// most the start timeout, and returns nil once it is ready.
func (d *running) awaitReplacement(ctx context.Context, r *os.File, pid int) error {
	timeout := d.cfg.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	r.SetReadDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { r.SetReadDeadline(time.Now()) })
	defer stop()
	data, err := readMessage(r)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("the daemon is stopping, so the new binary (pid %d) was stopped", pid)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("the new binary (pid %d) was not ready within %v, so it was killed; raise the start timeout if its start-up takes that long", pid, timeout)
	case err != nil:
		return fmt.Errorf("reading the new binary's readiness: %w", err)
	}
	msg := strings.TrimSuffix(string(data), msgEnd)
	word, rest, _ := strings.Cut(msg, " ")
	sender, payload, _ := strings.Cut(rest, " ")
	switch {
	case word == msgReady && sender == strconv.Itoa(pid):
		return nil
	case word == msgError:
		err := parseErrorPayload(payload)
		if errors.Is(err, fs.ErrPermission) && os.Geteuid() != 0 {
			return fmt.Errorf("the new binary failed to start: %w (it runs as this daemon's user, uid %d, who must be allowed to write the pidfile's directory and the log file)", err, os.Geteuid())
		}
		return fmt.Errorf("the new binary failed to start: %w", err)
	case word == msgRunning:
		return fmt.Errorf("the new binary found another daemon (pid %s) holding the pidfile", payload)
	}
	return fmt.Errorf("the new binary (pid %d) exited during start-up without saying why; see its log", pid)
}

// startReplacement starts the program at the daemon's path as a daemon that
// replaces this one, with ready as its readiness pipe, in a process group of
// its own, so that killing the group reaches only it and what it started.
// Its standard I/O is this daemon's: the journal under a service manager;
// a detached daemon's is redirected by the new daemon as by any.
func (d *running) startReplacement(ready *os.File) (int, error) {
	handoff, err := newHandoff(stageUpgrade)
	if err != nil {
		return 0, err
	}
	defer handoff.Close()
	handed := d.handedFiles()
	files := []uintptr{0, 1, 2, handoff.Fd(), ready.Fd()}
	entries := make([]string, 0, len(handed))
	for _, h := range handed {
		fd, ok := fileFD(h.file)
		if !ok {
			return 0, fmt.Errorf("handing over %q: its file is closed", h.name)
		}
		files = append(files, uintptr(fd))
		entries = append(entries, string(h.kind)+h.name)
	}
	env := d.cfg.Env
	if env == nil {
		env = os.Environ()
	}
	env = append(withoutHandoverEnv(env), envHandover+"="+strings.Join(entries, ":"))
	env = append(env, d.notifier.childEnv()...)
	dir, err := os.Getwd()
	if err != nil {
		dir = "/"
	}
	pid, err := startWithEmptySigmask(d.executable, os.Args, &syscall.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		return 0, fmt.Errorf("starting the new binary %s: %w", d.executable, err)
	}
	return pid, nil
}

// withoutHandoverEnv returns env without an envHandover variable.
func withoutHandoverEnv(env []string) []string {
	kept := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, envHandover+"=") {
			kept = append(kept, kv)
		}
	}
	return kept
}

// A handedFile is one file the daemon hands to its replacement.
type handedFile struct {
	kind byte
	name string
	file *os.File
}

// handedFiles lists what the daemon hands over: the sockets it was
// activated with, then the files it keeps that are not among them.
func (d *running) handedFiles() []handedFile {
	var handed []handedFile
	for _, a := range d.activated {
		handed = append(handed, handedFile{handedActivated, a.Name, a.File})
	}
	for _, k := range d.keptFiles.handover() {
		activated := false
		for _, a := range d.activated {
			activated = activated || a.File == k.File
		}
		if !activated {
			handed = append(handed, handedFile{handedKept, k.Name, k.File})
		}
	}
	return handed
}

// takeOver makes d, started by an upgrade, the replacement of the daemon
// that started it: it takes the files that daemon handed over.
func (d *running) takeOver() error {
	activated, kept, err := takeHandedFiles()
	if err != nil {
		return fmt.Errorf("taking over from the old daemon: %w", err)
	}
	d.replacing = true
	d.activated = activated
	d.keptFiles.inherited = kept
	return nil
}

// takeHandedFiles is, in a daemon that replaces another, the files the old
// one handed over: the activated sockets and the kept files. It unsets
// envHandover and marks the descriptors close-on-exec.
func takeHandedFiles() (activated Activated, kept []ListenFD, err error) {
	value, ok := os.LookupEnv(envHandover)
	os.Unsetenv(envHandover)
	if !ok {
		return nil, nil, fmt.Errorf("%s is not set", envHandover)
	}
	if value == "" {
		return nil, nil, nil
	}
	for i, entry := range strings.Split(value, ":") {
		fd := handedFDStart + i
		if len(entry) < 2 || entry[0] != handedActivated && entry[0] != handedKept {
			return nil, nil, fmt.Errorf("%s: entry %q is not a kind and a name", envHandover, entry)
		}
		if err := markCloseOnExec(fd); err != nil {
			return nil, nil, fmt.Errorf("%s: descriptor %d: %w", envHandover, fd, err)
		}
		l := ListenFD{Name: entry[1:], File: os.NewFile(uintptr(fd), entry[1:])}
		if entry[0] == handedActivated {
			activated = append(activated, l)
		} else {
			kept = append(kept, l)
		}
	}
	return activated, kept, nil
}

// protectHandedFiles marks the descriptors handed over close-on-exec, as
// protectStartDescriptors does the handoff's, before the service's code
// runs in a daemon that replaces another.
func protectHandedFiles() {
	value, ok := os.LookupEnv(envHandover)
	if !ok || value == "" {
		return
	}
	for i := range strings.Count(value, ":") + 1 {
		unix.CloseOnExec(handedFDStart + i)
	}
}

// readinessReporter returns what sends a daemon's one message on the
// readiness pipe ready: a word, the sender's pid, the word's payload and
// msgEnd. A daemon that reports a failure exits, and keeps the pipe open
// until it has, so that its launcher returns only once it is gone; a ready
// one closes it at once.
func readinessReporter(ready *os.File) func(word, payload string) {
	return func(word, payload string) {
		fmt.Fprintf(ready, "%s %d %s%s", word, os.Getpid(), strings.ReplaceAll(payload, msgEnd, ""), msgEnd)
		if word == msgReady {
			ready.Close()
		}
	}
}

// startedReporter turns the outcome of a daemon's start-up into its
// message on the readiness pipe, through report.
func startedReporter(report func(word, payload string)) func(pid int, err error) {
	return func(pid int, err error) {
		switch {
		case errors.Is(err, ErrAlreadyRunning):
			report(msgRunning, strconv.Itoa(pid))
		case err != nil:
			report(msgError, errorPayload(err))
		default:
			report(msgReady, "")
		}
	}
}

// upgradeOnSignal is an upgrade asked for with SIGUSR2, which cannot be
// answered: its outcome is logged.
func (d *running) upgradeOnSignal(ctx context.Context) {
	if _, err := d.upgrade(ctx); err != nil {
		slog.Error("upgrade on SIGUSR2", "err", err)
	}
}
