package generator

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

func TestUnitWord(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "/var/lib/x", "/var/lib/x"},
		{"specifier", "/var/lib/100%", "/var/lib/100%%"},
		{"space", "/var/lib/my dir", `"/var/lib/my dir"`},
		{"quote and backslash", `/a"b\c`, `"/a\"b\\c"`},
	} {
		if got := unitWord(tc.in); got != tc.want {
			t.Errorf("%s: unitWord(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// unitCases are the options whose units the tests check: every golden case
// and hostile options, whose working directory holds quotes, a backslash,
// white space and a specifier.
func unitCases() []struct {
	name string
	opts Options
} {
	hostile := NewOptions("hostile")
	hostile.WorkDir = `/var/lib/my "odd" \dir%n`
	hostile.Listen = []string{"127.0.0.1:8080", "[::1]:8080", "/run/hostile%i.sock"}
	groupOnly := NewOptions("grouponly")
	groupOnly.Group = "daemon"
	groupOnly.Capabilities = []string{"CAP_NET_BIND_SERVICE"}
	allCaps := NewOptions("allcaps")
	allCaps.Capabilities, allCaps.AddressFamilies = capabilityNames, addressFamilies
	relaxed := unitSettingsOptions()
	relaxed.Name, relaxed.Module, relaxed.Sandbox, relaxed.AddressFamilies = "relaxed", "relaxed", "relaxed", nil
	none := NewOptions("none")
	none.Sandbox, none.User, none.Capabilities = "none", "daemon", []string{"CAP_NET_BIND_SERVICE"}
	dynamic := NewOptions("dynamic")
	dynamic.DynamicUser, dynamic.StateDirectory = true, []string{"dynamic"}
	cases := []struct {
		name string
		opts Options
	}{
		{"hostile", hostile}, {"group only", groupOnly}, {"all capabilities and families", allCaps},
		{"relaxed", relaxed}, {"no sandbox", none}, {"dynamic user", dynamic},
	}
	for _, gc := range goldenCases {
		cases = append(cases, struct {
			name string
			opts Options
		}{gc.name, gc.opts})
	}
	return cases
}

// A unitSetting is one KEY=VALUE line of a unit file, as systemd reads it.
type unitSetting struct {
	line       int
	key, value string
}

// parseUnit reads a unit file the way systemd does, but strictly: every
// line is empty, a comment, a [Section] header or KEY=VALUE, and no line
// ends in a backslash (which would join it with the next). The values are
// as written: parseUnit reports white space that systemd would strip.
func parseUnit(data []byte) ([]unitSetting, error) {
	text, ok := strings.CutSuffix(string(data), "\n")
	if !ok {
		return nil, fmt.Errorf("the file does not end in a newline")
	}
	var settings []unitSetting
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		switch {
		case strings.HasSuffix(line, `\`):
			return nil, fmt.Errorf("line %d %q: ends in a backslash, so systemd joins it with the next", n, line)
		case line == "", strings.HasPrefix(line, "#"), strings.HasPrefix(line, ";"):
			continue
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || !isUnitKey(key) {
			return nil, fmt.Errorf("line %d %q: want KEY=VALUE", n, line)
		}
		if strings.TrimSpace(value) != value {
			return nil, fmt.Errorf("line %d %q: systemd strips the white space around the value", n, line)
		}
		settings = append(settings, unitSetting{line: n, key: key, value: value})
	}
	return settings, nil
}

// isUnitKey reports whether key is a setting's name: letters and digits,
// starting with a letter.
func isUnitKey(key string) bool {
	if key == "" || !unicode.IsLetter(rune(key[0])) {
		return false
	}
	for _, c := range []byte(key) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// TestUnitsParse reads every rendered unit back: each line is a comment, a
// section or KEY=VALUE, and the settings that carry options hold exactly
// their escaped values.
func TestUnitsParse(t *testing.T) {
	for _, tc := range unitCases() {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Render(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var units int
			for _, f := range files {
				if !strings.HasSuffix(f.Path, ".service") && !strings.HasSuffix(f.Path, ".socket") {
					continue
				}
				units++
				settings, err := parseUnit(f.Data)
				if err != nil {
					t.Fatalf("%s: %v", f.Path, err)
				}
				values := map[string][]string{}
				for _, s := range settings {
					values[s.key] = append(values[s.key], s.value)
				}
				if strings.HasSuffix(f.Path, ".socket") {
					var want []string
					for _, addr := range tc.opts.Listen {
						want = append(want, unitValue(addr))
					}
					if got := values["ListenStream"]; !slices.Equal(got, want) {
						t.Errorf("%s: ListenStream= values %q, want %q", f.Path, got, want)
					}
					continue
				}
				if got, want := values["WorkingDirectory"], []string{unitValue(tc.opts.WorkDir)}; !slices.Equal(got, want) {
					t.Errorf("%s: WorkingDirectory= values %q, want %q", f.Path, got, want)
				}
				var env []string
				for _, v := range values["Environment"] {
					a, err := unquoteUnitWord(v)
					if err != nil {
						t.Errorf("%s: Environment=%s: %v", f.Path, v, err)
					}
					env = append(env, a)
				}
				if !slices.Equal(env, tc.opts.Environment) {
					t.Errorf("%s: Environment= reads back as %q, want %q", f.Path, env, tc.opts.Environment)
				}
				var store []string
				if tc.opts.FDStore {
					store = []string{strconv.Itoa(FDStoreMax)}
				}
				if got := values["FileDescriptorStoreMax"]; !slices.Equal(got, store) {
					t.Errorf("%s: FileDescriptorStoreMax= values %q with fdstore %v, want %q", f.Path, got, tc.opts.FDStore, store)
				}
			}
			if want := 1 + min(len(tc.opts.Listen), 1); units != want {
				t.Errorf("rendered %d units, want %d", units, want)
			}
		})
	}
}

// TestUnitsSandbox checks the settings of the service unit that depend on
// the options: a daemon that switches to its group itself, as root, keeps
// CAP_SETGID and setgroups(2); any other has no capability left. Every
// unit keeps systemd from restarting a daemon whose Init failed (exit
// status 78). The integration test in cmd/gendaemon/systemdtest runs the
// daemons under these units and rates them with systemd-analyze security.
func TestUnitsSandbox(t *testing.T) {
	for _, tc := range unitCases() {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Render(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(files, func(f File) bool { return f.Path == tc.opts.Name+".service" })
			if i < 0 {
				t.Fatalf("no %s.service rendered", tc.opts.Name)
			}
			settings, err := parseUnit(files[i].Data)
			if err != nil {
				t.Fatal(err)
			}
			values := map[string][]string{}
			for _, s := range settings {
				values[s.key] = append(values[s.key], s.value)
			}
			caps, filter := tc.opts.Capabilities, []string{"@system-service", "~@privileged"}
			if tc.opts.Group != "" && tc.opts.User == "" {
				caps, filter = append([]string{"CAP_SETGID"}, caps...), append(filter, "setgroups")
			}
			want := map[string][]string{
				"CapabilityBoundingSet":    {strings.Join(caps, " ")},
				"SystemCallFilter":         filter,
				"SystemCallErrorNumber":    {"EPERM"},
				"NoNewPrivileges":          {"yes"},
				"RestrictAddressFamilies":  {strings.Join(append([]string{"AF_UNIX", "AF_INET", "AF_INET6"}, tc.opts.AddressFamilies...), " ")},
				"ProtectSystem":            {"strict"},
				"RestartPreventExitStatus": {"78"},
				"Restart":                  {tc.opts.Restart},
				"AmbientCapabilities":      nil,
			}
			if len(tc.opts.Capabilities) > 0 {
				want["AmbientCapabilities"] = []string{strings.Join(tc.opts.Capabilities, " ")}
			}
			switch tc.opts.Sandbox {
			case "relaxed":
				want["ProtectSystem"] = []string{"full"}
				want["SystemCallFilter"], want["SystemCallErrorNumber"], want["RestrictAddressFamilies"] = nil, nil, nil
			case "none":
				for _, key := range []string{"CapabilityBoundingSet", "SystemCallFilter", "SystemCallErrorNumber", "NoNewPrivileges", "RestrictAddressFamilies", "ProtectSystem"} {
					want[key] = nil
				}
			}
			for key, want := range want {
				if got := values[key]; !slices.Equal(got, want) {
					t.Errorf("%s= values %q, want %q", key, got, want)
				}
			}
		})
	}
}

// unquoteUnitWord reads one double-quoted word of a unit setting as
// systemd does (extract_first_word with C escapes and specifiers): the
// inverse of unitQuoted.
func unquoteUnitWord(w string) (string, error) {
	if len(w) < 2 || w[0] != '"' || w[len(w)-1] != '"' {
		return "", fmt.Errorf("%s is not a double-quoted word", w)
	}
	inner := w[1 : len(w)-1]
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		switch c := inner[i]; {
		case c == '\\' && i+1 < len(inner) && (inner[i+1] == '\\' || inner[i+1] == '"'):
			b.WriteByte(inner[i+1])
			i++
		case c == '%' && i+1 < len(inner) && inner[i+1] == '%':
			b.WriteByte('%')
			i++
		case c == '\\' || c == '%' || c == '"':
			return "", fmt.Errorf("%s: unescaped %q at %d", w, c, i)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func TestParseUnitRejects(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"continuation", "[Service]\nWorkingDirectory=/var/lib/x\\\nUser=daemon\n"},
		{"stray line", "[Service]\n/var/lib/x\n"},
		{"trailing space", "[Service]\nWorkingDirectory=/x \n"},
		{"no final newline", "[Service]"},
	} {
		if _, err := parseUnit([]byte(tc.in)); err == nil {
			t.Errorf("%s: parseUnit(%q) = nil error, want one", tc.name, tc.in)
		}
	}
}

// TestUnitsVerify runs systemd-analyze verify on the units of every golden
// case and of hostile options. verify reads the units as systemd would, and
// checks that the programs they run exist, so it runs in a scratch root
// holding the system's units, the binary and kill(1). Any word from it
// fails the test: it reports unknown settings as warnings, not errors.
func TestUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing; .ci/run installs Debian's systemd package")
		}
		t.Skip("systemd-analyze not installed (Debian package systemd)")
	}
	for _, tc := range unitCases() {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Render(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			root := scratchRoot(t, tc.opts.Name)
			var units []string
			for _, f := range files {
				if strings.HasSuffix(f.Path, ".service") || strings.HasSuffix(f.Path, ".socket") {
					p := filepath.Join(root, "etc/systemd/system", f.Path)
					if err := os.WriteFile(p, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					units = append(units, p)
				}
			}
			if want := 1 + min(len(tc.opts.Listen), 1); len(units) != want {
				t.Fatalf("rendered %d units, want %d", len(units), want)
			}
			cmd := exec.Command(analyze, append([]string{"--root=" + root, "--man=no", "verify"}, units...)...)
			out, err := cmd.CombinedOutput()
			if err != nil || len(out) > 0 {
				t.Errorf("systemd-analyze verify: %v\n%s", err, out)
			}
		})
	}
}

// scratchRoot makes a root directory for systemd-analyze --root: the
// system's units, kill(1), and a stand-in for the daemon's binary.
func scratchRoot(t *testing.T, name string) string {
	t.Helper()
	root := t.TempDir()
	for _, dir := range []string{"usr/bin", "usr/local/bin", "usr/lib/systemd", "etc/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"bin": "usr/bin", "lib": "usr/lib", "sbin": "usr/bin"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.CopyFS(filepath.Join(root, "usr/lib/systemd/system"), os.DirFS("/usr/lib/systemd/system")); err != nil {
		t.Fatal(err)
	}
	kill, err := os.ReadFile("/usr/bin/kill")
	if err != nil {
		t.Fatal(err)
	}
	for p, data := range map[string][]byte{"usr/bin/kill": kill, "usr/local/bin/" + name: []byte("#!/bin/sh\n")} {
		if err := os.WriteFile(filepath.Join(root, p), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// unitSettingsOptions are those of a daemon that sets every unit setting
// but the sandbox level and DynamicUser, with values that need escaping.
func unitSettingsOptions() Options {
	o := NewOptions("unitopts")
	o.Module = "example.com/acme/unitopts"
	o.User = "daemon"
	o.UnitSettings = UnitSettings{
		Restart:          "always",
		RestartSec:       "5s",
		TimeoutStart:     "infinity",
		TimeoutStop:      "1min 30s",
		Watchdog:         "30s",
		LimitNOFILE:      "4096:524288",
		Environment:      []string{"GREETING=hello, world", `ODD="quoted" \back %n $HOME 'single'`},
		EnvironmentFile:  []string{"-/etc/default/unitopts", "/etc/unitopts/100%.env"},
		StateDirectory:   []string{"unitopts", "unitopts/cache"},
		LogsDirectory:    []string{"unitopts"},
		RuntimeDirectory: []string{"unitopts"},
		Sandbox:          "strict",
		Capabilities:     []string{"CAP_NET_BIND_SERVICE"},
		AddressFamilies:  []string{"AF_NETLINK"},
		PrivateNetwork:   true,
		FDStore:          true,
		UnitExtra:        []string{"StartLimitBurst=10", "LimitCORE=0", "Alias=unitopts-alias.service"},
	}
	return o
}
