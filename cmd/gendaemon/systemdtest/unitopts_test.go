//go:build linux

package systemdtest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gendaemon/gendaemon/generator"
)

// labGreeting is an environment variable of labopts's manifest whose value
// needs quoting and escaping in the unit.
const labGreeting = `LAB_GREETING=hello, "world" \ 100%n`

// unitOptions are the options of labopts: unit settings other than the
// defaults, as gendaemon.yaml would set them.
func unitOptions() generator.Options {
	o := generator.NewOptions("labopts")
	o.DynamicUser = true
	o.StateDirectory = []string{"labopts"}
	o.Environment = []string{labGreeting}
	o.Watchdog = "3s"
	o.RestartSec = "1s"
	o.TimeoutStop = "20s"
	o.LimitNOFILE = "4096:8192"
	o.Capabilities = []string{"CAP_NET_BIND_SERVICE"}
	o.UnitExtra = []string{"StartLimitBurst=7", "LimitCORE=0"}
	o.PrivateNetwork = true
	return o
}

// testUnitSettings installs labopts and checks that systemd applied the
// settings of its manifest, as systemctl show and /proc report them: a
// dynamic user that owns its state directory, the environment, the
// watchdog, the limits, the ambient capability and a network namespace of
// its own. A drop-in still
// overrides a setting of the unit.
func testUnitSettings(t *testing.T, c *container, p project) {
	if out, code := c.install(p).wait(t); code != 0 {
		t.Fatalf("installing %s: exit %d\n%s", p.opts.Name, code, out)
	}
	c.wantState(p.unit(), "active", "running")
	want := map[string]string{
		"DynamicUser":     "yes",
		"User":            "labopts",
		"StateDirectory":  "labopts",
		"Environment":     `"LAB_GREETING=hello, \"world\" \\ 100%n"`,
		"WatchdogUSec":    "3s",
		"RestartUSec":     "1s",
		"TimeoutStopUSec": "20s",
		"LimitNOFILE":     "8192",
		"LimitNOFILESoft": "4096",
		"LimitCORE":       "0",
		"StartLimitBurst": "7",
		"PrivateNetwork":  "yes",
	}
	props := make([]string, 0, len(want))
	for k := range want {
		props = append(props, k)
	}
	s := c.show(p.unit(), props...)
	for k, v := range want {
		if s[k] != v {
			t.Errorf("systemctl show %s: %s=%s, want %s", p.unit(), k, s[k], v)
		}
	}

	status := c.procStatus(p.unit())
	uid := strings.Fields(status["Uid"])
	if len(uid) == 0 || uid[0] == "0" {
		t.Fatalf("/proc/PID/status Uid: %q, want a dynamic user's, not root", status["Uid"])
	}
	for field, want := range map[string]string{"CapAmb": "0000000000000400", "CapBnd": "0000000000000400", "NoNewPrivs": "1", "Seccomp": "2"} {
		if status[field] != want {
			t.Errorf("/proc/PID/status %s: %q, want %q", field, status[field], want)
		}
	}
	pid := c.show(p.unit(), "MainPID")["MainPID"]
	env := strings.Split(c.must("cat", "/proc/"+pid+"/environ"), "\x00")
	for _, v := range []string{labGreeting, "STATE_DIRECTORY=/var/lib/labopts"} {
		if !contains(env, v) {
			t.Errorf("the daemon's environment lacks %q: %q", v, env)
		}
	}
	if owner := strings.TrimSpace(c.must("stat", "-L", "-c", "%u", "/var/lib/labopts")); owner != uid[0] {
		t.Errorf("/var/lib/labopts is owned by uid %s, want the daemon's, %s", owner, uid[0])
	}
	// systemd starts the daemon with the soft limit 4096 (LimitNOFILESoft
	// above); Go raises its own soft limit towards the hard one at start.
	limits := c.must("cat", "/proc/"+pid+"/limits")
	var soft, hard int
	for _, line := range strings.Split(limits, "\n") {
		if f := strings.Fields(line); len(f) >= 5 && strings.Join(f[:3], " ") == "Max open files" {
			soft, hard = mustAtoi(t, f[3]), mustAtoi(t, f[4])
		}
	}
	if hard != 8192 || soft < 4096 {
		t.Errorf("/proc/PID/limits: open files soft %d, hard %d; want hard 8192, soft at least 4096:\n%s", soft, hard, limits)
	}

	// PrivateNetwork=yes: the daemon has a network namespace of its own.
	if own, init := c.must("readlink", "/proc/"+pid+"/ns/net"), c.must("readlink", "/proc/1/ns/net"); own == init {
		t.Errorf("the daemon shares the network namespace of PID 1 (%s), want its own", strings.TrimSpace(own))
	}

	// Keep-alives reach systemd at the manifest's interval.
	var stamps []string
	c.waitFor(p.unit(), "two keep-alives", func(s map[string]string) bool {
		if v := s["WatchdogTimestampMonotonic"]; v != "0" && (len(stamps) == 0 || v != stamps[len(stamps)-1]) {
			stamps = append(stamps, v)
		}
		return len(stamps) >= 2
	}, "WatchdogTimestampMonotonic")

	// A drop-in (systemctl edit) overrides the unit's setting, and removing
	// it restores the manifest's.
	c.dropIn(p, "RestartSec=2s")
	if got := c.show(p.unit(), "RestartUSec")["RestartUSec"]; got != "2s" {
		t.Errorf("with a drop-in RestartSec=2s: RestartUSec=%s, want 2s", got)
	}
	c.must("rm", "/etc/systemd/system/"+p.unit()+".d/lab.conf")
	c.must("systemctl", "daemon-reload")
	if got := c.show(p.unit(), "RestartUSec")["RestartUSec"]; got != "1s" {
		t.Errorf("without the drop-in: RestartUSec=%s, want 1s", got)
	}
	if n := mustAtoi(t, c.show(p.unit(), "NRestarts")["NRestarts"]); n != 0 {
		t.Errorf("labopts restarted %s times, want 0", strconv.Itoa(n))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// relaxedOptions are those of labrelax: the relaxed sandbox, and a user
// that systemd switches to (User=) before the daemon's own switch, which
// then has nothing left to do.
func relaxedOptions() generator.Options {
	o := generator.NewOptions("labrelax")
	o.Sandbox = "relaxed"
	o.User = "daemon"
	return o
}

// testRelaxed installs labrelax: it runs as the user daemon (uid 1 on
// Debian), without the system call allow-list, W^X memory, private /dev and
// socket family restrictions of the strict sandbox, but still without
// capabilities or new privileges. The daemon's own switch to the user is a
// no-op: it already runs as that user.
func testRelaxed(t *testing.T, c *container, p project) {
	if out, code := c.install(p).wait(t); code != 0 {
		t.Fatalf("installing %s: exit %d\n%s", p.opts.Name, code, out)
	}
	c.wantState(p.unit(), "active", "running")
	status := c.procStatus(p.unit())
	for field, want := range map[string]string{
		"Uid": "1\t1\t1\t1", "Gid": "1\t1\t1\t1", "CapBnd": "0000000000000000", "CapEff": "0000000000000000",
		"NoNewPrivs": "1",
	} {
		if status[field] != want {
			t.Errorf("/proc/PID/status %s: %q, want %q", field, status[field], want)
		}
	}
	// ProtectKernelModules= and the like still deny a few system calls,
	// but there is no allow-list (a SystemCallFilter= without "~").
	s := c.show(p.unit(), "ProtectSystem", "SystemCallFilter", "MemoryDenyWriteExecute", "PrivateDevices", "RestrictAddressFamilies")
	if s["ProtectSystem"] != "full" || !strings.HasPrefix(s["SystemCallFilter"], "~") || s["MemoryDenyWriteExecute"] != "no" ||
		s["PrivateDevices"] != "no" || s["RestrictAddressFamilies"] != "~" {
		t.Errorf("%s: %v, want ProtectSystem=full, a SystemCallFilter= that only denies, no MemoryDenyWriteExecute= or PrivateDevices=, every address family (~)", p.unit(), s)
	}
}
