//go:build linux

package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gendaemon/gendaemon/bench/httpload"
)

// Load of the upgrade tests: keep-alive clients, as the issue asks, and a
// few that connect for every request, so that connections are also being
// made at the moment the listening socket changes hands.
const (
	loadClients      = 20
	loadFreshClients = 2
)

// upgradeInterval paces the upgrades of TestUpgradeUnderLoad within its
// load window.
const upgradeInterval = 2 * time.Second

// TestUpgradeUnderLoad upgrades a generated HTTP daemon four times (v1 to
// v5) while 22 clients send requests for ten seconds: every upgrade
// succeeds, no request fails and no connection is refused, every request
// sent after an upgrade has returned is answered by that version or a
// later one, each old daemon exits and status names the new one.
func TestUpgradeUnderLoad(t *testing.T) {
	h := newHTTPD(t)
	const upgrades = 4
	var builds []string
	for v := range upgrades + 1 {
		builds = append(builds, h.build(fmt.Sprintf("v%d", v+1)))
	}
	client := buildLoadClient(t)
	h.install(builds[0])
	pid, addr := h.start()
	window := time.Duration(upgrades+1) * upgradeInterval
	load := startLoad(t, client, "-url", "http://"+addr+"/", "-clients", fmt.Sprint(loadClients),
		"-fresh", fmt.Sprint(loadFreshClients), "-duration", window.String())
	began := time.Now()
	pids := []int{pid}
	for i, build := range builds[1:] {
		<-time.After(time.Until(began.Add(time.Duration(i+1) * upgradeInterval))) // pacing, not a wait for state
		h.install(build)
		upgradeBegan := time.Now()
		next := h.upgrade(pid)
		load.Send(fmt.Sprintf("expect v%d", i+2))
		t.Logf("upgrade to v%d: pid %d replaced pid %d in %v", i+2, next, pid, time.Since(upgradeBegan).Round(time.Microsecond))
		waitExit(t, pid) // the old daemon drains and exits
		h.wantStatus(next)
		pid = next
		pids = append(pids, pid)
	}
	r := load.Result(window + commandTimeout)
	t.Logf("%d requests on %d connections, %d failed (%d refused), %d stale; answers by version: %v, by pid: %v; longest request %.1fms",
		r.Requests, r.Conns, r.Failures, r.Refused, r.Stale, r.Versions, r.PIDs, r.MaxLatency)
	checkLoad(t, r)
	for v, pid := range pids {
		version := fmt.Sprintf("v%d", v+1)
		if !slices.Equal(r.PIDs[version], []int{pid}) {
			t.Errorf("%s was answered by pids %v; want only %d, the daemon that ran it", version, r.PIDs[version], pid)
		}
		if r.Versions[version] == 0 {
			t.Errorf("no request was answered by %s", version)
		}
	}
	if out, errOut, code := h.command("stop"); code != 0 {
		t.Errorf("stop: exit %d, %q %q", code, out, errOut)
	}
	waitExit(t, pid)
}

// TestUpgradeToAFailingBinaryUnderLoad upgrades a generated HTTP daemon, under
// load, to builds that fail in Init after taking the listener over: with
// an error, by exiting, by panicking and by hanging past the start
// timeout. Each upgrade exits 1 with the reason, the failed process is
// gone, the old daemon serves on without a failed request and status
// names it, also while the hanging build runs, when a second upgrade is
// refused; a good build then upgrades it as usual.
func TestUpgradeToAFailingBinaryUnderLoad(t *testing.T) {
	h := newHTTPD(t)
	const startTimeout = "2s"
	good := h.build("v1")
	failing := []struct{ mode, want string }{
		{"fail", "the new binary failed to start: init: v9 refuses to start\n"},
		{"crash", "exited during start-up without saying why"},
		{"panic", "the new binary failed to start: init panicked: v9 panics in Init\n"},
		{"hang", "was not ready within " + startTimeout + ", so it was killed"},
	}
	builds := map[string]string{}
	for _, f := range failing {
		builds[f.mode] = h.build("v9", "initMode="+f.mode)
	}
	next := h.build("v2")
	client := buildLoadClient(t)
	h.install(good)
	pid, addr := h.start("--start-timeout", startTimeout)
	load := startLoad(t, client, "-url", "http://"+addr+"/", "-clients", fmt.Sprint(loadClients),
		"-fresh", fmt.Sprint(loadFreshClients), "-duration", "1m")
	for _, f := range failing {
		h.install(builds[f.mode])
		inits := len(h.initPIDs("v9"))
		upgraded := make(chan commandResult, 1)
		go func() { upgraded <- h.run("upgrade") }()
		if f.mode == "hang" {
			// While the new binary hangs: two processes run, status
			// names the old one, and a second upgrade is refused.
			h.waitInit("v9", inits+1)
			h.wantStatus(pid)
			if out, errOut, code := h.command("upgrade"); code != 1 || !strings.Contains(errOut, "an upgrade is under way already") {
				t.Errorf("a second upgrade during one: exit %d, %q %q; want 1, refused", code, out, errOut)
			}
		}
		r := <-upgraded
		if r.err != nil || r.code != 1 || !strings.Contains(r.stderr, f.want) {
			t.Errorf("upgrade to a build that does %q in Init: exit %d, stdout %q, stderr %q, %v; want 1 and %q", f.mode, r.code, r.stdout, r.stderr, r.err, f.want)
		}
		h.wantStatus(pid)
		failed := h.initPIDs("v9")
		if len(failed) == 0 || slices.Contains(failed, pid) {
			t.Fatalf("the log names %v as the failed builds' pids", failed)
		}
		// Killed by the old daemon, which started it through a session
		// leader: it exits, and init (or the test, its subreaper) reaps it.
		waitExit(t, failed[len(failed)-1])
	}
	h.install(next)
	replacement := h.upgrade(pid)
	load.Send("expect v2")
	waitExit(t, pid)
	h.wantStatus(replacement)
	load.Send("stop")
	r := load.Result(commandTimeout)
	t.Logf("%d requests on %d connections, %d failed (%d refused), %d stale; answers by version: %v, by pid: %v; longest request %.1fms",
		r.Requests, r.Conns, r.Failures, r.Refused, r.Stale, r.Versions, r.PIDs, r.MaxLatency)
	checkLoad(t, r)
	if r.Versions["v9"] != 0 || !slices.Equal(r.PIDs["v1"], []int{pid}) {
		t.Errorf("answers by pid %v; want v1 by pid %d only, until the upgrade to v2, and no v9", r.PIDs, pid)
	}
	if out, errOut, code := h.command("stop"); code != 0 {
		t.Errorf("stop: exit %d, %q %q", code, out, errOut)
	}
	waitExit(t, replacement)
}

// checkLoad fails the test if a request failed, a connection was refused
// or an old version answered after the upgrade to a newer one returned.
func checkLoad(t *testing.T, r httpload.Result) {
	t.Helper()
	if r.Requests == 0 {
		t.Fatal("no request was made")
	}
	if r.Failures != 0 || r.Refused != 0 {
		t.Errorf("%d of %d requests failed, %d connections refused; the first errors: %q", r.Failures, r.Requests, r.Refused, r.Errors)
	}
	if r.Stale != 0 {
		t.Errorf("%d answers from a version older than an upgrade that had returned: %q", r.Stale, r.StaleAnswers)
	}
}
