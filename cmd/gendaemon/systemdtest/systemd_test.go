//go:build linux

package systemdtest

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gendaemon/gendaemon/generator"
)

// maxExposure is the highest `systemd-analyze security` rating a generated
// unit may have.
const maxExposure = 3.0

// waitTimeout bounds each wait for a unit to reach a state.
const waitTimeout = 30 * time.Second

// TestSystemd generates six daemons — with the default options, with
// --listen, with only a group, one that installs itself, one with unit
// settings of its manifest, and one with the relaxed sandbox and a user —
// builds them, installs them in a
// container running systemd as their unit files' comments say, and drives
// them through systemctl, checking what systemd and the kernel report.
func TestSystemd(t *testing.T) {
	rootfs := rootFS(t)
	began := time.Now()
	stage := t.TempDir()
	labd := stageProject(t, stage, generator.NewOptions("labd"))
	webOpts := generator.NewOptions("labweb")
	webOpts.Listen = []string{"127.0.0.1:8080"}
	labweb := stageProject(t, stage, webOpts)
	grpOpts := generator.NewOptions("labgrp")
	grpOpts.Group = "daemon"
	labgrp := stageProject(t, stage, grpOpts)
	labinst := stageProject(t, stage, generator.NewOptions("labinst"))
	labopts := stageProject(t, stage, unitOptions())
	labrelax := stageProject(t, stage, relaxedOptions())
	t.Logf("generated and built 6 projects in %v", time.Since(began).Round(time.Millisecond))

	c := boot(t, rootfs, stage)
	// The subtests run in order, on labd's one life: each starts where the
	// one before has left it.
	for _, st := range []struct {
		name string
		test func(*testing.T, *container, project)
		p    project
	}{
		{"ready after init", testReadyAfterInit, labd},
		{"watchdog keep-alives", testWatchdog, labd},
		{"watchdog catches a stopped daemon", testWatchdogStopped, labd},
		{"sandbox", testSandbox, labd},
		{"stop", testStop, labd},
		{"restart after SIGKILL", testRestartAfterKill, labd},
		{"reload waits and reports", testReload, labd},
		{"init failure", testInitFailure, labd},
		{"crash output at priority crit", testCrashAtCrit, labd},
		{"no journal socket: a warning", testNoJournalSocketWarns, labd},
		{"watchdog catches a hung service", testWatchdogUnhealthy, labd},
		{"socket activation", testSocketActivation, labweb},
		{"group only", testGroupOnly, labgrp},
		{"install and uninstall", testInstallVerbs, labinst},
		{"unit settings", testUnitSettings, labopts},
		{"relaxed sandbox", testRelaxed, labrelax},
		{"install over a stranger's binary", testInstallOverStrangerBinary, labinst},
		{"uninstall keeps a stranger's binary", testUninstallStrangerBinary, labinst},
		{"install --now over a running daemon", testInstallNowUpgrades, labinst},
		{"install over a symbolic link to itself", testInstallOverSymlinkToSelf, labinst},
		{"install does not shadow a local unit", testInstallShadowsLocalUnit, labinst},
		{"security", testSecurity, labd},
		{"security listen", testSecurity, labweb},
		{"security group only", testSecurity, labgrp},
		{"security unit settings", testSecurity, labopts},
	} {
		t.Run(st.name, func(t *testing.T) { st.test(t, c.on(t), st.p) })
	}
	t.Logf("whole test: %v", time.Since(began).Round(time.Millisecond))
}

// testReadyAfterInit installs labd as its unit's comment says, with Init
// held at a gate (a FIFO): until Init returns, the unit is activating and
// `systemctl enable --now` waits; once Init returns, the unit is active.
func testReadyAfterInit(t *testing.T, c *container, p project) {
	const gate = "/run/lab-gate"
	if err := unix.Mkfifo(c.root+gate, 0o600); err != nil {
		t.Fatal(err)
	}
	c.dropIn(p, "Environment=LAB_GATE="+gate, "WatchdogSec=2s")
	enable := c.install(p)

	// Opening the gate to write returns when Init has opened it to read.
	w := openFIFO(t, c.root+gate)
	defer w.Close()
	if s := c.show(p.unit(), "ActiveState", "SubState"); s["ActiveState"] != "activating" || s["SubState"] != "start" {
		t.Errorf("while Init runs: ActiveState=%s SubState=%s, want activating, start", s["ActiveState"], s["SubState"])
	}
	if enable.finished() {
		out, code := enable.wait(t)
		t.Fatalf("systemctl enable --now returned (exit %d) while Init was still running\n%s", code, out)
	}
	if _, err := w.WriteString("go\n"); err != nil {
		t.Fatal(err)
	}
	if out, code := enable.wait(t); code != 0 {
		t.Fatalf("%s: exit %d\n%s", strings.Join(enable.args, " "), code, out)
	}
	c.wantState(p.unit(), "active", "running")
	c.wantLog(p.unit(), "labd: init: waiting at the gate", "labd: init: done", "Started labd.service")
	// The daemon has its environment; the next ones pass no gate.
	c.dropIn(p, "WatchdogSec=2s")
}

// openFIFO opens a FIFO to write, which blocks until a reader opens it, up
// to waitTimeout.
func openFIFO(t *testing.T, path string) *os.File {
	t.Helper()
	type result struct {
		f   *os.File
		err error
	}
	opened := make(chan result, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		opened <- result{f, err}
	}()
	select {
	case r := <-opened:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.f
	case <-time.After(waitTimeout):
		// Be the reader ourselves, so that the goroutine ends.
		if r, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0); err == nil {
			defer r.Close()
			if w := <-opened; w.f != nil {
				w.f.Close()
			}
		}
		t.Fatalf("no reader opened %s within %v: Init never reached the gate", path, waitTimeout)
		return nil
	}
}

// testWatchdog checks that systemd receives keep-alives from a healthy
// daemon (WatchdogSec=2s, from the drop-in): the time of the last one
// advances at least three times and, over more than the interval, the
// watchdog does not fire.
func testWatchdog(t *testing.T, c *container, p project) {
	const interval = 2 * time.Second
	before := c.show(p.unit(), "MainPID", "NRestarts")
	var stamps []string
	began := time.Now()
	c.waitFor(p.unit(), "three keep-alives over more than WatchdogSec", func(s map[string]string) bool {
		if v := s["WatchdogTimestampMonotonic"]; v != "0" && (len(stamps) == 0 || v != stamps[len(stamps)-1]) {
			stamps = append(stamps, v)
		}
		return len(stamps) >= 3 && time.Since(began) > interval
	}, "WatchdogTimestampMonotonic")
	s := c.show(p.unit(), "MainPID", "NRestarts", "ActiveState")
	if s["MainPID"] != before["MainPID"] || s["NRestarts"] != before["NRestarts"] || s["ActiveState"] != "active" {
		t.Errorf("after %v: %v, want %v and ActiveState=active", time.Since(began), s, before)
	}
}

// testWatchdogStopped stops the daemon with SIGSTOP: its keep-alives stop,
// systemd's watchdog fires and the daemon is restarted.
func testWatchdogStopped(t *testing.T, c *container, p project) {
	before := c.show(p.unit(), "MainPID", "NRestarts")
	restarts := strconv.Itoa(mustAtoi(t, before["NRestarts"]) + 1)
	c.must("systemctl", "kill", "--signal=SIGSTOP", "--kill-whom=main", p.unit())
	c.waitFor(p.unit(), "a restart by the watchdog", func(s map[string]string) bool {
		return s["ActiveState"] == "active" && s["MainPID"] != before["MainPID"] && s["MainPID"] != "0" && s["NRestarts"] == restarts
	}, "ActiveState", "MainPID", "NRestarts")
	c.wantLog(p.unit(), "labd.service: Watchdog timeout", "Started labd.service")
}

// testSandbox reads the running daemon's credentials in /proc: root, but
// with no capabilities, no new privileges and a seccomp filter.
func testSandbox(t *testing.T, c *container, p project) {
	status := c.procStatus(p.unit())
	for field, want := range map[string]string{
		"Uid": "0\t0\t0\t0", "CapBnd": "0000000000000000", "CapEff": "0000000000000000",
		"NoNewPrivs": "1", "Seccomp": "2",
	} {
		if status[field] != want {
			t.Errorf("/proc/PID/status %s: %q, want %q", field, status[field], want)
		}
	}
}

// testStop stops the daemon: it exits with status 0 after its serve hook
// has returned.
func testStop(t *testing.T, c *container, p project) {
	pid := c.show(p.unit(), "MainPID")["MainPID"]
	c.must("systemctl", "stop", p.unit())
	s := c.show(p.unit(), "ActiveState", "Result", "ExecMainStatus", "ExecMainCode")
	if s["ActiveState"] != "inactive" || s["Result"] != "success" || s["ExecMainStatus"] != "0" || s["ExecMainCode"] != "1" {
		t.Errorf("after stop: %v, want ActiveState=inactive Result=success ExecMainCode=1 (exited) ExecMainStatus=0", s)
	}
	if out, code := c.run("test", "-e", "/proc/"+pid); code == 0 {
		t.Errorf("pid %s still exists after systemctl stop\n%s", pid, out)
	}
	c.wantLog(p.unit(), "labd: stopping", "Stopped labd.service")
}

// testRestartAfterKill kills the daemon with SIGKILL: Restart=on-failure
// starts a new one.
func testRestartAfterKill(t *testing.T, c *container, p project) {
	c.dropIn(p)
	c.must("systemctl", "start", p.unit())
	c.wantState(p.unit(), "active", "running")
	s := c.show(p.unit(), "MainPID", "NRestarts")
	c.must("systemctl", "kill", "--signal=SIGKILL", "--kill-whom=main", p.unit())
	restarts := mustAtoi(t, s["NRestarts"]) + 1
	c.waitFor(p.unit(), "a restart after SIGKILL", func(n map[string]string) bool {
		return n["ActiveState"] == "active" && n["MainPID"] != s["MainPID"] && n["MainPID"] != "0" && n["NRestarts"] == strconv.Itoa(restarts)
	}, "ActiveState", "MainPID", "NRestarts")
	c.wantLog(p.unit(), "status=9/KILL", "Started labd.service")
}

// testReload reloads through the unit's ExecReload=, which runs the daemon's
// own binary (the container, a minimal Debian, has no /bin/kill): systemctl
// reload returns once the Reload hook has returned, and fails with its
// error, which only a reload that waits can know.
func testReload(t *testing.T, c *container, p project) {
	c.dropIn(p, `Environment="LAB_RELOAD_FAIL=lab: reload refused"`)
	c.must("systemctl", "restart", p.unit())
	c.wantState(p.unit(), "active", "running")
	if out, code := c.run("systemctl", "reload", p.unit()); code == 0 {
		t.Errorf("systemctl reload with a failing Reload hook: exit 0, want a failure\n%s", out)
	}
	c.wantLog(p.unit(), "labd: reloading", "labd reload: reload: lab: reload refused")
	c.dropIn(p)
	c.must("systemctl", "restart", p.unit())
	c.wantState(p.unit(), "active", "running")
	pid := c.show(p.unit(), "MainPID")["MainPID"]
	c.must("systemctl", "reload", p.unit())
	c.wantLog(p.unit(), "labd: reloading", "labd reloaded (pid "+pid+")")
	c.wantState(p.unit(), "active", "running")
}

// testInitFailure makes Init fail: the daemon exits with status 78
// (EX_CONFIG), which RestartPreventExitStatus= keeps systemd from
// retrying, so the error stays where operators look: in systemctl status
// (its StatusText= and log lines) and at priority err in the journal.
func testInitFailure(t *testing.T, c *container, p project) {
	c.must("systemctl", "stop", p.unit())
	c.dropIn(p, `Environment="LAB_INIT_FAIL=lab: bad configuration"`)
	if out, code := c.run("systemctl", "start", p.unit()); code == 0 {
		t.Fatalf("systemctl start with a failing Init: exit 0, want a failure\n%s", out)
	}
	c.waitFor(p.unit(), "the unit to fail", func(s map[string]string) bool {
		return s["ActiveState"] == "failed"
	}, "ActiveState")
	s := c.show(p.unit(), "Result", "ExecMainStatus", "StatusText")
	if s["Result"] != "exit-code" || s["ExecMainStatus"] != "78" || s["StatusText"] != "init: lab: bad configuration" {
		t.Errorf("after Init failed: %v, want Result=exit-code ExecMainStatus=78 StatusText=init: lab: bad configuration", s)
	}
	log := c.journalUntil(p.unit(), "labd run: init: lab: bad configuration")
	if strings.Contains(log, "Scheduled restart job") {
		t.Errorf("systemd restarted the daemon after Init failed:\n%s", log)
	}
	if !strings.Contains(log, "labd run: init: lab: bad configuration") {
		t.Errorf("the journal lacks the error:\n%s", log)
	}
	// The line is in the journal by now (journalUntil above).
	errs := c.must("journalctl", "--unit="+p.unit(), "--priority=err", "--output=cat", "--no-pager")
	if !strings.Contains(errs, "lab: bad configuration") {
		t.Errorf("journalctl --priority=err lacks the error:\n%s", errs)
	}
	status, _ := c.run("systemctl", "status", "--no-pager", p.unit())
	for _, want := range []string{"lab: bad configuration", "status=78"} {
		if !strings.Contains(status, want) {
			t.Errorf("systemctl status does not show %q:\n%s", want, status)
		}
	}
	c.must("systemctl", "reset-failed", p.unit())
}

// testCrashAtCrit makes Serve panic: Go's crash output lands in the journal
// at priority crit, while the daemon's own log lines keep theirs.
func testCrashAtCrit(t *testing.T, c *container, p project) {
	c.dropIn(p, `Environment="LAB_PANIC=lab: deliberate panic"`, "Restart=no")
	c.run("systemctl", "start", p.unit())
	c.waitFor(p.unit(), "the daemon to crash", func(s map[string]string) bool {
		return s["ActiveState"] == "failed"
	}, "ActiveState")
	c.must("journalctl", "--sync")
	crit := c.must("journalctl", "--unit="+p.unit(), "--priority=crit", "--output=cat", "--no-pager")
	for _, want := range []string{"panic: lab: deliberate panic", "goroutine "} {
		if !strings.Contains(crit, want) {
			t.Errorf("journalctl --priority=crit lacks %q:\n%s", want, crit)
		}
	}
	if strings.Contains(crit, "labd: serving") {
		t.Errorf("an info line of the daemon is at priority crit:\n%s", crit)
	}
	c.must("systemctl", "reset-failed", p.unit())
}

// testWatchdogUnhealthy runs labd with a watchdog and a Healthy hook that
// fails, as a service whose worker hangs does while its process runs: the
// daemon stops sending keep-alives, so systemd restarts it, with
// StatusText= saying why.
func testWatchdogUnhealthy(t *testing.T, c *container, p project) {
	c.dropIn(p, "Environment=LAB_HANG=1", "WatchdogSec=1s")
	c.must("systemctl", "start", p.unit())
	s := c.show(p.unit(), "MainPID", "NRestarts")
	c.waitFor(p.unit(), "a restart by the watchdog", func(n map[string]string) bool {
		return n["NRestarts"] != s["NRestarts"]
	}, "NRestarts")
	c.wantLog(p.unit(), "unhealthy: no watchdog keep-alive", "Watchdog timeout")
	c.dropIn(p)
	c.must("systemctl", "stop", p.unit())
}

// testInstallVerbs installs labinst with its own install command, as a
// user of kardianos/service expects: it refuses a stranger's unit of the
// same name and a user who is not root, writes the binary and the unit with
// explicit modes, enables and starts the daemon, is idempotent, and
// uninstall removes it all.
func testInstallVerbs(t *testing.T, c *container, p project) {
	bin := "/lab/" + p.opts.Name + "/" + p.opts.Name
	unit := "/etc/systemd/system/" + p.unit()
	c.writeFile(unit, []byte("[Service]\nExecStart=/bin/true\n"))
	if out, code := c.run(bin, "install"); code != 1 || !strings.Contains(out, "a different definition of labinst exists at /etc/systemd/system/labinst.service") {
		t.Errorf("install over a stranger's unit: exit %d, %q; want 1, refused", code, out)
	}
	c.must("rm", unit)
	if out, code := c.run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin, "install"); code != 4 || !strings.Contains(out, "needs root") {
		t.Errorf("install as nobody: exit %d, %q; want 4 (LSB: insufficient privilege)", code, out)
	}

	for range 2 { // the second install finds its own files and replaces them
		if out, code := c.run(bin, "install", "--now"); code != 0 {
			t.Fatalf("install --now: exit %d\n%s", code, out)
		}
	}
	c.wantState(p.unit(), "active", "running")
	if s := c.show(p.unit(), "UnitFileState"); s["UnitFileState"] != "enabled" {
		t.Errorf("after install: %v, want UnitFileState=enabled", s)
	}
	for path, want := range map[string]string{"/usr/local/bin/labinst": "755 0 0", unit: "644 0 0"} {
		if got := strings.TrimSpace(c.must("stat", "-c", "%a %u %g", path)); got != want {
			t.Errorf("%s: mode, owner and group %q, want %q", path, got, want)
		}
	}
	if got, err := os.ReadFile(c.root + unit); err != nil || string(got) != string(p.units[p.unit()]) {
		t.Errorf("the installed unit differs from the generated one (%v)", err)
	}
	c.must("systemctl", "reload", p.unit())

	if out, code := c.run("/usr/local/bin/labinst", "uninstall"); code != 0 {
		t.Fatalf("uninstall: exit %d\n%s", code, out)
	}
	if s := c.show(p.unit(), "LoadState", "ActiveState"); s["LoadState"] != "not-found" || s["ActiveState"] != "inactive" {
		t.Errorf("after uninstall: %v, want LoadState=not-found ActiveState=inactive", s)
	}
	for _, path := range []string{"/usr/local/bin/labinst", unit} {
		if out, code := c.run("test", "-e", path); code == 0 {
			t.Errorf("%s still exists after uninstall\n%s", path, out)
		}
	}
}

// testSocketActivation installs labweb as its unit's comment says: systemd
// listens on 127.0.0.1:8080 and starts the daemon on the first connection,
// which the daemon answers with its pid.
func testSocketActivation(t *testing.T, c *container, p project) {
	if out, code := c.install(p).wait(t); code != 0 {
		t.Fatalf("installing %s: exit %d\n%s", p.opts.Name, code, out)
	}
	if s := c.show("labweb.socket", "ActiveState", "SubState"); s["ActiveState"] != "active" || s["SubState"] != "listening" {
		t.Errorf("labweb.socket: %v, want ActiveState=active SubState=listening", s)
	}
	if s := c.show(p.unit(), "ActiveState"); s["ActiveState"] != "inactive" {
		t.Errorf("labweb.service before the first connection: ActiveState=%s, want inactive", s["ActiveState"])
	}
	for range 2 {
		// bash's /dev/tcp: the container has no other client.
		out := c.must("bash", "-c", `exec 3<>"/dev/tcp/$1/$2" && cat <&3`, "lab", "127.0.0.1", "8080")
		m := regexp.MustCompile(`^hello from (\d+)\n$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("labweb answered %q, want hello from PID", out)
		}
		s := c.show(p.unit(), "ActiveState", "MainPID")
		if s["ActiveState"] != "active" || s["MainPID"] != m[1] {
			t.Errorf("after a connection answered by pid %s: labweb.service %v, want active with that MainPID", m[1], s)
		}
	}
}

// testGroupOnly installs labgrp, whose only option is a group: the daemon
// switches to it itself, so its unit keeps CAP_SETGID.
func testGroupOnly(t *testing.T, c *container, p project) {
	if out, code := c.install(p).wait(t); code != 0 {
		t.Fatalf("installing %s: exit %d\n%s", p.opts.Name, code, out)
	}
	c.wantState(p.unit(), "active", "running")
	status := c.procStatus(p.unit())
	for field, want := range map[string]string{
		"Uid": "0\t0\t0\t0", "Gid": "1\t1\t1\t1", "Groups": "1", "CapBnd": "0000000000000040", "Seccomp": "2",
	} {
		if status[field] != want {
			t.Errorf("/proc/PID/status %s: %q, want %q", field, status[field], want)
		}
	}
}

// testSecurity rates the installed unit with systemd-analyze security.
func testSecurity(t *testing.T, c *container, p project) {
	out := c.must("systemd-analyze", "security", "--no-pager", p.unit())
	m := regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+) `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in systemd-analyze security's output:\n%s", out)
	}
	level, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("systemd-analyze security %s: %.1f", p.unit(), level)
	if level > maxExposure {
		t.Errorf("systemd-analyze security %s: %.1f, want at most %.1f\n%s", p.unit(), level, maxExposure, out)
	}
}

// on returns c for use by the test t, a subtest of the one that booted it.
func (c *container) on(t *testing.T) *container {
	cc := *c
	cc.t = t
	return &cc
}

// unit is the name of the project's service unit.
func (p project) unit() string { return p.opts.Name + ".service" }

// install runs the commands of the "Install:" comment of the project's
// service unit in the container, in /lab/NAME, and returns the last one
// (systemctl enable --now) running.
func (c *container) install(p project) *background {
	c.t.Helper()
	cmds := installCommands(c.t, p.units[p.unit()])
	if len(cmds) < 2 || !strings.HasPrefix(strings.Join(cmds[len(cmds)-1], " "), "systemctl enable --now ") {
		c.t.Fatalf("the Install: comment of %s ends in %q, want systemctl enable --now", p.unit(), cmds)
	}
	dir := "/lab/" + p.opts.Name
	for _, cmd := range cmds[:len(cmds)-1] {
		if out, code := c.runIn(dir, cmd...); code != 0 {
			c.t.Fatalf("%s: exit %d\n%s", strings.Join(cmd, " "), code, out)
		}
	}
	return c.start(dir, cmds[len(cmds)-1]...)
}

// dropIn writes the project's drop-in with the given [Service] settings,
// replacing the last one, and reloads systemd's configuration.
func (c *container) dropIn(p project, settings ...string) {
	c.t.Helper()
	data := "[Service]\n" + strings.Join(append(settings, ""), "\n")
	c.writeFile("/etc/systemd/system/"+p.unit()+".d/lab.conf", []byte(data))
	c.must("systemctl", "daemon-reload")
}

// show returns properties of a unit, as systemctl show reports them.
func (c *container) show(unit string, props ...string) map[string]string {
	c.t.Helper()
	out := c.must("systemctl", "show", "--property="+strings.Join(props, ","), unit)
	s := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		k, v, _ := strings.Cut(line, "=")
		s[k] = v
	}
	return s
}

// wantState checks a unit's ActiveState and SubState.
func (c *container) wantState(unit, active, sub string) {
	c.t.Helper()
	if s := c.show(unit, "ActiveState", "SubState"); s["ActiveState"] != active || s["SubState"] != sub {
		c.t.Errorf("%s: ActiveState=%s SubState=%s, want %s, %s", unit, s["ActiveState"], s["SubState"], active, sub)
	}
}

// waitFor reads a unit's properties until done returns true, and fails the
// test if it has not after waitTimeout. systemd has no way to wait for a
// state but a D-Bus subscription, which the container's minimal system
// has no client for, so waitFor asks every 100ms.
func (c *container) waitFor(unit, what string, done func(map[string]string) bool, props ...string) {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		s := c.show(unit, props...)
		if done(s) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: no %s within %v; last %v\njournal:\n%s", unit, what, waitTimeout, s, c.journal(unit))
		}
		<-tick.C
	}
}

// journal returns the unit's journal entries, messages only, since the
// last call for the unit. journalctl --sync first makes journald store
// every message sent before, the daemon's output included.
func (c *container) journal(unit string) string {
	c.t.Helper()
	c.must("journalctl", "--sync")
	return c.must("journalctl", "--unit="+unit, "--output=cat", "--no-pager", "--cursor-file=/run/lab-journal-"+unit)
}

// journalUntil is journal, read again until the entries since the last
// call hold every string of want, in order, or waitTimeout has passed; it
// returns them all. A line that a process of the unit writes just before
// it exits is not always in the journal when journalctl --sync returns
// (seen for the daemon's exit line after a failed Init, and for
// ExecReload's output): journald may not have read it from its stream yet.
func (c *container) journalUntil(unit string, want ...string) string {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	log := c.journal(unit)
	for !inOrder(log, want) && time.Now().Before(deadline) { // upgrade_test.go
		<-tick.C
		log += c.journal(unit)
	}
	return log
}

// wantLog checks that the unit's journal since the last call holds lines
// containing each of want, in order.
func (c *container) wantLog(unit string, want ...string) {
	c.t.Helper()
	log := c.journalUntil(unit, want...)
	rest := log
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			c.t.Errorf("%s: the journal has no %q after the lines before it:\n%s", unit, w, log)
			return
		}
		rest = rest[i+len(w):]
	}
}

// procStatus returns the fields of /proc/PID/status of the unit's main
// process.
func (c *container) procStatus(unit string) map[string]string {
	c.t.Helper()
	pid := c.show(unit, "MainPID")["MainPID"]
	if pid == "0" {
		c.t.Fatalf("%s has no main process", unit)
	}
	status := map[string]string{}
	for _, line := range strings.Split(c.must("cat", "/proc/"+pid+"/status"), "\n") {
		k, v, _ := strings.Cut(line, ":")
		status[k] = strings.TrimSpace(v)
	}
	return status
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q: want a number: %v", s, err)
	}
	return n
}
