//go:build linux

package daemon_test

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// initChildEnv makes the test binary's package initialisation start a
// process in every stage of a start, before the runtime's code runs, as a
// library's init() might.
const initChildEnv = "DAEMONTEST_INIT_CHILD"

func init() {
	if os.Getenv(initChildEnv) != "" && daemon.Reexecuted() {
		exec.Command("sleep", "1000").Start()
	}
}

// TestInitFunctionStartsProcess starts a daemon whose package
// initialisation starts a process, which inherits the start's descriptors:
// start must still return as soon as the daemon is ready, not kill it at
// the start timeout.
func TestInitFunctionStartsProcess(t *testing.T) {
	h := newHarness(t)
	h.config["StartTimeout"] = "5s"
	token := "DAEMONTEST_TOKEN=" + strconv.Itoa(os.Getpid()) + "-" + t.Name()
	t.Cleanup(func() {
		for _, pid := range processesWithEnv(token) {
			endProcess(t, pid)
		}
	})
	begin := time.Now()
	out, err := h.refusedStart2(initChildEnv+"=1", token)
	if err != nil || !strings.Contains(out, "started ") {
		t.Fatalf("start: %v\n%s\nwant the daemon started", err, out)
	}
	pid := h.startedPID(out)
	if took := time.Since(begin); took > 4*time.Second {
		t.Errorf("start took %v: it waited for the init() child", took)
	}
	h.waitEvent("init")
	if got, err := daemon.Status(h.daemonConfig()); err != nil || got != pid {
		t.Errorf("Status = %d, %v; want %d, nil", got, err, pid)
	}
	if strays := processesWithEnv(token); len(strays) < 3 {
		t.Errorf("processes with the token: %v; want the daemon and the init() children of both stages: the test proved nothing", strays)
	}
}
