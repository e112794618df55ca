//go:build linux

package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReopenLogFailure checks that a log file that cannot be reopened (here
// a symbolic link planted after the rotation) is an error the reload path
// returns, not only a line in the old log.
func TestReopenLogFailure(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "testd.log")
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), logFile); err != nil {
		t.Fatal(err)
	}
	err := reopenLog(Config{LogFile: logFile})
	if err == nil || !strings.Contains(err.Error(), "reopening the log file") || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("reopenLog = %v, want an error saying the reopen failed and why", err)
	}
}
