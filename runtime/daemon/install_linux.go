package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// systemdUnits reads the units built into the program: NAME.service and,
// if there is one, NAME.socket, by file name.
func systemdUnits(cfg Config) (map[string][]byte, error) {
	if cfg.ServiceFiles == nil {
		return nil, errors.New("this program was built without its service definitions (Config.ServiceFiles)")
	}
	units := map[string][]byte{}
	for _, ext := range []string{".service", ".socket"} {
		data, err := fs.ReadFile(cfg.ServiceFiles, cfg.Name+ext)
		if errors.Is(err, fs.ErrNotExist) && ext == ".socket" {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the built-in %s%s: %w", cfg.Name, ext, err)
		}
		units[cfg.Name+ext] = data
	}
	return units, nil
}

// systemdPlan is the plan for installing the daemon under systemd: for
// the system, its binary where the unit's ExecStart= runs it and its units
// in /etc/systemd/system; with opts.user, for the user who runs install,
// under the user's own manager (see userSystemdPlan). root prefixes every
// path, for tests.
func systemdPlan(cfg Config, opts installOptions, root string) (*servicePlan, error) {
	units, err := systemdUnits(cfg)
	if err != nil {
		return nil, err
	}
	binary, err := execStartBinary(units[cfg.Name+".service"])
	if err != nil {
		return nil, err
	}
	if filepath.Base(binary) != cfg.Name {
		return nil, fmt.Errorf("the unit runs %s, not a program called %s", binary, cfg.Name)
	}
	if opts.user {
		return userSystemdPlan(cfg, units, binary, root)
	}
	if fi, err := os.Stat(root + "/run/systemd/system"); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: systemd is not running here (there is no /run/systemd/system); install the binary and its units by hand, as the unit file's comment shows", errNoServiceManager)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("installing a system service needs root (install --user installs it for you alone): %w", fs.ErrPermission)
	}
	pl := &servicePlan{
		name:   cfg.Name,
		root:   root,
		binary: placement{dir: filepath.Dir(binary), name: cfg.Name},
		marker: programMarker(cfg.Name),
	}
	// The administrator's units, then runtime units, the administrator's
	// local ones and those of installed packages, which /etc would shadow.
	pl.addUnits(units, placement{dir: "/etc/systemd/system"},
		"/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
	pl.addSystemctl(units, "systemctl")
	return pl, nil
}

// addUnits adds units to the plan, placed in dir, and the same names in
// the other directories of systemd's search path to its shadowed paths.
func (pl *servicePlan) addUnits(units map[string][]byte, dir placement, others ...string) {
	for _, file := range slices.Sorted(maps.Keys(units)) {
		at := dir
		at.name = file
		pl.files = append(pl.files, serviceFile{at: at, data: units[file], mode: 0o644,
			ours: func(data []byte) bool { return unitOurs(data, file) }})
		for _, other := range others {
			pl.shadowed = append(pl.shadowed, filepath.Join(other, file))
		}
	}
}

// addSystemctl adds the commands of systemctl, run as systemctl (the
// first words of each command), to the plan: daemon-reload, enabling the
// socket, if the daemon has one, or the service, and starting it; a
// running service on a build that install replaced is restarted, since
// systemctl start leaves it running the old one.
func (pl *servicePlan) addSystemctl(units map[string][]byte, systemctl ...string) {
	cmd := func(args ...string) []string { return append(append([]string(nil), systemctl...), args...) }
	service, entry := pl.name+".service", pl.name+".service"
	if _, ok := units[pl.name+".socket"]; ok {
		entry = pl.name + ".socket"
	}
	pl.probe = cmd("is-active", "--quiet", service)
	pl.install = []step{{argv: cmd("daemon-reload")}, {argv: cmd("enable", entry)}}
	pl.start = []step{{argv: cmd("start", entry), when: ifStopped}, {argv: cmd("restart", service), when: ifRunningChanged}}
	pl.stop = []step{{argv: cmd(append([]string{"disable", "--now"}, slices.Sorted(maps.Keys(units))...)...), when: ifInstalled}}
	pl.cleanup = []step{{argv: cmd("daemon-reload")}}
	pl.status = strings.Join(cmd("status", entry), " ")
	pl.run = runCommand
}

// execStartBinary returns the program that a unit's ExecStart= runs.
func execStartBinary(unit []byte) (string, error) {
	for _, line := range strings.Split(string(unit), "\n") {
		if rest, ok := strings.CutPrefix(line, "ExecStart="); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 && filepath.IsAbs(fields[0]) && filepath.Clean(fields[0]) == fields[0] {
				return fields[0], nil
			}
		}
	}
	return "", errors.New("the built-in unit has no ExecStart= with an absolute path")
}

// unitOurs reports whether data is a unit gendaemon generated for the
// daemon, in the file called file.
func unitOurs(data []byte, file string) bool {
	header, rest, _ := strings.Cut(string(data), "\n")
	return header+"\n" == unitHeader && strings.HasPrefix(rest, "# "+file+": ")
}

// installService installs the daemon under the service manager; see
// servicePlan.installFiles.
func installService(cfg Config, opts installOptions, out io.Writer) error {
	pl, err := systemdPlan(cfg, opts, "")
	if err != nil {
		return err
	}
	return pl.installFiles(opts.now, out)
}

// uninstallService removes what installService installed; see
// servicePlan.uninstallFiles.
func uninstallService(cfg Config, opts installOptions, out io.Writer) error {
	pl, err := systemdPlan(cfg, opts, "")
	if err != nil {
		return err
	}
	return pl.uninstallFiles(out)
}
