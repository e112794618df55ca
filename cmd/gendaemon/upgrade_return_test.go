//go:build linux

package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUpgradeReturnsOnceTheOldDaemonStoppedServing checks that once
// `upgrade` has returned, only the new binary answers, even a client that
// keeps a connection open to the old daemon: as stop returns once the
// daemon has exited, upgrade returns once the daemon it replaced no longer
// serves, so that a script may check the new version right after it. The
// old daemon here goes on serving for a second after it is told to drain
// (drainDelay), as a service that first takes itself out of a load
// balancer does, so that the outcome does not depend on how fast it drains.
func TestUpgradeReturnsOnceTheOldDaemonStoppedServing(t *testing.T) {
	h := newHTTPD(t)
	h.install(h.build("v1", "drainDelay=1s"))
	next := h.build("v2")
	old, addr := h.start()
	client := &http.Client{Timeout: commandTimeout, Transport: &http.Transport{}} // keep-alive
	defer client.CloseIdleConnections()
	if got := answer(t, client, addr); !strings.HasPrefix(got, "v1 ") {
		t.Fatalf("before the upgrade, %q answered; want v1", got)
	}
	h.install(next)
	began := time.Now()
	replacement := h.upgrade(old)
	took := time.Since(began)
	if got := answer(t, client, addr); !strings.HasPrefix(got, "v2 ") {
		t.Errorf("after upgrade returned (in %v; pid %d replaced pid %d), %q answered on the client's connection; want v2: upgrade returned while the old daemon still served", took.Round(time.Millisecond), replacement, old, got)
	}
	waitExit(t, old)
	h.wantStatus(replacement)
}

// answer returns the body of the daemon's answer to a GET on addr.
func answer(t *testing.T, client *http.Client, addr string) string {
	t.Helper()
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET http://%s/: %s, %q, %v", addr, resp.Status, body, err)
	}
	return strings.TrimSpace(string(body))
}
