//go:build unix

package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// newLogger returns the daemon's logger, which writes to w (standard error).
// If journal is true, w is a stream that journald reads, so each line starts
// with its syslog priority ("<6>" for info, sd-daemon(3)) and carries no
// time, which the journal records itself. Otherwise lines are slog's text
// format with a time.
func newLogger(w io.Writer, journal bool) *slog.Logger {
	if !journal {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	pw := &priorityWriter{w: w}
	text := slog.NewTextHandler(pw, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(&journalHandler{Handler: text, pw: pw})
}

// journalStream reports whether the file f is the stream that systemd named
// in JOURNAL_STREAM ("device:inode"), which is how a service learns that its
// standard error goes to the journal.
func journalStream(f *os.File, getenv func(string) string) bool {
	dev, ino, ok := strings.Cut(getenv("JOURNAL_STREAM"), ":")
	if !ok {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return dev == fmt.Sprint(st.Dev) && ino == fmt.Sprint(st.Ino)
}

// A journalHandler puts each record's syslog priority in front of it.
// slog's text handler writes a record with a single Write, so the prefix is
// set for exactly that Write; mu serialises records.
type journalHandler struct {
	slog.Handler
	pw *priorityWriter
}

// priorityWriter prefixes each Write with the priority of the record being
// written.
type priorityWriter struct {
	mu       sync.Mutex
	w        io.Writer
	priority int
}

func (p *priorityWriter) Write(b []byte) (int, error) {
	line := append(fmt.Appendf(nil, "<%d>", p.priority), b...)
	if _, err := p.w.Write(line); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	h.pw.mu.Lock()
	defer h.pw.mu.Unlock()
	h.pw.priority = syslogPriority(r.Level)
	return h.Handler.Handle(ctx, r)
}

func (h *journalHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &journalHandler{Handler: h.Handler.WithAttrs(attrs), pw: h.pw}
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{Handler: h.Handler.WithGroup(name), pw: h.pw}
}

// syslogPriority maps a slog level to a syslog(3) priority.
func syslogPriority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3 // LOG_ERR
	case l >= slog.LevelWarn:
		return 4 // LOG_WARNING
	case l >= slog.LevelInfo:
		return 6 // LOG_INFO
	default:
		return 7 // LOG_DEBUG
	}
}

// logDirMode is the mode of a log directory the daemon creates, as
// systemd's LogsDirectoryMode= defaults to.
const logDirMode = 0o755

// prepareLogDir makes sure that a daemon that switches to cfg.User can
// create its log file again after logrotate has renamed it. A missing
// directory is created and given to the user, as systemd's LogsDirectory=
// does; an existing one the user cannot write to is refused at start,
// which is where someone is watching, not at the first rotation. A log
// file that is not a regular file (a console) is never recreated.
func prepareLogDir(cfg Config) error {
	if cfg.LogFile == "" || cfg.User == "" || os.Geteuid() != 0 {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Stat(cfg.LogFile, &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil
	}
	creds, err := lookupCredentials(cfg.User, cfg.Group)
	if err != nil {
		return err
	}
	dir := filepath.Dir(cfg.LogFile)
	err = unix.Stat(dir, &st)
	if errors.Is(err, unix.ENOENT) {
		return makeLogDir(dir, creds)
	}
	if err != nil {
		return &os.PathError{Op: "stat", Path: dir, Err: err}
	}
	if !writableBy(&st, creds) {
		return fmt.Errorf("log directory %s is not writable by user %s, so the daemon could not create %s again after logrotate; give the directory to the user (chown %s %s), or name a directory that does not exist yet, which start creates for the user",
			dir, cfg.User, filepath.Base(cfg.LogFile), cfg.User, dir)
	}
	return nil
}

// makeLogDir creates dir, whose parent must exist, and gives it to creds.
func makeLogDir(dir string, creds *credentials) error {
	if err := unix.Mkdir(dir, logDirMode); err != nil && !errors.Is(err, unix.EEXIST) {
		return &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	uid := creds.uid
	if uid < 0 {
		uid = 0
	}
	if err := unix.Fchown(fd, uid, creds.gid); err != nil {
		return &os.PathError{Op: "chown", Path: dir, Err: err}
	}
	if err := unix.Fchmod(fd, logDirMode); err != nil {
		return &os.PathError{Op: "chmod", Path: dir, Err: err}
	}
	return nil
}

// writableBy reports whether creds may create files in the directory st,
// by its mode bits.
func writableBy(st *unix.Stat_t, creds *credentials) bool {
	switch {
	case creds.uid >= 0 && int(st.Uid) == creds.uid:
		return st.Mode&0o200 != 0
	case slices.Contains(creds.groups, int(st.Gid)):
		return st.Mode&0o020 != 0
	default:
		return st.Mode&0o002 != 0
	}
}

// reopenLog reopens the log file of a detached daemon, after logrotate has
// renamed it, and returns why it could not, so that reload reports it.
func reopenLog(cfg Config) error {
	if err := redirectOutput(cfg.LogFile, configuredUID(cfg)); err != nil {
		return fmt.Errorf("reopening the log file %s: %w; logging goes on into the old file", cfg.LogFile, err)
	}
	return nil
}

// plantedInSticky reports whether st, the regular file at path, belongs
// neither to this process's user, nor to user (the service's, to whom the
// daemon gives its log file; -1 for none), nor to the owner of its
// directory, a sticky one that others may write to (/tmp): a file anyone
// could have created there for the daemon to write into, which the
// kernel's fs.protected_regular refuses to open with O_CREAT as well.
func plantedInSticky(path string, st *unix.Stat_t, user int) bool {
	if int(st.Uid) == os.Geteuid() || int(st.Uid) == user {
		return false // this user's, or the service user's, whose the daemon made it
	}
	var dir unix.Stat_t
	if unix.Stat(filepath.Dir(path), &dir) != nil {
		return false
	}
	return dir.Mode&unix.S_ISVTX != 0 && dir.Mode&0o022 != 0 && st.Uid != dir.Uid
}
