//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// scaffoldFreshClients is the number of clients of TestScaffoldUpgradeUnderLoad
// that connect for every request: what the scaffold's drain must not fail.
const scaffoldFreshClients = 4

// TestScaffoldUpgradeUnderLoad upgrades the HTTP daemon that `gendaemon new
// --listen` scaffolds, unchanged, four times while clients send requests
// to it, some on keep-alive connections and some on a new connection each:
// no request may fail and no connection may be refused, as the scaffold's
// comments promise.
func TestScaffoldUpgradeUnderLoad(t *testing.T) {
	h := generate(t, "webd", "--listen", "127.0.0.1:8080")
	const upgrades = 4
	built := filepath.Join(h.dir, "builds", "webd")
	goBuild(t, h.project, built, ".")
	client := buildLoadClient(t)
	h.install(copyFile(t, built, h.bin+".new"))
	pid := h.startDaemon("--addr", "127.0.0.1:0")
	addr := regexp.MustCompile(`msg=starting .*addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(readFile(t, h.logFile))
	if addr == nil {
		t.Fatalf("the scaffold's log names no address:\n%s", readFile(t, h.logFile))
	}
	window := time.Duration(upgrades+1) * upgradeInterval
	load := startLoad(t, client, "-url", "http://"+addr[1]+"/", "-any", "-clients", fmt.Sprint(loadClients),
		"-fresh", fmt.Sprint(scaffoldFreshClients), "-duration", window.String())
	began := time.Now()
	for i := range upgrades {
		<-time.After(time.Until(began.Add(time.Duration(i+1) * upgradeInterval))) // pacing, not a wait for state
		h.install(copyFile(t, built, h.bin+".new"))
		next := h.upgrade(pid)
		waitExit(t, pid)
		h.wantStatus(next)
		pid = next
	}
	r := load.Result(window + commandTimeout)
	t.Logf("%d requests on %d connections, %d failed (%d refused); longest request %.1fms", r.Requests, r.Conns, r.Failures, r.Refused, r.MaxLatency)
	checkLoad(t, r)
	if out, errOut, code := h.command("stop"); code != 0 {
		t.Errorf("stop: exit %d, %q %q", code, out, errOut)
	}
	waitExit(t, pid)
}

// copyFile copies the executable from to the new file to, and returns to.
func copyFile(t *testing.T, from, to string) string {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return to
}

// readFile returns the content of path.
func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
