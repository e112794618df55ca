package daemon

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// journalStdoutSocket is where journald takes log streams, as systemd
// connects a service's standard output and error to it.
const journalStdoutSocket = "/run/systemd/journal/stdout"

// Priorities of syslog(3), as the journal takes them.
const priorityCrit = 2

// critStderr points standard error at a journal stream of its own whose
// lines have priority crit unless they start with a "<N>" prefix. The
// runtime's logger prefixes every record, so its priorities stay as they
// were; what is written to standard error without one, above all Go's
// crash output (panics, fatal errors), which the runtime writes to
// descriptor 2 itself, lands at crit, where an operator looks for it.
// JOURNAL_STREAM is updated, so that the service's children see the stream.
// identifier is the syslog identifier of the stream's lines.
func critStderr(identifier string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: journalStdoutSocket}); err != nil {
		return fmt.Errorf("connecting to %s: %w", journalStdoutSocket, err)
	}
	unix.Shutdown(fd, unix.SHUT_RD)
	// The stream's header: identifier, unit (journald finds it), priority,
	// level prefix, and no forwarding to syslog, kmsg or the console.
	header := fmt.Sprintf("%s\n\n%d\n1\n0\n0\n0\n", identifier, priorityCrit)
	if _, err := unix.Write(fd, []byte(header)); err != nil {
		return fmt.Errorf("writing to %s: %w", journalStdoutSocket, err)
	}
	if err := unix.Dup3(fd, 2, 0); err != nil {
		return os.NewSyscallError("dup3", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(2, &st); err != nil {
		return os.NewSyscallError("fstat", err)
	}
	return os.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
}

// stderrIsJournal reports whether standard error is the journal stream that
// JOURNAL_STREAM names, whose lines take a "<N>" priority prefix.
func stderrIsJournal() bool { return journalStream(os.Stderr, os.Getenv) }
