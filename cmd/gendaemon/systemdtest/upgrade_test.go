//go:build linux

package systemdtest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gendaemon/gendaemon/bench/httpload/loadtest"

	"github.com/gendaemon/gendaemon/generator"
)

// httpdAddr is where the HTTP daemon of TestSystemdUpgrade listens, in the
// container's network namespace.
const httpdAddr = "127.0.0.1:8080"

// TestSystemdUpgrade installs a generated HTTP daemon (the service of
// ../testdata/httpd) with fdstore: true under systemd and keeps 20 clients
// busy on it, from inside the container's network, while it is restarted
// with systemctl restart, three times, and upgraded with `NAME upgrade
// --pid $MAINPID` to a new build, then restarted again: no request fails
// and no connection is refused, because systemd holds the listening socket
// in the daemon's file descriptor store across each restart, and the
// upgrade hands it to the new binary, which systemd takes as the unit's
// main process. The same daemon without the fd store loses requests at a
// restart, which shows that the load would see a lost socket.
func TestSystemdUpgrade(t *testing.T) {
	rootfs := rootFS(t)
	began := time.Now()
	stage := t.TempDir()
	opts := generator.NewOptions("labup")
	opts.FDStore = true
	labup := stageHTTPD(t, stage, opts)
	labnofd := stageHTTPD(t, stage, generator.NewOptions("labnofd"))
	opts = generator.NewOptions("labdrop")
	opts.FDStore = true
	labdrop := stageHTTPD(t, stage, opts, "-X main.extraAddr="+extraAddr)
	goBuild(t, filepath.Join("..", "..", "..", "bench", "cmd", "httpload"), filepath.Join(stage, "httpload"))
	t.Logf("generated and built 3 projects and the load client in %v", time.Since(began).Round(time.Millisecond))

	c := boot(t, rootfs, stage)
	for _, st := range []struct {
		name string
		test func(*testing.T, *container, project)
		p    project
	}{
		{"restart and upgrade under load", testUpgradeUnderLoad, labup},
		{"restart without the fd store loses requests", testRestartWithoutFDStore, labnofd},
		{"a listener a new version drops leaves the fd store", testDroppedListenerLeavesTheStore, labdrop},
		{"a listener a rollback takes back returns to the fd store", testTakenBackListenerReturnsToTheStore, labdrop},
	} {
		t.Run(st.name, func(t *testing.T) { st.test(t, c.on(t), st.p) })
	}
}

// testUpgradeUnderLoad: restarts and an upgrade of a daemon with the fd
// store, under load, lose nothing, and systemd follows the upgrade.
func testUpgradeUnderLoad(t *testing.T, c *container, p project) {
	c.installHTTPD(p)
	load := c.startLoad(t)
	for range 3 {
		c.restartUnderLoad(p)
	}
	upgraded := c.upgradeUnderLoad(p)
	// The old daemon has exited (v1 drains for v1DrainDelay): from now on
	// only v2 may answer. (That upgrade returns only once the old daemon
	// no longer serves is TestUpgradeReturnsOnceTheOldDaemonStoppedServing's.)
	load.Send("expect v2")
	// After the upgrade, a restart drains the new daemon as any and
	// starts the new build, on the socket that the store still holds.
	c.restartUnderLoad(p)
	if log := c.journalUntil(p.unit(), "msg=drained pid="+upgraded+" "); !strings.Contains(log, "msg=drained pid="+upgraded+" ") || strings.Contains(log, "SIGKILL") {
		t.Errorf("systemctl restart after the upgrade did not let the new daemon (pid %s) drain: the journal since the upgrade has no \"drained pid=%s\", or a SIGKILL:\n%s", upgraded, upgraded, log)
	}
	<-time.After(loadPace)
	load.Send("stop")
	r := load.Result(commandTimeout)
	t.Logf("%d requests on %d connections, %d failed (%d refused), %d stale; answers by version: %v, by pid: %v; longest request %.1fms",
		r.Requests, r.Conns, r.Failures, r.Refused, r.Stale, r.Versions, r.PIDs, r.MaxLatency)
	if r.Requests == 0 {
		t.Fatal("no request was made")
	}
	if r.Failures != 0 || r.Refused != 0 || r.Stale != 0 {
		t.Errorf("%d of %d requests failed, %d connections refused, %d stale answers; the first errors: %q %q", r.Failures, r.Requests, r.Refused, r.Stale, r.Errors, r.StaleAnswers)
	}
	if len(r.PIDs["v1"]) != 4 || len(r.PIDs["v2"]) != 2 || !slices.Contains(r.PIDs["v2"], mustAtoi(t, upgraded)) {
		t.Errorf("answered by %v; want v1 by 4 daemons (the first, 3 restarts), v2 by 2 (the upgrade, pid %s, and a restart)", r.PIDs, upgraded)
	}
}

// upgradeUnderLoad installs the build v2 over the unit's binary, by
// renaming it there as a package manager does, and upgrades the daemon with
// `NAME upgrade --pid $MAINPID`: the new daemon becomes the unit's main
// process without a restart, and the old one drains and exits. It returns
// the new daemon's pid.
func (c *container) upgradeUnderLoad(p project) string {
	c.t.Helper()
	<-time.After(loadPace)
	before := c.show(p.unit(), "MainPID", "NRestarts")
	c.installBuild(p, "v2")
	bin := "/usr/local/bin/" + p.opts.Name
	c.journal(p.unit()) // from here on
	out := c.must(bin, "upgrade", "--pid", before["MainPID"])
	m := regexp.MustCompile(`^` + p.opts.Name + ` upgraded \(pid (\d+), replacing pid (\d+)\)\n$`).FindStringSubmatch(out)
	if m == nil || m[2] != before["MainPID"] {
		c.t.Fatalf("upgrade --pid %s: %q, want %s upgraded (pid NEW, replacing pid %s)", before["MainPID"], out, p.opts.Name, before["MainPID"])
	}
	if s := c.show(p.unit(), "MainPID", "NRestarts", "ActiveState", "SubState"); s["MainPID"] != m[1] || s["NRestarts"] != before["NRestarts"] || s["ActiveState"] != "active" || s["SubState"] != "running" {
		c.t.Errorf("after the upgrade: %v; want MainPID=%s (the new daemon), NRestarts=%s, active, running", s, m[1], before["NRestarts"])
	}
	c.waitGone(before["MainPID"])
	// Each daemon's lines in order; the two daemons' lines interleave. The
	// old daemon's last line is written as it exits (journalUntil).
	log := c.journalUntil(p.unit(), "msg=drained pid="+before["MainPID"]+" version=v1")
	for _, want := range [][]string{
		{"msg=\"upgrading: started the new binary\" path=/usr/local/bin/", "msg=\"upgraded: the new daemon serves; draining\" pid=" + m[1], "msg=drained pid=" + before["MainPID"] + " version=v1"},
		{"msg=init pid=" + m[1] + " version=v2", "msg=ready pid=" + m[1] + " version=v2"},
	} {
		if !inOrder(log, want) {
			c.t.Errorf("the journal of the upgrade lacks %q, in this order:\n%s", want, log)
		}
	}
	// systemd 252 supervises a main process that is not its child as an
	// "alien": on stop it sends SIGTERM and, when no other process is left
	// in the unit's cgroup, SIGKILL at once, without waiting for the exit.
	// The new daemon must be systemd's child when systemd learns its pid.
	if strings.Contains(log, "which is not our child") {
		c.t.Errorf("systemd took the new daemon (pid %s) as a main process that is not its child, which it will SIGKILL on stop without waiting for it to drain:\n%s", m[1], log)
	}
	return m[1]
}

// inOrder reports whether text holds each of want, in order.
func inOrder(text string, want []string) bool {
	for _, w := range want {
		i := strings.Index(text, w)
		if i < 0 {
			return false
		}
		text = text[i+len(w):]
	}
	return true
}

// testRestartWithoutFDStore: the same restarts without the fd store refuse
// connections (or reset them), as the old daemon closes the socket before
// the new one has opened it.
func testRestartWithoutFDStore(t *testing.T, c *container, p project) {
	c.installHTTPD(p)
	load := c.startLoad(t)
	for range 3 {
		c.restartUnderLoad(p)
	}
	<-time.After(loadPace)
	load.Send("stop")
	r := load.Result(commandTimeout)
	t.Logf("%d requests on %d connections, %d failed (%d refused); the first errors: %q", r.Requests, r.Conns, r.Failures, r.Refused, r.Errors)
	if r.Failures == 0 {
		t.Errorf("3 restarts of a daemon without the fd store lost none of %d requests; want failures, or the test of the fd store proves nothing", r.Requests)
	}
}

// extraAddr is where v1 of labdrop keeps a second listener, "extra",
// which v2 no longer asks for.
const extraAddr = "127.0.0.1:8081"

// testDroppedListenerLeavesTheStore: v1 keeps two listeners in the fd
// store; v2, which keeps one, is installed and the unit restarted. v2
// finds both in the store and removes the one it does not ask for
// (FDSTOREREMOVE=1), so that after the next restart no process, systemd
// included, holds its port, which then refuses connections. A store that
// kept it would pass it back at every restart, its connections queued
// unanswered.
func testDroppedListenerLeavesTheStore(t *testing.T, c *container, p project) {
	c.installHTTPD(p)
	if !c.accepts(extraAddr) {
		t.Fatalf("v1 does not listen on %s", extraAddr)
	}
	c.installBuild(p, "v2")
	c.must("systemctl", "restart", p.unit()) // v2 removes "extra" from the store
	c.must("systemctl", "restart", p.unit())
	c.wantState(p.unit(), "active", "running")
	if c.accepts(extraAddr) {
		t.Errorf("after two restarts of v2, which does not listen on %s, a process still accepts connections there: the fd store kept v1's listener", extraAddr)
	}
}

// testTakenBackListenerReturnsToTheStore: v1 keeps two listeners in the
// fd store; v2, restarted into, removes "extra" from the store, but keeps
// the socket open among its activated ones and hands it on; an upgrade
// back to v1, without a restart (a rollback), takes it from there, and
// must put it back in the store: otherwise the next restart closes its
// port, which refuses connections until v1 has opened it again.
func testTakenBackListenerReturnsToTheStore(t *testing.T, c *container, p project) {
	c.installHTTPD(p)
	stored := func(n string) func(map[string]string) bool {
		return func(s map[string]string) bool { return s["NFileDescriptorStore"] == n }
	}
	c.waitFor(p.unit(), "v1's two listeners in the fd store", stored("2"), "NFileDescriptorStore")
	c.installBuild(p, "v2")
	c.must("systemctl", "restart", p.unit())
	c.waitFor(p.unit(), "one listener in the fd store once v2 removed extra", stored("1"), "NFileDescriptorStore")
	c.installBuild(p, p.opts.Name) // v1 again
	bin := "/usr/local/bin/" + p.opts.Name
	c.must(bin, "upgrade", "--pid", c.show(p.unit(), "MainPID")["MainPID"])
	c.waitFor(p.unit(), "extra back in the fd store after the upgrade to v1", stored("2"), "NFileDescriptorStore")
}

// accepts reports whether a TCP connection to addr, in the container's
// network, is accepted (bash's /dev/tcp): a refused one fails.
func (c *container) accepts(addr string) bool {
	host, port, _ := strings.Cut(addr, ":")
	_, code := c.run("bash", "-c", "exec 3<>/dev/tcp/"+host+"/"+port)
	return code == 0
}

// installBuild installs the build called build of p over the unit's
// binary, by renaming it there as a package manager does.
func (c *container) installBuild(p project, build string) {
	c.t.Helper()
	bin := "/usr/local/bin/" + p.opts.Name
	c.must("install", "-m", "0755", "/lab/"+p.opts.Name+"/"+build, bin+".new")
	c.must("mv", "-f", bin+".new", bin)
}

// v1DrainDelay is how long v1 of the HTTP daemon goes on serving once told
// to drain (testdata/httpd's drainDelay).
const v1DrainDelay = 200 * time.Millisecond

// stageHTTPD generates the project that opts describe, with the HTTP
// service of ../testdata/httpd, and builds it twice into stage/NAME: as v1,
// the binary the unit installs (NAME), with v1Flags among its -ldflags,
// and as v2.
func stageHTTPD(t *testing.T, stage string, opts generator.Options, v1Flags ...string) project {
	t.Helper()
	files, err := generator.Render(opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), opts.Name)
	if err := generator.Write(dir, files, false); err != nil {
		t.Fatal(err)
	}
	service, err := os.ReadFile(filepath.Join("..", "testdata", "httpd", "service.go.in"))
	if err != nil {
		t.Fatal(err)
	}
	service = []byte(strings.ReplaceAll(string(service), `"MODULE/`, `"`+opts.Module+`/`))
	if err := os.WriteFile(filepath.Join(dir, "service.go"), service, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "service_test.go")); err != nil { // of the scaffolded service
		t.Fatal(err)
	}
	out := filepath.Join(stage, opts.Name)
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	// v1 drains for a while, as a daemon with requests in flight does: the
	// old daemon of the upgrade outlives systemd's reading of MAINPID=.
	goBuild(t, dir, filepath.Join(out, opts.Name), "-ldflags=-X main.version=v1 -X main.drainDelay="+v1DrainDelay.String()+" "+strings.Join(v1Flags, " "))
	goBuild(t, dir, filepath.Join(out, "v2"), "-ldflags=-X main.version=v2")
	p := project{opts: opts, units: map[string][]byte{}}
	for _, f := range files {
		if filepath.Ext(f.Path) == ".service" {
			p.units[f.Path] = f.Data
			if err := os.WriteFile(filepath.Join(out, f.Path), f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return p
}

// installHTTPD installs an HTTP daemon of stageHTTPD as its unit's comment
// says, listening on httpdAddr. The unit is stopped when the test ends, so
// that the next one finds the address free.
func (c *container) installHTTPD(p project) {
	c.t.Helper()
	c.t.Cleanup(func() { c.run("systemctl", "stop", p.unit()) })
	c.dropIn(p, "ExecStart=", "ExecStart=/usr/local/bin/"+p.opts.Name+" run --pidfile= --addr="+httpdAddr)
	if out, code := c.install(p).wait(c.t); code != 0 {
		c.t.Fatalf("installing %s: exit %d\n%s", p.opts.Name, code, out)
	}
	c.wantState(p.unit(), "active", "running")
}

// loadPace is the time under load between two steps of the test, so that
// each daemon serves a share of the load.
const loadPace = 300 * time.Millisecond

// restartUnderLoad restarts the unit with systemctl restart and checks
// that a new main process runs and that systemd counts no restart of its
// own (NRestarts: after a failure).
func (c *container) restartUnderLoad(p project) {
	c.t.Helper()
	<-time.After(loadPace)
	before := c.show(p.unit(), "MainPID", "NRestarts")
	c.must("systemctl", "restart", p.unit())
	s := c.show(p.unit(), "MainPID", "NRestarts", "ActiveState", "SubState")
	if s["MainPID"] == before["MainPID"] || s["MainPID"] == "0" || s["NRestarts"] != before["NRestarts"] || s["ActiveState"] != "active" || s["SubState"] != "running" {
		c.t.Errorf("after systemctl restart: %v; want a new MainPID (not %s), NRestarts=%s, active, running", s, before["MainPID"], before["NRestarts"])
	}
}

// waitGone waits until the process pid, in the container, has exited.
func (c *container) waitGone(pid string) {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, code := c.run("test", "-e", "/proc/"+pid); code != 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("pid %s still runs %v after the upgrade", pid, waitTimeout)
		}
		<-tick.C
	}
}

// startLoad starts the load client, bench/cmd/httpload (/lab/httpload), in
// the container, in its network namespace, against httpdAddr, and returns
// once its clients run. It ends by itself at the latest after 50s, before
// commandTimeout ends the command; the container's end ends it in any case.
func (c *container) startLoad(t *testing.T) *loadtest.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	cmd := c.command(ctx, "/", "/lab/httpload", "-url", "http://"+httpdAddr+"/", "-clients", "20", "-fresh", "2", "-duration", "50s")
	cmd.Stderr = os.Stderr
	return loadtest.Start(t, cmd, func(int) { t.Cleanup(cancel) }, commandTimeout)
}
