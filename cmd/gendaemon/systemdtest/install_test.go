//go:build linux

package systemdtest

import (
	"strings"
	"testing"
)

// strangerProgram is a program of the same name as the daemon that the
// administrator put where the daemon's unit expects the daemon's binary:
// not the daemon's.
const strangerProgram = "#!/bin/sh\necho the administrator's own tool\n"

// placeStranger writes strangerProgram at path in the container, mode 0755.
func (c *container) placeStranger(path string) {
	c.t.Helper()
	c.writeFile(path, []byte(strangerProgram))
	c.must("chmod", "0755", path)
}

// testInstallOverStrangerBinary: install refuses a unit of the daemon's
// name that gendaemon did not write, but not a program: a different
// program at the unit's ExecStart= path is silently replaced by the
// daemon's binary.
func testInstallOverStrangerBinary(t *testing.T, c *container, p project) {
	bin := "/usr/local/bin/" + p.opts.Name
	c.placeStranger(bin)
	t.Cleanup(func() {
		c.run("/lab/"+p.opts.Name+"/"+p.opts.Name, "uninstall")
		c.run("rm", "-f", bin)
	})
	out, code := c.run("/lab/"+p.opts.Name+"/"+p.opts.Name, "install")
	if got, _ := c.run("cat", bin); got != strangerProgram {
		t.Errorf("install (exit %d) replaced %s, a different program, without asking:\n%s", code, bin, out)
	}
}

// testUninstallStrangerBinary: uninstall removes the daemon's unit, but
// not a different program put at the unit's ExecStart= path since
// install, which it names.
func testUninstallStrangerBinary(t *testing.T, c *container, p project) {
	bin := "/usr/local/bin/" + p.opts.Name
	t.Cleanup(func() { c.run("rm", "-f", bin) })
	if out, code := c.run("/lab/"+p.opts.Name+"/"+p.opts.Name, "install"); code != 0 {
		t.Fatalf("install: exit %d\n%s", code, out)
	}
	c.placeStranger(bin)
	out, code := c.run("/lab/"+p.opts.Name+"/"+p.opts.Name, "uninstall")
	if got, _ := c.run("cat", bin); got != strangerProgram {
		t.Errorf("uninstall (exit %d) removed %s, a different program:\n%s", code, bin, out)
	}
	if code != 0 || !strings.Contains(out, "left "+bin+": it is not a build of "+p.opts.Name) {
		t.Errorf("uninstall beside a different program: exit %d, %q; want 0, saying it left %s", code, out, bin)
	}
	if s := c.show(p.unit(), "LoadState"); s["LoadState"] != "not-found" {
		t.Errorf("after uninstall: %v, want LoadState=not-found", s)
	}
}

// testInstallNowUpgrades: install --now of a new build, over an installed
// daemon that runs, reports success while the old build keeps running
// (systemctl enable --now starts only a stopped unit): the operator who
// upgrades this way runs the old binary, deleted from disk, until the
// next restart.
func testInstallNowUpgrades(t *testing.T, c *container, p project) {
	self := "/lab/" + p.opts.Name + "/" + p.opts.Name
	t.Cleanup(func() { c.run(self, "uninstall") })
	if out, code := c.run(self, "install", "--now"); code != 0 {
		t.Fatalf("install --now: exit %d\n%s", code, out)
	}
	c.wantState(p.unit(), "active", "running")
	// The new build: a fresh copy of the binary, as go build writes one.
	if out, code := c.run(self, "install", "--now"); code != 0 {
		t.Fatalf("install --now of the new build: exit %d\n%s", code, out)
	}
	pid := c.show(p.unit(), "MainPID")["MainPID"]
	exe, _ := c.run("readlink", "/proc/"+pid+"/exe")
	if strings.HasSuffix(strings.TrimSpace(exe), "(deleted)") {
		t.Errorf("after install --now of a new build, pid %s still runs the old one: /proc/%s/exe is %q", pid, pid, strings.TrimSpace(exe))
	}
}

// testInstallOverSymlinkToSelf: a symbolic link at the unit's ExecStart=
// path that points to the binary being installed (ln -s ~/build/NAME
// /usr/local/bin/NAME, then ~/build/NAME install) makes install believe
// the binary is in place already: it reports "installed" and leaves the
// link, so the service runs a file in root's home, which the unit's
// ProtectHome=yes hides: status=203/EXEC.
func testInstallOverSymlinkToSelf(t *testing.T, c *container, p project) {
	bin := "/usr/local/bin/" + p.opts.Name
	home := "/root/" + p.opts.Name
	t.Cleanup(func() {
		c.run(home, "uninstall")
		c.run("rm", "-f", bin, home)
	})
	c.must("cp", "/lab/"+p.opts.Name+"/"+p.opts.Name, home)
	c.must("ln", "-s", home, bin)
	out, code := c.run(home, "install")
	if kind, _ := c.run("stat", "-c", "%F", bin); strings.TrimSpace(kind) != "regular file" {
		t.Errorf("install (exit %d) left %s a %s, not a copy of the binary:\n%s", code, bin, strings.TrimSpace(kind), out)
	}
}

// testInstallShadowsLocalUnit: install refuses to shadow a unit of the
// daemon's name in /usr/lib/systemd/system or /lib/systemd/system, but not
// in the other directories of systemd's search path that /etc overrides,
// such as /usr/local/lib/systemd/system (an administrator's own units) or
// /run/systemd/system: it installs over them without a word.
func testInstallShadowsLocalUnit(t *testing.T, c *container, p project) {
	self := "/lab/" + p.opts.Name + "/" + p.opts.Name
	for _, dir := range []string{"/usr/local/lib/systemd/system", "/run/systemd/system"} {
		local := dir + "/" + p.unit()
		c.writeFile(local, []byte("[Service]\nExecStart=/bin/sleep infinity\n"))
		c.must("systemctl", "daemon-reload")
		out, code := c.run(self, "install")
		if code == 0 {
			t.Errorf("install shadowed %s, the administrator's unit of that name, with /etc/systemd/system/%s:\n%s", local, p.unit(), out)
			c.run(self, "uninstall")
		}
		c.must("rm", local)
		c.must("systemctl", "daemon-reload")
	}
}
