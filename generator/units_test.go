package generator

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	hostile := NewOptions("hostile")
	hostile.WorkDir = `/var/lib/my "odd" dir%n`
	hostile.Listen = []string{"127.0.0.1:8080", "[::1]:8080", "/run/hostile%i.sock"}
	cases := []struct {
		name string
		opts Options
	}{{"hostile", hostile}}
	for _, gc := range goldenCases {
		cases = append(cases, struct {
			name string
			opts Options
		}{gc.name, gc.opts})
	}
	for _, tc := range cases {
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
