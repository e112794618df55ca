//go:build unix && !linux

package daemon

import "errors"

// critStderr is for systemd's journal, which only Linux has.
func critStderr(identifier string) error { return errors.ErrUnsupported }

// stderrIsJournal is false: the journal is systemd's, on Linux.
func stderrIsJournal() bool { return false }
