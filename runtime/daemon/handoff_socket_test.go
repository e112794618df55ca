//go:build linux && gendaemon_portable

package daemon

import (
	"os"
	"testing"
)

// TestCheckNoHandoff checks the guard against a process that has the
// descriptors of a re-executed one but could not read its stage: it must
// refuse to launch again, and must not refuse a launcher with other
// descriptors there.
func TestCheckNoHandoff(t *testing.T) {
	_, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	unread := socketWith(t, []byte("not a stage"))
	for _, tc := range []struct {
		name           string
		handoff, ready int
		refused        bool
	}{
		{"socket and pipe", unread, int(w.Fd()), true},
		{"file and pipe", regularFileWith(t, nil), int(w.Fd()), false},
		{"socket and file", unread, regularFileWith(t, nil), false},
		{"socket and read end", unread, pipeWith(t, nil), false},
		{"closed", closedFD(t), closedFD(t), false},
	} {
		err := checkNoHandoffAt(tc.handoff, tc.ready)
		if refuses := err != nil; refuses != tc.refused {
			t.Errorf("%s: checkNoHandoffAt = %v, want a refusal: %v", tc.name, err, tc.refused)
		}
	}
}
