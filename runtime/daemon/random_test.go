//go:build linux

package daemon_test

import (
	"regexp"
	"testing"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// TestUnguessable checks both sources of the random part of the names no
// one may plant in advance (the staged pidfile, the control socket):
// getrandom and its fallback, /dev/urandom. Each gives 16 hex digits, and
// no two of 200 names are the same.
func TestUnguessable(t *testing.T) {
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	for name, source := range map[string]func() (string, error){
		"getrandom":    daemon.Unguessable,
		"/dev/urandom": daemon.URandomText,
	} {
		seen := map[string]bool{}
		for range 200 {
			text, err := source()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !hex16.MatchString(text) || seen[text] {
				t.Fatalf("%s gave %q (seen before: %v), want 16 hex digits, new each time", name, text, seen[text])
			}
			seen[text] = true
		}
	}
}
