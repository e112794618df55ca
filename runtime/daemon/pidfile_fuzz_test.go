//go:build linux

package daemon

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzReadPID feeds arbitrary pidfile contents to the reader Stop and Status
// trust: it must never panic, and it may only accept a positive decimal pid,
// written as this package writes it, with nothing but white space around it.
func FuzzReadPID(f *testing.F) {
	for _, seed := range []string{"1234\n", "", "\n", "garbage", "-1\n", "0\n", " 42 ", "99999999999999999999\n", "12\x0034"} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte) {
		path := filepath.Join(dir, "fuzz.pid")
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		pf, err := openPIDFile(path, os.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		defer pf.Close()
		pid, err := readPID(pf)
		if err != nil {
			if pid != 0 {
				t.Errorf("readPID(%q) = %d, %v: a pid with an error", content, pid, err)
			}
			return
		}
		if pid <= 0 || strconv.Itoa(pid) != strings.TrimSpace(string(content)) {
			t.Errorf("readPID(%q) = %d, want an error or the pid it spells", content, pid)
		}
	})
}
