package daemon_test

import (
	"slices"
	"testing"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// TestCleanEnviron checks what a clean environment keeps of an inherited
// one: the locale and time zone, and a PATH of its own.
func TestCleanEnviron(t *testing.T) {
	inherited := []string{
		"PATH=/home/me/bin:/usr/bin", "HOME=/home/me", "LD_PRELOAD=/tmp/x.so", "LANG=C.UTF-8",
		"LC_TIME=en_GB.UTF-8", "TZ=UTC", "SSH_AUTH_SOCK=/tmp/agent", "LANGUAGE=en", "LC_=x", "broken",
	}
	got := daemon.CleanEnviron(inherited)
	want := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C.UTF-8", "LC_TIME=en_GB.UTF-8", "TZ=UTC", "LANGUAGE=en", "LC_=x",
	}
	if !slices.Equal(got, want) {
		t.Errorf("CleanEnviron(%q) = %q, want %q", inherited, got, want)
	}
}
