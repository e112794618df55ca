//go:build linux

package daemon_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// ignoreRaw sets sig to SIG_IGN with rt_sigaction(2), behind the Go
// runtime's back, as a C parent would leave it: the runtime's signal.Ignore
// does nothing for the real-time signals it reserves. The kernel's struct
// sigaction starts with the handler on amd64 and arm64, where the tests run.
func ignoreRaw(sig unix.Signal) {
	act := [4]uint64{1} // SIG_IGN, no flags, no restorer, empty mask
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
}

// TestStartResetsIgnoredSignals starts the daemon from a launcher that
// ignores real-time signals the Go runtime never handles, and SIGHUP: the
// daemon must ignore none (daemon(7), step 2).
func TestStartResetsIgnoredSignals(t *testing.T) {
	h := newHarness(t)
	pid, out := h.start(ignoreEnv + "=SIGHUP,32,33,34,40")
	h.waitEvent("init")
	var launcherIgn string
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(line, "launcher sigign="); ok {
			launcherIgn, _, _ = strings.Cut(rest, " ")
		}
	}
	for _, sig := range []unix.Signal{unix.SIGHUP, 34, 40} {
		if !hasSignal(launcherIgn, sig) {
			t.Fatalf("the launcher's SigIgn %s lacks signal %d: the test set up nothing", launcherIgn, sig)
		}
	}
	if ign := statusField(pid, "SigIgn"); ign != "0000000000000000" {
		t.Errorf("daemon ignores signals %s, want none", ign)
	}
}

// TestStopStoppedDaemon stops a daemon that was stopped with SIGSTOP: stop
// must continue it so that it shuts down gracefully, not kill it.
func TestStopStoppedDaemon(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.start()
	h.waitEvent("init")
	if err := unix.Kill(pid, unix.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitState(t, pid, "T")
	got, killed, err := daemon.Stop(h.daemonConfig(), 5*time.Second)
	if err != nil || got != pid || killed {
		t.Errorf("Stop = %d, %v, %v; want %d, false, nil: a graceful stop", got, killed, err, pid)
	}
	h.waitEvent("serve cancelled")
}

// waitState waits until the kernel reports pid in state.
func waitState(t *testing.T, pid int, state string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := parseStat(pid); err == nil && st.state == state {
			return
		}
		time.Sleep(time.Millisecond) // polling the kernel's state
	}
	t.Fatalf("pid %d never reached state %s", pid, state)
}

// TestStopTimeouts defines the edge timeouts: a negative one is refused
// and signals nothing; 0 kills right after SIGTERM instead of waiting.
func TestStopTimeouts(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.start(serveEnv + "=stubborn")
	h.waitEvent("init")
	cfg := h.daemonConfig()
	if _, _, err := daemon.Stop(cfg, -5*time.Second); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("Stop with -5s = %v, want a refusal", err)
	}
	if got, err := daemon.Status(cfg); err != nil || got != pid {
		t.Fatalf("after a refused stop: Status = %d, %v; want %d running", got, err, pid)
	}
	begin := time.Now()
	got, killed, err := daemon.Stop(cfg, 0)
	if err != nil || got != pid || !killed {
		t.Errorf("Stop with 0 = %d, %v, %v; want %d, true, nil", got, killed, err, pid)
	}
	if took := time.Since(begin); took > daemon.DefaultStopTimeout/2 {
		t.Errorf("Stop with 0 took %v: it waited instead of killing", took)
	}
	if _, err := daemon.Status(cfg); !errors.Is(err, daemon.ErrNotRunning) {
		t.Errorf("Status after Stop = %v, want ErrNotRunning", err)
	}
}
