//go:build linux

package systemdtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gendaemon/gendaemon/generator"
)

// The user who installs a daemon for themselves in TestSystemdUser.
const (
	labUser = "lab"
	labUID  = "1000"
	labHome = "/home/lab"
)

// TestRootFSPackages checks that .ci/run builds the root file system with
// the packages, and under the name, that the test expects.
func TestRootFSPackages(t *testing.T) {
	run, err := os.ReadFile(filepath.Join("..", "..", "..", ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "\nsystemd_packages=" + rootFSPackages + "\n"; !strings.Contains(string(run), want) {
		t.Errorf(".ci/run has no line %q: the root file system it builds is not the one defaultRootFS names", strings.TrimSpace(want))
	}
}

// TestSystemdUser installs a generated daemon for a user who is not root,
// with `NAME install --user --now`, under that user's own service manager
// (user@1000.service, started by loginctl enable-linger), and checks what
// systemd and the kernel say: the daemon runs as the user, from
// ~/.local/bin, sandboxed, is ready after Init and reloads; uninstall
// --user leaves nothing of it.
func TestSystemdUser(t *testing.T) {
	rootfs := rootFS(t)
	stage := t.TempDir()
	// The user reads the binary from /lab.
	if err := os.Chmod(stage, 0o755); err != nil {
		t.Fatal(err)
	}
	p := stageProject(t, stage, generator.NewOptions("labuser"))
	c := boot(t, rootfs, stage)
	c.must("useradd", "--create-home", "--uid="+labUID, "--user-group", labUser)
	self := "/lab/labuser/labuser"

	// Before the user has a manager of their own.
	if out, code := c.asUser(self, "install", "--user"); code != 4 || !strings.Contains(out, "no service manager of yours is reachable") {
		t.Errorf("install --user without a user manager: exit %d, %q; want 4, refused", code, out)
	}
	c.must("loginctl", "enable-linger", labUser)
	c.waitFor("user@"+labUID+".service", "the user's manager", func(s map[string]string) bool {
		return s["ActiveState"] == "active"
	}, "ActiveState")

	if out, code := c.asUser(self, "install", "--user", "--now"); code != 0 {
		t.Fatalf("install --user --now: exit %d\n%s", code, out)
	}
	unit := labHome + "/.config/systemd/user/labuser.service"
	bin := labHome + "/.local/bin/labuser"
	s := c.userShow(p.unit(), "ActiveState", "SubState", "FragmentPath", "UnitFileState", "MainPID")
	if s["ActiveState"] != "active" || s["SubState"] != "running" || s["FragmentPath"] != unit || s["UnitFileState"] != "enabled" {
		t.Fatalf("after install --user --now: %v, want active, running, from %s, enabled\njournal:\n%s", s, unit, c.userJournal(p.unit()))
	}
	for path, want := range map[string]string{bin: "755 1000 1000", unit: "644 1000 1000"} {
		if got := strings.TrimSpace(c.must("stat", "-c", "%a %u %g", path)); got != want {
			t.Errorf("%s: mode, owner and group %q, want %q", path, got, want)
		}
	}
	pid := s["MainPID"]
	if exe := strings.TrimSpace(c.must("readlink", "/proc/"+pid+"/exe")); exe != bin {
		t.Errorf("the daemon (pid %s) runs %s, want %s", pid, exe, bin)
	}
	status := map[string]string{}
	for _, line := range strings.Split(c.must("cat", "/proc/"+pid+"/status"), "\n") {
		k, v, _ := strings.Cut(line, ":")
		status[k] = strings.TrimSpace(v)
	}
	// Its sandbox applies, in a user namespace of its own.
	for field, want := range map[string]string{"Uid": "1000\t1000\t1000\t1000", "NoNewPrivs": "1", "Seccomp": "2", "CapEff": "0000000000000000"} {
		if status[field] != want {
			t.Errorf("/proc/%s/status %s: %q, want %q", pid, field, status[field], want)
		}
	}
	if own, daemons := c.must("readlink", "/proc/self/ns/user"), c.must("readlink", "/proc/"+pid+"/ns/user"); own == daemons {
		t.Errorf("the daemon runs in the container's user namespace (%s), want one of its own (PrivateUsers=yes)", strings.TrimSpace(own))
	}
	if log := c.userJournalWith(p.unit(), "labuser: init: done"); !strings.Contains(log, "labuser: init: done") {
		t.Errorf("the journal lacks Init's end:\n%s", log)
	}

	if out, code := c.asUser("systemctl", "--user", "reload", p.unit()); code != 0 {
		t.Errorf("systemctl --user reload: exit %d\n%s", code, out)
	}
	// The daemon's own line, not ExecReload='s "reloaded (pid N)": journald
	// may not tie the line of a process that exits at once to its unit.
	if log := c.userJournalWith(p.unit(), "labuser: reloading"); !strings.Contains(log, "labuser: reloading") {
		t.Errorf("the journal lacks the reload hook's line of pid %s:\n%s", pid, log)
	}

	if out, code := c.asUser(bin, "uninstall", "--user"); code != 0 {
		t.Fatalf("uninstall --user: exit %d\n%s", code, out)
	}
	if s := c.userShow(p.unit(), "LoadState", "ActiveState"); s["LoadState"] != "not-found" || s["ActiveState"] != "inactive" {
		t.Errorf("after uninstall --user: %v, want LoadState=not-found ActiveState=inactive", s)
	}
	if left := c.must("find", labHome, "-name", "*labuser*"); left != "" {
		t.Errorf("uninstall --user left:\n%s", left)
	}
	if out, code := c.run("test", "-e", "/proc/"+pid); code == 0 {
		t.Errorf("pid %s still exists after uninstall --user\n%s", pid, out)
	}
}

// asUser runs a command in the container as labUser, with the environment
// of the user's session: HOME, and XDG_RUNTIME_DIR, where systemctl --user
// finds the user's manager.
func (c *container) asUser(args ...string) (string, int) {
	c.t.Helper()
	return c.run(append([]string{"setpriv", "--reuid=" + labUID, "--regid=" + labUID, "--init-groups",
		"env", "HOME=" + labHome, "XDG_RUNTIME_DIR=/run/user/" + labUID}, args...)...)
}

// userShow returns properties of a unit of the user's manager.
func (c *container) userShow(unit string, props ...string) map[string]string {
	c.t.Helper()
	out, code := c.asUser("systemctl", "--user", "show", "--property="+strings.Join(props, ","), unit)
	if code != 0 {
		c.t.Fatalf("systemctl --user show %s: exit %d\n%s", unit, code, out)
	}
	s := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		k, v, _ := strings.Cut(line, "=")
		s[k] = v
	}
	return s
}

// userJournal returns the messages of a unit of the user's manager
// (journalctl --user-unit would match root's user units only).
func (c *container) userJournal(unit string) string {
	c.t.Helper()
	c.must("journalctl", "--sync")
	return c.must("journalctl", "_SYSTEMD_USER_UNIT="+unit, "--output=cat", "--no-pager")
}

// userJournalWith is userJournal, read again until it holds want or
// waitTimeout has passed (journalUntil says why).
func (c *container) userJournalWith(unit, want string) string {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		log := c.userJournal(unit)
		if strings.Contains(log, want) || time.Now().After(deadline) {
			return log
		}
		<-tick.C
	}
}
