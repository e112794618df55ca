//go:build linux

package daemon

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestStartRecord writes a start record and reads it back, and checks each
// refusal of a record that restart must not trust.
func TestStartRecord(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "d.pid")
	args := []string{"/bin/d", "start", "--config", "a b", ""}
	if err := writeStartRecord(pidFile, 42, args); err != nil {
		t.Fatal(err)
	}
	got, err := readStartRecord(pidFile, 42)
	if err != nil || !slices.Equal(got, args) {
		t.Fatalf("readStartRecord = %q, %v; want %q", got, err, args)
	}
	// The next start's record replaces it.
	if err := writeStartRecord(pidFile, 43, args[:2]); err != nil {
		t.Fatal(err)
	}
	if got, err := readStartRecord(pidFile, 43); err != nil || !slices.Equal(got, args[:2]) {
		t.Fatalf("readStartRecord of the second record = %q, %v; want %q", got, err, args[:2])
	}
	if err := writeStartRecord(pidFile, 42, args); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(startRecordPath(pidFile)); err != nil || fi.Mode().Perm() != startRecordMode {
		t.Errorf("record mode %v (%v), want %v", fi.Mode().Perm(), err, os.FileMode(startRecordMode))
	}
	record := startRecordPath(pidFile)
	for _, tc := range []struct {
		name, want string
		spoil      func()
	}{
		{"another daemon's", "records another daemon", func() {}},
		{"writable by others", "may be written by others", func() { os.Chmod(record, 0o622) }},
		{"another user's", "belongs to user 65534", func() { os.Chmod(record, 0o600); os.Chown(record, 65534, 65534) }},
		{"a symbolic link", "too many levels of symbolic links", func() {
			os.Rename(record, record+".real")
			os.Symlink(record+".real", record)
		}},
	} {
		tc.spoil()
		pid := 42
		if tc.name == "another daemon's" {
			pid = 43
		}
		if _, err := readStartRecord(pidFile, pid); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s record: readStartRecord = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	removeStartRecord(pidFile)
	if _, err := os.Lstat(record); !os.IsNotExist(err) {
		t.Errorf("after removeStartRecord: %v", err)
	}
	removeStartRecord("") // no pidfile: nothing, not ".args" here
}
