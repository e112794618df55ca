//go:build linux

package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"
)

// TestErrorPayload checks that an error keeps its text and its permission
// class across the readiness pipe, which the binary's exit status needs.
func TestErrorPayload(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		permission bool
	}{
		{"permission", fmt.Errorf("pidfile /run/x.pid: %w", &os.PathError{Op: "create", Path: "/run", Err: fs.ErrPermission}), true},
		{"other", errors.New("init: config missing\nsee the log"), false},
		{"not exist", fmt.Errorf("stdio: %w", fs.ErrNotExist), false},
	} {
		got := parseErrorPayload(errorPayload(tc.err))
		if got.Error() != tc.err.Error() || errors.Is(got, fs.ErrPermission) != tc.permission {
			t.Errorf("%s: parseErrorPayload(errorPayload(%q)) = %q, permission %v; want the same text, permission %v",
				tc.name, tc.err, got, errors.Is(got, fs.ErrPermission), tc.permission)
		}
	}
}
