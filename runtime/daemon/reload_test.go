//go:build linux

package daemon_test

import (
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReloadClearsFailedStatus: a failed reload sets STATUS= "reload
// failed: ...", which systemctl status shows; a later reload that succeeds
// must not leave it there. It does: nothing clears it, and the service,
// which reloaded fine, shows "reload failed" until it sends another status.
func TestReloadClearsFailedStatus(t *testing.T) {
	h := newHarness(t)
	h.env = append(h.env, reloadEnv+"=fail,ok")
	sock := filepath.Join(h.dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cmd := h.runInBackground("NOTIFY_SOCKET=" + sock)
	pid := strconv.Itoa(cmd.Process.Pid)
	// reloadDatagrams reads the datagrams of one reload, from RELOADING=1 to
	// READY=1.
	reloadDatagrams := func() []string {
		t.Helper()
		var got []string
		buf := make([]byte, 4096)
		for {
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("no READY=1 after the reload: %v; got %q", err, got)
			}
			d := string(buf[:n])
			if strings.HasPrefix(d, "RELOADING=1") {
				got = nil
			}
			got = append(got, d)
			if d == "READY=1" && len(got) > 1 {
				return got
			}
		}
	}
	h.eventsUntil("init")

	if _, errOut, code := h.runMain("reload", "--pid", pid); code != 1 {
		t.Fatalf("first reload: exit %d, %q; want 1, the hook fails", code, errOut)
	}
	if got := reloadDatagrams(); !slices.Contains(got, "STATUS=reload failed: reload: reload says no") {
		t.Fatalf("failed reload sent %q; want a STATUS= saying it failed", got)
	}
	if _, errOut, code := h.runMain("reload", "--pid", pid); code != 0 {
		t.Fatalf("second reload: exit %d, %q; want 0", code, errOut)
	}
	got := reloadDatagrams()
	if !slices.ContainsFunc(got, func(d string) bool { return strings.HasPrefix(d, "STATUS=") }) {
		t.Errorf("a reload that succeeded after one that failed sent %q: no STATUS=, so systemctl status still says \"reload failed\"", got)
	}
}
