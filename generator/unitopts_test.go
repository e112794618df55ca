package generator

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestUnitSettingsValidate sets one unit setting at a time in the defaults
// and checks that Validate accepts it or refuses it with ErrInvalidOption.
func TestUnitSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Options)
		ok   bool
	}{
		{"defaults", func(*Options) {}, true},
		{"restart always", func(o *Options) { o.Restart = "always" }, true},
		{"restart empty", func(o *Options) { o.Restart = "" }, false},
		{"restart unknown", func(o *Options) { o.Restart = "sometimes" }, false},
		{"restart_sec ms", func(o *Options) { o.RestartSec = "100ms" }, true},
		{"restart_sec bare seconds", func(o *Options) { o.RestartSec = "5" }, true},
		{"restart_sec several units", func(o *Options) { o.RestartSec = "1min 30s" }, true},
		{"restart_sec fraction", func(o *Options) { o.RestartSec = "1.5s" }, true},
		{"restart_sec infinity", func(o *Options) { o.RestartSec = "infinity" }, false},
		{"restart_sec unknown unit", func(o *Options) { o.RestartSec = "5 fortnights" }, false},
		{"restart_sec negative", func(o *Options) { o.RestartSec = "-5s" }, false},
		{"restart_sec newline", func(o *Options) { o.RestartSec = "5s\nUser=root" }, false},
		{"restart_sec specifier", func(o *Options) { o.RestartSec = "%n" }, false},
		{"timeout_start infinity", func(o *Options) { o.TimeoutStart = "infinity" }, true},
		{"timeout_stop hours", func(o *Options) { o.TimeoutStop = "2h" }, true},
		{"timeout_stop trailing space", func(o *Options) { o.TimeoutStop = "2h " }, false},
		{"watchdog", func(o *Options) { o.Watchdog = "30s" }, true},
		{"watchdog infinity", func(o *Options) { o.Watchdog = "infinity" }, false},
		{"limit_nofile number", func(o *Options) { o.LimitNOFILE = "65536" }, true},
		{"limit_nofile infinity", func(o *Options) { o.LimitNOFILE = "infinity" }, true},
		{"limit_nofile pair", func(o *Options) { o.LimitNOFILE = "1024:524288" }, true},
		{"limit_nofile soft above hard", func(o *Options) { o.LimitNOFILE = "4096:1024" }, false},
		{"limit_nofile too few", func(o *Options) { o.LimitNOFILE = "2" }, false},
		{"limit_nofile too many", func(o *Options) { o.LimitNOFILE = "2000000000" }, false},
		{"limit_nofile leading zero", func(o *Options) { o.LimitNOFILE = "01024" }, false},
		{"limit_nofile word", func(o *Options) { o.LimitNOFILE = "lots" }, false},
		{"environment", func(o *Options) { o.Environment = []string{"A=1", "B_2=two words", `C="q" \ %n $X`, "D="} }, true},
		{"environment no value", func(o *Options) { o.Environment = []string{"A"} }, false},
		{"environment bad name", func(o *Options) { o.Environment = []string{"1A=x"} }, false},
		{"environment name with dash", func(o *Options) { o.Environment = []string{"A-B=x"} }, false},
		{"environment newline", func(o *Options) { o.Environment = []string{"A=x\nUser=root"} }, false},
		{"environment tab", func(o *Options) { o.Environment = []string{"A=x\ty"} }, false},
		{"environment twice", func(o *Options) { o.Environment = []string{"A=1", "A=2"} }, false},
		{"environment notify socket", func(o *Options) { o.Environment = []string{"NOTIFY_SOCKET=/x"} }, false},
		{"environment listen fds", func(o *Options) { o.Environment = []string{"LISTEN_FDS=3"} }, false},
		{"environment invalid utf-8", func(o *Options) { o.Environment = []string{"A=\xff"} }, false},
		{"environment_file", func(o *Options) { o.EnvironmentFile = []string{"/etc/default/x", "-/etc/x.env"} }, true},
		{"environment_file relative", func(o *Options) { o.EnvironmentFile = []string{"etc/x"} }, false},
		{"environment_file backslash", func(o *Options) { o.EnvironmentFile = []string{`/etc/x\`} }, false},
		{"dynamic_user", func(o *Options) { o.DynamicUser = true }, true},
		{"dynamic_user with user", func(o *Options) { o.DynamicUser, o.User = true, "nobody" }, false},
		{"dynamic_user with group", func(o *Options) { o.DynamicUser, o.Group = true, "nogroup" }, false},
		{"state_directory", func(o *Options) { o.StateDirectory = []string{"x", "x/data", "x.d_-1"} }, true},
		{"state_directory absolute", func(o *Options) { o.StateDirectory = []string{"/var/lib/x"} }, false},
		{"state_directory dotdot", func(o *Options) { o.StateDirectory = []string{"x/../y"} }, false},
		{"logs_directory dot", func(o *Options) { o.LogsDirectory = []string{"./x"} }, false},
		{"logs_directory space", func(o *Options) { o.LogsDirectory = []string{"my logs"} }, false},
		{"runtime_directory trailing slash", func(o *Options) { o.RuntimeDirectory = []string{"x/"} }, false},
		{"runtime_directory twice", func(o *Options) { o.RuntimeDirectory = []string{"x", "x"} }, false},
		{"runtime_directory specifier", func(o *Options) { o.RuntimeDirectory = []string{"%n"} }, false},
		{"sandbox relaxed", func(o *Options) { o.Sandbox = "relaxed" }, true},
		{"sandbox none", func(o *Options) { o.Sandbox = "none" }, true},
		{"sandbox unknown", func(o *Options) { o.Sandbox = "paranoid" }, false},
		{"capabilities", func(o *Options) { o.Capabilities = []string{"CAP_NET_BIND_SERVICE", "CAP_NET_RAW"} }, true},
		{"capabilities lowercase", func(o *Options) { o.Capabilities = []string{"cap_net_raw"} }, false},
		{"capabilities twice", func(o *Options) { o.Capabilities = []string{"CAP_NET_RAW", "CAP_NET_RAW"} }, false},
		{"address_families", func(o *Options) { o.AddressFamilies = []string{"AF_NETLINK", "AF_PACKET"} }, true},
		{"address_families unknown", func(o *Options) { o.AddressFamilies = []string{"AF_FOO"} }, false},
		{"address_families always allowed", func(o *Options) { o.AddressFamilies = []string{"AF_INET"} }, false},
		{"address_families relaxed", func(o *Options) { o.AddressFamilies, o.Sandbox = []string{"AF_NETLINK"}, "relaxed" }, false},
		{"private_network", func(o *Options) { o.PrivateNetwork = true }, true},
		{"fdstore", func(o *Options) { o.FDStore = true }, true},
		{"fdstore with its own FileDescriptorStoreMax", func(o *Options) { o.FDStore, o.UnitExtra = true, []string{"FileDescriptorStoreMax=4"} }, false},
		{"FileDescriptorStoreMax without fdstore", func(o *Options) { o.UnitExtra = []string{"FileDescriptorStoreMax=4"} }, true},
		{"unit_extra", func(o *Options) { o.UnitExtra = []string{"LimitCORE=0", "StartLimitBurst=10", "Alias=x.service"} }, true},
		{"unit_extra no value", func(o *Options) { o.UnitExtra = []string{"LimitCORE"} }, false},
		{"unit_extra unknown key", func(o *Options) { o.UnitExtra = []string{"LimitCores=0"} }, false},
		{"unit_extra socket key", func(o *Options) { o.UnitExtra = []string{"ListenStream=80"} }, false},
		{"unit_extra newline", func(o *Options) { o.UnitExtra = []string{"LimitCORE=0\nUser=root"} }, false},
		{"unit_extra continuation", func(o *Options) { o.UnitExtra = []string{`LimitCORE=0\`} }, false},
		{"unit_extra specifier", func(o *Options) { o.UnitExtra = []string{"Description=%n"} }, false},
		{"unit_extra space around value", func(o *Options) { o.UnitExtra = []string{"LimitCORE= 0"} }, false},
		{"unit_extra owned by an option", func(o *Options) { o.UnitExtra = []string{"RestartSec=5"} }, false},
		{"unit_extra owned by gendaemon", func(o *Options) { o.UnitExtra = []string{"ExecStart=/bin/sh"} }, false},
		{"unit_extra section header", func(o *Options) { o.UnitExtra = []string{"[Service]"} }, false},
	} {
		opts := NewOptions("myservice")
		tc.set(&opts)
		err := opts.Validate()
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: Validate(%+v) = %v, want ok %v", tc.name, opts.UnitSettings, err, tc.ok)
		}
	}
}

// TestTimeSpansMatchSystemd checks time spans with systemd's own parser:
// systemd-analyze timespan accepts each that checkTimeSpan accepts, and
// refuses each of the others (overflows, exponents, a fraction without
// digits), which checkTimeSpan must refuse too.
func TestTimeSpansMatchSystemd(t *testing.T) {
	analyze := lookAnalyze(t)
	for _, tc := range []struct {
		span string
		ok   bool
	}{
		{"5", true}, {"0", true}, {"0.5", true}, {"100ms", true}, {"1.5s", true}, {"1min 30s", true},
		{"2h", true}, {"1d", true}, {"10us", true}, {"1µs", true}, {"3 min", true}, {"1w 2d", true},
		{"500msec", true}, {"90seconds", true}, {"1y", true}, {"1 2", true}, {"5s5ms", true}, {"5 min 3 s", true},
		{"99999999999999999999s", false}, {"18446744073709551615us", false}, {"600000y", false},
		{"1e3s", false}, {"1.s", false}, {"5 fortnights", false}, {"-5s", false}, {"s", false},
	} {
		err := checkTimeSpan("restart_sec", tc.span, false)
		if (err == nil) != tc.ok {
			t.Errorf("checkTimeSpan(%q) = %v, want ok %v", tc.span, err, tc.ok)
		}
		out, err := exec.Command(analyze, "timespan", tc.span).CombinedOutput()
		if (err == nil) != tc.ok {
			t.Errorf("systemd-analyze timespan %q: %v, want ok %v\n%s", tc.span, err, tc.ok, out)
		}
	}
}

// TestUnitKeysMatchSystemd compares unitKeys with the settings that the
// installed systemd lists for the [Unit], [Service] and [Install] sections.
func TestUnitKeysMatchSystemd(t *testing.T) {
	lookAnalyze(t)
	out, err := exec.Command("/lib/systemd/systemd", "--dump-configuration-items").Output()
	if err != nil {
		t.Fatalf("systemd --dump-configuration-items: %v", err)
	}
	got := map[string]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if s, ok := strings.CutPrefix(line, "["); ok {
			section = strings.TrimSuffix(s, "]")
			continue
		}
		key, _, _ := strings.Cut(line, "=")
		if _, seen := got[key]; !seen && slices.Contains([]string{"Unit", "Service", "Install"}, section) {
			got[key] = section
		}
	}
	for key, section := range got {
		if unitKeys[key] != section {
			t.Errorf("systemd has %s= in [%s]; unitKeys: %q", key, section, unitKeys[key])
		}
	}
	for key, section := range unitKeys {
		if got[key] != section {
			t.Errorf("unitKeys has %s= in [%s]; systemd: %q", key, section, got[key])
		}
	}
}

// lookAnalyze returns the path of systemd-analyze, which CI installs.
func lookAnalyze(t *testing.T) string {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing; .ci/run installs Debian's systemd package")
		}
		t.Skip("systemd-analyze not installed (Debian package systemd)")
	}
	return analyze
}

// TestUnitQuoted checks the quoting of one word of Environment=.
func TestUnitQuoted(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"A=1", `"A=1"`},
		{"A=two words", `"A=two words"`},
		{`A="q"`, `"A=\"q\""`},
		{`A=back\slash\`, `"A=back\\slash\\"`},
		{"A=100%n", `"A=100%%n"`},
		{"A='single'", `"A='single'"`},
	} {
		if got := unitQuoted(tc.in); got != tc.want {
			t.Errorf("unitQuoted(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
