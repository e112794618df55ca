//go:build linux

package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHandoffStage checks the stage handoff of the implementation under
// test (a sealed memfd, or with -tags gendaemon_portable a socket pair):
// each stage reads back as itself, as often as it is asked, since
// reexecuted looks before Start takes it; and descriptors that merely hold
// the same bytes are not taken for a handoff.
func TestHandoffStage(t *testing.T) {
	for _, stage := range []int{stageSession, stageDaemon} {
		f, err := newHandoff(stage)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if got := handoffStageAt(int(f.Fd())); got != stage {
				t.Errorf("handoffStageAt(a handoff of stage %d) = %d", stage, got)
			}
		}
		f.Close()
	}
	msg := []byte(handoffMessage(stageDaemon))
	for name, fd := range map[string]int{
		"regular file": regularFileWith(t, msg),
		"pipe":         pipeWith(t, msg),
		"socket pair":  socketWith(t, []byte(handoffMagic+"7")),
		"closed":       closedFD(t),
	} {
		if got := handoffStageAt(fd); got != stageLauncher {
			t.Errorf("handoffStageAt(%s) = %d, want %d (launcher)", name, got, stageLauncher)
		}
	}
}

// regularFileWith returns a descriptor of a file that holds data.
func regularFileWith(t *testing.T, data []byte) int {
	path := filepath.Join(t.TempDir(), "handoff")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return int(f.Fd())
}

// pipeWith returns the read end of a pipe that holds data.
func pipeWith(t *testing.T, data []byte) int {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return int(r.Fd())
}

// socketWith returns one end of a socket pair whose other end sent data.
func socketWith(t *testing.T, data []byte) int {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]) })
	if _, err := unix.Write(fds[1], data); err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[1])
	return fds[0]
}

// closedFD returns a descriptor number that is not open.
func closedFD(t *testing.T) int {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	fd := int(f.Fd())
	f.Close()
	return fd
}
