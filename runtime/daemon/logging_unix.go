//go:build unix

package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
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
