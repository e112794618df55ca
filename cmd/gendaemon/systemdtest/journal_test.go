//go:build linux

package systemdtest

import (
	"strings"
	"testing"
)

// testLogFatalAtErr: log.Fatal is how much Go code ends a program that
// cannot go on, and the scaffold's service logs with the log package. The
// runtime makes log's output go through its slog logger at level info, so
// the fatal message lands at priority info (6): journalctl -p err, where
// the README sends operators for what went wrong, shows nothing of why the
// daemon exited.
func testLogFatalAtErr(t *testing.T, c *container, p project) {
	c.dropIn(p, `Environment="LAB_FATAL=lab: deliberate log.Fatal"`, "Restart=no")
	t.Cleanup(func() {
		c.dropIn(p)
		c.run("systemctl", "reset-failed", p.unit())
	})
	c.run("systemctl", "start", p.unit())
	c.waitFor(p.unit(), "the daemon to exit", func(s map[string]string) bool {
		return s["ActiveState"] == "failed"
	}, "ActiveState")
	c.must("journalctl", "--sync")
	errs := c.must("journalctl", "--unit="+p.unit(), "--priority=err", "--output=cat", "--no-pager")
	if !strings.Contains(errs, "lab: deliberate log.Fatal") {
		all := c.must("journalctl", "--unit="+p.unit(), "--output=json", "--output-fields=PRIORITY,MESSAGE", "--no-pager", "--grep=deliberate log.Fatal")
		t.Errorf("journalctl --priority=err lacks the log.Fatal message that ended the daemon; it is logged as:\n%s", all)
	}
}
