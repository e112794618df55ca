// Package daemon turns a Go program into a Unix daemon: it detaches the
// program from the terminal and session that started it (the SysV sequence of
// systemd's daemon(7), done by re-executing the binary because a Go program
// cannot fork), keeps a locked pidfile, and controls the running daemon
// through that pidfile.
//
// The package depends on the standard library and golang.org/x/sys only, so
// it can be vendored into any module.
//
// Upgrades. A daemon that gets its listening sockets from Listen can be
// replaced by a new build of its program without refusing a connection:
// the upgrade command (or SIGUSR2) makes it start the program now at its
// path with those sockets, wait until the new daemon's Init has returned,
// and then cancel its own service's context, so that Serve drains. The
// pidfile names the new daemon once it is ready; under systemd it becomes
// the unit's main process (MAINPID=). A new build that fails leaves the
// old daemon serving.
//
// Platforms. Linux is the reference, tested on real processes: it uses
// close_range, a sealed memfd to tell re-executed processes their stage,
// an O_TMPFILE pidfile under flock whose holder /proc/locks names, and
// pidfds. macOS and FreeBSD get the same commands from the portable Unix
// implementation: a socket pair for the stage, a POSIX record lock on the
// pidfile whose holder F_GETLK names, /dev/fd (macOS) or close_range by
// number (FreeBSD) for inherited descriptors, and kqueue's NOTE_EXIT to
// wait for an exit. Two guarantees are weaker there: a signal goes by pid,
// sent only while kqueue has not seen that pid exit, rather than through a
// pidfd; and on macOS a signal blocked in the launcher stays blocked in the
// daemon's threads (not for the signals the daemon handles). That implementation also builds on Linux
// with the tag gendaemon_portable, where the same real-process tests run
// against it; only the thin shims (kqueue, the close_range and sigprocmask
// numbers of FreeBSD) run on those systems alone. OpenBSD, NetBSD and the
// other Unix systems build the portable implementation as far as
// golang.org/x/sys allows; elsewhere (Windows) Run runs the service in the
// foreground and the other commands return an error wrapping
// errors.ErrUnsupported.
package daemon

import (
	"errors"
	"io/fs"
	"time"
)

// Config says how the daemon detaches and where it keeps its files. The zero
// value detaches with the defaults of the classic createDaemon recipe: working
// directory "/", umask 0, standard I/O on /dev/null, and no pidfile.
type Config struct {
	// Name is the daemon's name, used in messages.
	Name string

	// If PIDFile is non-empty, the daemon creates it, writes its pid to it and
	// holds an exclusive lock on it for its whole life. Start refuses to start
	// a second daemon while the lock is held, and Stop, Status and Reload use
	// the lock, not the pid alone, to decide whether the daemon is running.
	PIDFile string

	// If WorkDir is non-empty, the daemon changes to it; otherwise to "/".
	WorkDir string

	// Umask is the daemon's file mode creation mask. Zero is a real value: a
	// daemon started with the zero Config has umask 0, as daemon(7) asks.
	Umask int

	// MaxFD bounds the last-resort loop that marks inherited descriptors
	// close-on-exec when the system cannot list them (close_range(2),
	// /proc/self/fd, /dev/fd). If MaxFD is zero, 1024 is used.
	MaxFD int

	// If Stdio is non-empty, the daemon's standard input, output and error are
	// opened on it; otherwise on /dev/null.
	Stdio string

	// If LogFile is non-empty, the daemon's standard output and error are
	// appended to it instead of Stdio, and the Go runtime's crash output
	// (panics, fatal errors) is written there too.
	LogFile string

	// If User is non-empty, the daemon switches to that user, and to the
	// user's primary and supplementary groups, after it has written its
	// pidfile and opened its standard I/O.
	User string

	// If Group is non-empty, the daemon switches to that group; with User it
	// replaces the user's primary group.
	Group string

	// If Env is non-nil, it is the environment the daemon starts from in
	// place of the one it inherits: Start passes Env to the daemon, and
	// Main's run command sets it before Run. A service's Environ (see
	// Environer) is given Env to choose from.
	Env []string

	// If StartTimeout is positive, Start waits at most that long for the
	// daemon to be ready; then it kills the daemon, and what its Init
	// started, removes its pidfile and returns an error. If it is zero or
	// negative, Start waits as long as Init takes.
	StartTimeout time.Duration

	// If Generator is non-empty, the version command reports it as the
	// tool that generated the program, such as "gendaemon 0.2.0".
	Generator string

	// If ServiceFiles is non-nil, it holds the service manager's
	// definitions of the daemon, which Main's install command installs:
	// NAME.service and, for socket activation, NAME.socket for systemd. A
	// generated main embeds them (//go:embed) when the program is built.
	ServiceFiles fs.FS

	// If FDStore is true, a daemon under systemd also keeps the files it
	// opens with Listen in the service manager's file descriptor store
	// (FDSTORE=1, named FDNAME=), so that a restart (systemctl restart)
	// finds the same listening sockets and refuses no connection while
	// the daemon is down. The unit must allow the store with
	// FileDescriptorStoreMax=.
	FDStore bool
}

// Errors returned by the functions of this package; compare with errors.Is.
var (
	// ErrAlreadyRunning: Start found a daemon that holds the pidfile's lock.
	ErrAlreadyRunning = errors.New("already running")

	// ErrNotRunning: no pidfile exists.
	ErrNotRunning = errors.New("not running")

	// ErrDead: a pidfile exists but no process holds its lock, so the daemon
	// died without removing it.
	ErrDead = errors.New("not running, but pidfile exists")

	// ErrNoPIDFile: Config.PIDFile is empty, so the daemon cannot be found.
	ErrNoPIDFile = errors.New("no pidfile configured")
)

// errNoControl is returned by requestReload when pid has no control socket
// of the daemon called name: it is not one, its runtime predates control
// sockets, or the system has none.
var errNoControl = errors.New("no control socket")

// DefaultStopTimeout is how long Stop waits after SIGTERM before it sends
// SIGKILL, when its caller has no opinion.
const DefaultStopTimeout = 10 * time.Second

// DefaultStartTimeout is a StartTimeout for callers with no opinion: 90
// seconds, systemd's default TimeoutStartSec=.
const DefaultStartTimeout = 90 * time.Second
