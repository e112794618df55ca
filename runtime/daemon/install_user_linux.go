package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// userSystemdPlan is the plan of install --user: the daemon runs under the
// service manager of the user who installs it (systemd --user, reached
// through $XDG_RUNTIME_DIR/systemd/private), its binary in ~/.local/bin,
// its units, adapted by userUnit, in ~/.config/systemd/user (under
// $XDG_CONFIG_HOME if that is set), managed with systemctl --user.
func userSystemdPlan(cfg Config, units map[string][]byte, binary, root string) (*servicePlan, error) {
	runtimeDir := os.Getenv("XDG_RUNTIME_DIR")
	if !filepath.IsAbs(runtimeDir) {
		return nil, fmt.Errorf("%w of yours is reachable: XDG_RUNTIME_DIR is not set; log in (a session of pam_systemd sets it), or run with XDG_RUNTIME_DIR=/run/user/%d once root has run `loginctl enable-linger` for you", errNoServiceManager, os.Geteuid())
	}
	if fi, err := os.Stat(root + runtimeDir + "/systemd/private"); err != nil || fi.Mode().Type() != os.ModeSocket {
		return nil, fmt.Errorf("%w of yours is reachable: %s/systemd/private is not there; log in, or have root run `loginctl enable-linger` for you, which starts user@%d.service", errNoServiceManager, runtimeDir, os.Geteuid())
	}
	home := os.Getenv("HOME")
	if !filepath.IsAbs(home) {
		return nil, fmt.Errorf("install --user needs HOME, an absolute path, for the binary and the unit: HOME=%q", home)
	}
	bin := placement{dir: home, sub: ".local/bin", name: cfg.Name}
	if err := checkUnitPath(bin.path()); err != nil {
		return nil, err
	}
	unitDir := placement{dir: home, sub: ".config/systemd/user"}
	if config := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(config) {
		unitDir = placement{dir: config, sub: "systemd/user"}
	}
	dataHome := filepath.Join(home, ".local/share")
	if data := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(data) {
		dataHome = data
	}
	for file, unit := range units {
		units[file] = userUnit(unit, binary, bin.path())
	}
	pl := &servicePlan{name: cfg.Name, root: root, binary: bin, marker: programMarker(cfg.Name)}
	// The search path of a user's manager (systemd.unit(5)), but for the
	// directory install writes to.
	pl.addUnits(units, unitDir, filepath.Join(runtimeDir, "systemd/user"), "/etc/systemd/user",
		"/run/systemd/user", filepath.Join(dataHome, "systemd/user"),
		"/usr/local/lib/systemd/user", "/usr/lib/systemd/user", "/lib/systemd/user")
	pl.addSystemctl(units, "systemctl", "--user")
	return pl, nil
}

// checkUnitPath refuses a path that a unit file cannot hold as it is: one
// with a space, a quote, a backslash, a specifier's '%' or a variable's
// '$', which systemd would read otherwise.
func checkUnitPath(path string) error {
	for _, r := range path {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("/._-+@:,~", r)) {
			return fmt.Errorf("install --user writes the binary's path into the unit, which cannot hold %q of %s as it is; set HOME to a plainer path", r, path)
		}
	}
	return nil
}

// userDropped reports whether a user's service manager cannot apply the
// setting key, and why: install --user leaves it out of the user's unit.
func userDropped(key string) (why string, drop bool) {
	switch key {
	case "User", "Group", "DynamicUser", "SupplementaryGroups":
		return "a user's service manager runs its services as that user", true
	case "AmbientCapabilities":
		return "a user's service manager cannot grant capabilities", true
	case "ProtectProc", "ProcSubset", "ProtectControlGroups":
		return "for the system's service manager only, says systemd.exec(5)", true
	case "ProtectKernelLogs":
		return "a user's service manager cannot hide /proc/kmsg: the service would fail with 226/NAMESPACE", true
	}
	return "", false
}

// needsNamespaces reports whether the setting key needs namespaces that
// only root may create, which a user's service manager sets up inside a
// user namespace of the service's own (PrivateUsers=yes).
func needsNamespaces(key string) bool {
	switch key {
	case "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateNetwork", "PrivateIPC",
		"PrivateMounts", "ProtectHostname", "ProtectClock", "ProtectKernelTunables", "ProtectKernelModules",
		"CapabilityBoundingSet", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths",
		"TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths":
		return true
	}
	return false
}

// userUnit adapts a system unit for a user's service manager: it runs the
// binary at userBinary rather than at systemBinary, starts with the user's
// default.target rather than multi-user.target, keeps runtime paths in the
// user's runtime directory (%t, $XDG_RUNTIME_DIR) rather than in /run,
// applies the sandbox in a user namespace (PrivateUsers=yes), makes
// ProtectHome= read-only (hiding the home would hide the binary), lets the
// working directory be missing, and comments out what userDropped names. The first two lines stay, so that
// install knows the unit as its own.
func userUnit(unit []byte, systemBinary, userBinary string) []byte {
	var b strings.Builder
	inHeader, section := true, ""
	privateUsers := strings.Contains(string(unit), "\nPrivateUsers=")
	lines := strings.Split(string(unit), "\n")
	for i, line := range lines {
		if inHeader && !strings.HasPrefix(line, "#") {
			inHeader = false
			b.WriteString("#\n# This copy is for the user's own service manager (systemctl --user),\n" +
				"# adapted by `install --user`: the binary is in ~/.local/bin, runtime files\n" +
				"# are in $XDG_RUNTIME_DIR, the sandbox is set up in a user namespace.\n")
		}
		key, value, setting := strings.Cut(line, "=")
		if strings.HasPrefix(line, "[") {
			section = strings.TrimSpace(line)
		}
		if !setting || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			b.WriteString(line)
		} else {
			if section == "[Service]" && needsNamespaces(key) && !privateUsers {
				b.WriteString("# A user's service manager sets the sandbox up in a user namespace.\nPrivateUsers=yes\n")
				privateUsers = true
			}
			b.WriteString(userSetting(section, key, value, systemBinary, userBinary))
		}
		if i < len(lines)-1 {
			b.WriteByte('\n')
		}
	}
	return []byte(b.String())
}

// userSetting is the line of the setting key=value, in section, of a
// user's unit; see userUnit.
func userSetting(section, key, value, systemBinary, userBinary string) string {
	if why, drop := userDropped(key); drop {
		return "# " + key + "=" + value + ": left out by install --user: " + why
	}
	switch {
	case key == "ExecStart" || key == "ExecReload" || key == "ExecStop":
		words := strings.Split(value, " ")
		for i, w := range words {
			if i == 0 && w == systemBinary {
				words[i] = userBinary
			} else {
				words[i] = userRuntimePath(w)
			}
		}
		value = strings.Join(words, " ")
	case key == "ProtectHome" && value != "no" && value != "false" && value != "read-only":
		value = "read-only"
	case (key == "WorkingDirectory" || key == "ReadWritePaths") && strings.HasPrefix(value, "/") && value != "/":
		// A system directory the user may not have: "-" lets the service
		// start without it, in the user's home.
		value = "-" + value
	case section == "[Install]" && key == "WantedBy":
		value = strings.ReplaceAll(value, "multi-user.target", "default.target")
	case key == "PIDFile" || strings.HasPrefix(key, "Listen"):
		value = userRuntimePath(value)
	}
	return key + "=" + value
}

// userRuntimePath moves a path in /run, or an option's (--pidfile=/run/…),
// into the user's runtime directory, %t.
func userRuntimePath(word string) string {
	prefix, path, option := strings.Cut(word, "=")
	if !option {
		prefix, path = "", word
	} else {
		prefix += "="
	}
	if rest, ok := strings.CutPrefix(path, "/run/"); ok {
		return prefix + "%t/" + rest
	}
	return word
}
