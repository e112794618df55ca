//go:build unix

package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// An upgrade replaces the running daemon with the program now at its path,
// without closing its listening sockets. The running daemon starts the new
// binary with its own command line as a start does, through a session
// leader (stageUpgrade) that starts the replacement (stageReplace) and
// exits, so that the replacement is not the old daemon's child: a service
// manager can then adopt it as its main process. The files the daemon
// keeps (Listen) and the sockets it was activated with go along, after
// the STARTED pipe in the session leader and from handedFDStart on in the
// replacement, named by envHandover. The old daemon waits on a readiness
// pipe as a launcher does. The replacement runs Init on the inherited
// sockets, links its own locked pidfile over the old one's name, and
// reports READY; the old one then tells the service manager the new main
// pid and cancels its service's context, so that Serve drains and returns.
// If the replacement fails, or is not ready within the start timeout, its
// process group is killed and the old daemon serves on.
const (
	// handedFDStart is the first descriptor handed over to the
	// replacement, after the handoff and the readiness pipe.
	handedFDStart = startedFD

	// envHandover names the descriptors handed over, from handedFDStart
	// on: one entry per descriptor, joined by ':', each its kind
	// (handedActivated, handedKept, handedInit or handedPromotion)
	// followed by its name.
	envHandover = "GENDAEMON_HANDOVER"

	// envPredecessor is the pid of the daemon that an upgrade replaces,
	// which the replacement ends if it still drains when the replacement
	// itself exits.
	envPredecessor = "GENDAEMON_PREDECESSOR"

	// envUnstored names, joined by ':', the activated sockets handed over
	// that the old daemon removed from systemd's file descriptor store
	// (releaseUnclaimed): a replacement that claims one puts it back.
	// A variable of its own rather than a kind of entry in envHandover,
	// which a binary with an older runtime would refuse.
	envUnstored = "GENDAEMON_UNSTORED"

	handedActivated = 'a' // passed by the service manager (Activation)
	handedKept      = 'k' // kept with Listen
	handedInit      = 'i' // the pipe to the runtime's init (initPipe)
	handedPromotion = 'm' // a pipe the old daemon closes once it has sent MAINPID=
)

// errNotStarted: an upgrade was asked for before the daemon was ready.
var errNotStarted = errors.New("the daemon has not finished starting; upgrade it once it has")

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
	switch {
	case d.handedOver.Load() || ctx.Err() != nil:
		return 0, errStopping
	case !d.started.Load():
		return 0, errNotStarted
	}
	// promoted is closed once the new daemon is the service manager's
	// main process.
	var ready, started, promoted pipeEnds
	if err := openPipes(&ready, &started, &promoted); err != nil {
		return 0, err
	}
	defer ready.r.Close()
	defer started.r.Close()
	defer promoted.w.Close()
	session, err := d.startUpgrade(ready.w, started.w, promoted.r)
	ready.w.Close()
	started.w.Close()
	promoted.r.Close()
	if err != nil {
		return 0, err
	}
	slog.Info("upgrading: started the new binary", "path", d.executable)
	pid, err := d.awaitReplacement(ctx, ready.r, started.r, session)
	if err != nil {
		// The session leader's process group holds the replacement and
		// what its Init started; its pid is not reused while the group
		// exists.
		unix.Kill(-session, unix.SIGKILL)
		reap(session)
		started.r.SetReadDeadline(time.Now().Add(readyCloseWait))
		line, _ := io.ReadAll(started.r)
		removeStagedPIDFiles(d.cfg, startedPID(string(line)))
		// The new daemon may have published its pidfile before it failed.
		if rerr := d.pidfile.reclaim(d.cfg); rerr != nil {
			err = fmt.Errorf("%w; and the pidfile could not be taken back: %v", err, rerr)
		}
		slog.Error("upgrade failed; serving on", "err", err)
		return 0, err
	}
	d.handOver(pid)
	promoted.w.Close()
	return pid, nil
}

// handOver makes pid, ready, the daemon: the service manager learns its
// pid, and this daemon's service drains.
func (d *running) handOver(pid int) {
	d.manager().Notify(fmt.Sprintf("MAINPID=%d\nSTATUS=upgraded; pid %d serves", pid, pid))
	if d.initPipe != nil {
		fmt.Fprintf(d.initPipe, "%d\n", pid)
	}
	// restart keeps the flags of the daemon the start record names. The
	// command that asked for the upgrade rewrites it too, but SIGUSR2 has
	// none; a daemon that dropped privileges cannot, which is the record's
	// point, and restart then reads the new daemon's command line.
	if args, err := readStartRecord(d.cfg.PIDFile, os.Getpid()); err == nil {
		writeStartRecord(d.cfg.PIDFile, pid, args)
	}
	d.handedOver.Store(true)
	slog.Info("upgraded: the new daemon serves; draining", "pid", pid)
	d.stopServing()
	// The drain is bounded as a stop is: the new daemon serves, and this
	// one must not run on unseen, out of reach of stop.
	time.AfterFunc(DefaultStopTimeout, func() {
		slog.Error("still draining after the upgrade's stop timeout; exiting", "timeout", DefaultStopTimeout)
		os.Exit(1)
	})
}

// awaitReplacement reads the replacement's readiness message from r, for
// at most the start timeout, and returns its pid once it is ready and the
// session leader that started it (session) is reaped: the replacement is
// then no process's child but init's (or a subreaper's), which a service
// manager needs to adopt it. started carries the session leader's STARTED
// line.
func (d *running) awaitReplacement(ctx context.Context, r, started *os.File, session int) (int, error) {
	timeout := d.cfg.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	r.SetReadDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { r.SetReadDeadline(time.Now()) })
	defer stop()
	data, err := readMessage(r)
	switch {
	case ctx.Err() != nil && d.serving.Err() == nil:
		return 0, errors.New("the caller of upgrade gave up waiting, so the new binary was stopped")
	case ctx.Err() != nil:
		return 0, errors.New("the daemon is stopping, so the new binary was stopped")
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, fmt.Errorf("the new binary was not ready within %v, so it was killed; raise the start timeout if its start-up takes that long", timeout)
	case err != nil:
		return 0, fmt.Errorf("reading the new binary's readiness: %w", err)
	}
	word, sender, payload := splitMessage(strings.TrimSuffix(string(data), msgEnd))
	switch word {
	case msgReady:
		if err := reap(session); err != nil {
			return 0, err
		}
		started.SetReadDeadline(time.Now().Add(readyCloseWait))
		line, _ := io.ReadAll(started)
		if pid := startedPID(string(line)); pid > 0 && pid == sender {
			return pid, nil
		}
		return 0, fmt.Errorf("the new binary's readiness came from pid %d, not from the daemon its session leader started (%q)", sender, line)
	case msgError:
		err := parseErrorPayload(payload)
		if errors.Is(err, fs.ErrPermission) && os.Geteuid() != 0 {
			return 0, fmt.Errorf("the new binary failed to start: %w (it runs as this daemon's user, uid %d, who must be allowed to write the pidfile's directory and the log file)", err, os.Geteuid())
		}
		return 0, fmt.Errorf("the new binary failed to start: %w", err)
	case msgRunning:
		return 0, fmt.Errorf("the new binary found another daemon (pid %s) holding the pidfile", payload)
	}
	return 0, errors.New("the new binary exited during start-up without saying why; see its log")
}

// startUpgrade starts the program at the daemon's path as the session
// leader of an upgrade, with ready as its readiness pipe, started as its
// STARTED pipe and the files handed over after it, promoted among them,
// and returns its pid. Its
// standard I/O, and the replacement's, are this daemon's: the journal under
// a service manager; a detached daemon's is redirected by the replacement
// as by any daemon.
func (d *running) startUpgrade(ready, started, promoted *os.File) (int, error) {
	handed := append(d.handedFiles(), handedFile{handedPromotion, "promoted", promoted})
	extra := make([]uintptr, 0, 1+len(handed))
	extra = append(extra, started.Fd())
	entries := make([]string, 0, len(handed))
	for _, h := range handed {
		fd, ok := fileFD(h.file)
		if !ok {
			return 0, fmt.Errorf("handing over %q: its file is closed", h.name)
		}
		extra = append(extra, uintptr(fd))
		entries = append(entries, string(h.kind)+h.name)
	}
	// The replacement starts from this daemon's environment, chosen when
	// it started (Config.Env, Environ).
	env := append(withoutVars(os.Environ(), envHandover, envPredecessor, envUnstored),
		envHandover+"="+strings.Join(entries, ":"), envPredecessor+"="+strconv.Itoa(os.Getpid()))
	if unstored := d.keptFiles.unstoredNames(); len(unstored) > 0 {
		env = append(env, envUnstored+"="+strings.Join(unstored, ":"))
	}
	env = append(env, d.notifier.childEnv()...)
	pid, err := startStageProcess(stageUpgrade, ready, stageProcess{
		path:   d.executable,
		dir:    d.startDir,
		env:    env,
		setsid: true,
		extra:  extra,
	})
	if err != nil {
		return 0, fmt.Errorf("starting the new binary %s: %w", d.executable, err)
	}
	return pid, nil
}

// invokedPath is the path the program was started by: its first argument
// made absolute if it names the file by a path, else the executable's. A
// symbolic link there stays one, so that an install that points the link
// at a new version upgrades to that version, not again to the file the
// link named at start.
func invokedPath() (string, error) {
	if strings.Contains(os.Args[0], "/") {
		return filepath.Abs(os.Args[0])
	}
	return os.Executable()
}

// withoutVars returns env without the variables called names.
func withoutVars(env []string, names ...string) []string {
	kept := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, name) {
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
	if d.initPipe != nil {
		handed = append(handed, handedFile{handedInit, "init", d.initPipe})
	}
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

// upgradeOnSignal is an upgrade asked for with SIGUSR2, which cannot be
// answered: its outcome is logged.
func (d *running) upgradeOnSignal(ctx context.Context) {
	if _, err := d.upgrade(ctx); err != nil {
		slog.Error("upgrade on SIGUSR2", "err", err)
	}
}

// removeStagedPIDFiles removes what a replacement with pid, killed, left
// of its staged pidfile beside cfg.PIDFile: the files named .PID.*pid.tmp
// (pidlock_*.go, publish).
func removeStagedPIDFiles(cfg Config, pid int) {
	if cfg.PIDFile == "" || pid <= 0 {
		return
	}
	dir := filepath.Dir(cfg.PIDFile)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + strconv.Itoa(pid) + "."
	for _, e := range entries {
		if name := e.Name(); strings.HasPrefix(name, prefix) && strings.HasSuffix(name, "pid.tmp") && e.Type().IsRegular() {
			unix.Unlink(filepath.Join(dir, name))
		}
	}
}
