//go:build linux

package daemon

// Exported for the tests in package daemon_test.
var (
	NewLogger     = newLogger
	JournalStream = journalStream
	Reexecuted    = reexecuted
	URandomText   = urandomText
	Unguessable   = unguessable
)
