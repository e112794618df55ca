//go:build linux || freebsd

package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// rcdPlan is the plan for installing the daemon under FreeBSD's rc.d: its
// script, NAME.rc built into the program, as /usr/local/etc/rc.d/NAME
// (mode 0555), enabled with sysrc NAME_enable=YES, started with service
// NAME start (--now), or restarted if it ran a build that install
// replaced. uninstall stops it, removes NAME_enable from rc.conf, and the
// script and the binary. root prefixes every path, for tests.
func rcdPlan(cfg Config, opts installOptions, root string) (*servicePlan, error) {
	if opts.user {
		return nil, errors.New("install --user is for systemd; rc.d has no services of a user")
	}
	if cfg.ServiceFiles == nil {
		return nil, errors.New("this program was built without its service definitions (Config.ServiceFiles)")
	}
	script, err := fs.ReadFile(cfg.ServiceFiles, cfg.Name+".rc")
	if err != nil {
		return nil, fmt.Errorf("reading the built-in %s.rc: %w", cfg.Name, err)
	}
	rcvar, program := shellAssignment(script, "rcvar"), shellAssignment(script, "command")
	if rcvar == "" || strings.ContainsFunc(rcvar, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_')
	}) {
		return nil, fmt.Errorf("the built-in %s.rc sets rcvar=%q, not a shell name", cfg.Name, rcvar)
	}
	if !path.IsAbs(program) || path.Clean(program) != program || path.Base(program) != cfg.Name {
		return nil, fmt.Errorf("the built-in %s.rc runs %q, not a program called %s at an absolute path", cfg.Name, program, cfg.Name)
	}
	if _, err := os.Stat(root + "/etc/rc.subr"); err != nil {
		return nil, fmt.Errorf("%w: rc.d's /etc/rc.subr is missing", errNoServiceManager)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("installing an rc.d service needs root: %w", fs.ErrPermission)
	}
	service := func(verb string) []string { return []string{"service", cfg.Name, verb} }
	return &servicePlan{
		name:   cfg.Name,
		root:   root,
		binary: placement{dir: path.Dir(program), name: cfg.Name},
		marker: programMarker(cfg.Name),
		files: []serviceFile{{at: placement{dir: "/usr/local", sub: "etc/rc.d", name: cfg.Name}, data: script, mode: 0o555,
			ours: func(data []byte) bool {
				lines := strings.SplitN(string(data), "\n", 4)
				return len(lines) == 4 && lines[1]+"\n" == unitHeader && strings.HasPrefix(lines[2], "# "+cfg.Name+".rc: ")
			}}},
		shadowed: []string{"/etc/rc.d/" + cfg.Name},
		// onestatus and onestop work whether or not NAME_enable is set.
		probe:   service("onestatus"),
		install: []step{{argv: []string{"sysrc", rcvar + "=YES"}}},
		start:   []step{{argv: service("start"), when: ifStopped}, {argv: service("restart"), when: ifRunningChanged}},
		stop: []step{
			{argv: service("onestop"), when: ifRunning},
			// sysrc -x fails if the variable is not set: nothing to do.
			{argv: []string{"sysrc", "-x", rcvar}, when: mayFail},
		},
		status: "service " + cfg.Name + " status",
		run:    runCommand,
	}, nil
}

// shellAssignment returns the value of the first line of script that
// assigns to name (name=value), unquoted, or "".
func shellAssignment(script []byte, name string) string {
	for _, line := range strings.Split(string(script), "\n") {
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}
