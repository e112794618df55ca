//go:build linux

package systemdtest

import (
	"strings"
	"testing"
)

// testNoJournalSocketWarns: where the service may not connect to journald's
// stream socket, the runtime keeps systemd's stream and warns that crash
// output stays at the default priority. The warning is logged before the
// runtime's journal logger is set up, through log/slog's default, so it
// lands at priority info, in the log package's format, not at warning.
func testNoJournalSocketWarns(t *testing.T, c *container, p project) {
	c.dropIn(p, "InaccessiblePaths=/run/systemd/journal/stdout")
	t.Cleanup(func() {
		c.dropIn(p)
		c.run("systemctl", "stop", p.unit())
	})
	c.must("systemctl", "restart", p.unit())
	c.wantState(p.unit(), "active", "running")
	c.must("journalctl", "--sync")
	warnings, _ := c.run("journalctl", "--unit="+p.unit(), "--priority=warning", "--output=cat", "--no-pager", "--grep=crash output stays")
	if !strings.Contains(warnings, "crash output stays") {
		all, _ := c.run("journalctl", "--unit="+p.unit(), "--output=json", "--output-fields=PRIORITY,MESSAGE", "--no-pager", "--grep=crash output stays")
		t.Errorf("the warning that crash output stays at the default priority is not at priority warning:\n%s", all)
	}
}
