//go:build linux

package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestStopDuringAnUpgrade stops a generated daemon while an upgrade waits
// for a new build that hangs in Init: stop succeeds, upgrade gives up and
// exits 1, neither process is left and status says that nothing runs.
func TestStopDuringAnUpgrade(t *testing.T) {
	h := newHTTPD(t)
	h.install(h.build("v1"))
	hang := h.build("v2", "initMode=hang")
	old, _ := h.start("--start-timeout", "1m")
	h.install(hang)
	upgraded := make(chan commandResult, 1)
	go func() { upgraded <- h.run("upgrade", "--timeout", "2m") }()
	h.waitInit("v2", 1)
	replacement := h.initPIDs("v2")[0]
	endAtCleanup(t, replacement)
	if out, errOut, code := h.command("stop"); code != 0 || out != fmt.Sprintf("%s stopped (pid %d)\n", h.name, old) {
		t.Errorf("stop during an upgrade: exit %d, %q %q; want 0, pid %d stopped", code, out, errOut, old)
	}
	r := <-upgraded
	if r.err != nil || r.code != 1 || !strings.Contains(r.stderr, "stopping") {
		t.Errorf("the upgrade that a stop interrupted: exit %d, %q %q, %v; want 1, the daemon is stopping", r.code, r.stdout, r.stderr, r.err)
	}
	waitExit(t, old)
	waitExit(t, replacement)
	if _, err := os.Stat(h.pidFile); !os.IsNotExist(err) {
		t.Errorf("the pidfile is left after stop (%v)", err)
	}
	if out, _, code := h.command("status"); code != 3 {
		t.Errorf("status after stop: exit %d, %q; want 3, not running", code, out)
	}
}
