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

// testSyslogIdentifier: SyslogIdentifier= in a drop-in names the service's
// lines in the journal (journalctl -t). The runtime replaces standard error
// with a journal stream of its own, whose identifier is the daemon's name
// whatever the unit says, so all of the daemon's own log lines ignore the
// setting, while what it writes to standard output follows it.
func testSyslogIdentifier(t *testing.T, c *container, p project) {
	c.dropIn(p, "SyslogIdentifier=labcustom")
	t.Cleanup(func() {
		c.dropIn(p)
		c.run("systemctl", "stop", p.unit())
	})
	c.must("systemctl", "restart", p.unit())
	c.waitFor(p.unit(), "the daemon to run", func(s map[string]string) bool {
		return s["ActiveState"] == "active"
	}, "ActiveState")
	c.must("journalctl", "--sync")
	tagged, _ := c.run("journalctl", "--identifier=labcustom", "--output=cat", "--no-pager")
	if !strings.Contains(tagged, "labd: serving") {
		others, _ := c.run("journalctl", "--unit="+p.unit(), "--output=json", "--output-fields=SYSLOG_IDENTIFIER,MESSAGE", "--no-pager", "--grep=labd: serving")
		t.Errorf("with SyslogIdentifier=labcustom, journalctl -t labcustom lacks the daemon's log lines; they are tagged:\n%s", others)
	}
}

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
