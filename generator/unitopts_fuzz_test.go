package generator

import (
	"errors"
	"regexp"
	"slices"
	"testing"
)

// loneSpecifier matches a "%" that is not part of "%%": a systemd specifier.
var loneSpecifier = regexp.MustCompile(`(^|[^%])(%%)*%([^%]|$)`)

// FuzzUnitSettings feeds arbitrary unit settings to Validate and Render.
// Whatever Validate accepts must render a service unit that parseUnit reads
// back line by line, with exactly one setting per environment assignment
// and extra line, the assignments read back as systemd unquotes them, and
// no specifier in any value.
func FuzzUnitSettings(f *testing.F) {
	f.Add("5s", "A=1", "LimitCORE=0", "x", "/etc/x", "30s", "1024")
	f.Add("1min 30s", `A="q" \ %n`, "Description=x", "x/y", "-/etc/%x", "", "infinity")
	f.Add("5\n", "A=x\nB=y", "LimitCORE=0\nUser=root", "../x", "/x\\", "%n", "1:2")
	f.Fuzz(func(t *testing.T, span, env, extra, dir, envFile, watchdog, limit string) {
		o := NewOptions("fuzzd")
		o.RestartSec, o.TimeoutStop, o.Watchdog, o.LimitNOFILE = span, span, watchdog, limit
		o.Environment, o.UnitExtra = []string{env}, []string{extra}
		o.StateDirectory, o.EnvironmentFile = []string{dir}, []string{envFile}
		files, err := Render(o)
		if err != nil {
			if !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("Render rejected %+v with %v, which does not wrap ErrInvalidOption", o.UnitSettings, err)
			}
			return
		}
		i := slices.IndexFunc(files, func(f File) bool { return f.Path == "fuzzd.service" })
		settings, err := parseUnit(files[i].Data)
		if err != nil {
			t.Fatalf("fuzzd.service for %+v: %v", o.UnitSettings, err)
		}
		var envs, extras int
		for _, s := range settings {
			if loneSpecifier.MatchString(s.value) {
				t.Errorf("line %d %s=%s: a systemd specifier, for %+v", s.line, s.key, s.value, o.UnitSettings)
			}
			if s.key+"="+s.value == extra {
				extras++
			}
			if s.key == "Environment" {
				envs++
				if got, err := unquoteUnitWord(s.value); err != nil || got != env {
					t.Errorf("Environment=%s reads back as %q, %v; want %q", s.value, got, err, env)
				}
			}
		}
		if envs != 1 || extras != 1 {
			t.Errorf("%d Environment= and %d %q lines, want 1 each, for %+v", envs, extras, extra, o.UnitSettings)
		}
	})
}
