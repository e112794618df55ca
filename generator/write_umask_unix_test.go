//go:build unix

package generator

import (
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteModesIgnoreUmask writes with a strict and with an empty umask:
// files are FileMode and directories DirMode either way. It changes the
// process's umask, so it does not run in parallel.
func TestWriteModesIgnoreUmask(t *testing.T) {
	for _, umask := range []int{0o077, 0o000, 0o022} {
		old := syscall.Umask(umask)
		target := filepath.Join(t.TempDir(), "proj")
		err := Write(target, testFiles(), false)
		syscall.Umask(old)
		if err != nil {
			t.Fatalf("umask %#o: Write: %v", umask, err)
		}
		checkWritten(t, target, testFiles())
	}
}
