package generator

import (
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// UnitSettings are the settings of the service unit, NAME.service, that
// gendaemon.yaml owns: regen writes them again, so they survive it, while
// `systemctl edit NAME` keeps local overrides in a drop-in, which systemd
// reads after the unit. Restart and Sandbox are required; for every other
// field the zero value leaves the setting out of the unit, so systemd's
// default applies. Each value is validated as systemd would parse it, and
// every value that reaches the unit is escaped: "%" is written as "%%", so
// no systemd specifier is expanded in it.
type UnitSettings struct {
	// Restart is the unit's Restart= policy: no, on-success, on-failure
	// (the default), on-abnormal, on-watchdog, on-abort or always.
	Restart string

	// RestartSec, TimeoutStart and TimeoutStop, if non-empty, are time
	// spans as systemd writes them ("100ms", "1min 30s", "5"; "infinity"
	// for the timeouts) for RestartSec=, TimeoutStartSec= and
	// TimeoutStopSec=.
	RestartSec   string
	TimeoutStart string
	TimeoutStop  string

	// Watchdog, if non-empty, is the time span of WatchdogSec=: the daemon
	// sends keep-alives at half of it while it is healthy, and systemd
	// kills and (by Restart=) restarts a daemon that misses one.
	Watchdog string

	// LimitNOFILE, if non-empty, is the limit on open files: a number,
	// "infinity", or SOFT:HARD.
	LimitNOFILE string

	// Environment lists NAME=VALUE assignments of the daemon's environment
	// (Environment=); EnvironmentFile lists absolute paths of files of such
	// assignments (EnvironmentFile=), each optional if it starts with "-".
	Environment     []string
	EnvironmentFile []string

	// DynamicUser runs the daemon as a user that systemd allocates when it
	// starts the service (DynamicUser=yes). It excludes User and Group: the
	// runtime looks accounts up in /etc/passwd, where a dynamic user is not.
	DynamicUser bool

	// StateDirectory, LogsDirectory and RuntimeDirectory list directories,
	// relative to /var/lib, /var/log and /run, that systemd creates for the
	// daemon, owned by its user and writable despite the sandbox.
	StateDirectory   []string
	LogsDirectory    []string
	RuntimeDirectory []string

	// Sandbox is the level of sandboxing: strict (the default, rated at
	// most 3.0 by systemd-analyze security), relaxed (the file system
	// protections, capabilities and privileges only) or none.
	Sandbox string

	// Capabilities lists capabilities, such as CAP_NET_BIND_SERVICE, that
	// the daemon keeps (CapabilityBoundingSet=) and gets even as a user
	// other than root (AmbientCapabilities=).
	Capabilities []string

	// AddressFamilies lists socket address families, such as AF_NETLINK,
	// that the daemon may use besides AF_UNIX, AF_INET and AF_INET6.
	AddressFamilies []string

	// PrivateNetwork gives the daemon a network namespace of its own with
	// only a loopback device (PrivateNetwork=yes): for a daemon that needs
	// no network. Sockets of socket activation still work.
	PrivateNetwork bool

	// FDStore keeps the listening sockets that the daemon opens with
	// daemon.Listen in systemd's file descriptor store (the runtime's
	// Config.FDStore, and FileDescriptorStoreMax= in the unit), so that
	// `systemctl restart` finds them there and no connection is refused
	// while the daemon restarts.
	FDStore bool

	// UnitExtra lists further KEY=VALUE lines, each placed in the unit's
	// section of its key ([Unit], [Service] or [Install]).
	UnitExtra []string
}

// Defaults of the unit settings, as DefaultUnitSettings sets them.
const (
	DefaultRestart = "on-failure"
	DefaultSandbox = "strict"
)

// DefaultUnitSettings returns the unit settings of a new project:
// Restart=on-failure, the strict sandbox, and systemd's defaults for the
// rest.
func DefaultUnitSettings() UnitSettings {
	return UnitSettings{Restart: DefaultRestart, Sandbox: DefaultSandbox}
}

var (
	restartPolicies = []string{"no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"}
	sandboxLevels   = []string{"strict", "relaxed", "none"}
)

// checkUnitSettings checks the unit settings of o, as Validate does.
func (o Options) checkUnitSettings() error {
	u := o.UnitSettings
	if !slices.Contains(restartPolicies, u.Restart) {
		return invalidf("invalid restart %q: use one of %s", u.Restart, strings.Join(restartPolicies, ", "))
	}
	if !slices.Contains(sandboxLevels, u.Sandbox) {
		return invalidf("invalid sandbox %q: use strict (the default), relaxed or none", u.Sandbox)
	}
	for _, t := range []struct {
		what, span string
		infinity   bool
	}{
		{"restart_sec", u.RestartSec, false},
		{"timeout_start", u.TimeoutStart, true},
		{"timeout_stop", u.TimeoutStop, true},
		{"watchdog", u.Watchdog, false},
	} {
		if err := checkTimeSpan(t.what, t.span, t.infinity); err != nil {
			return err
		}
	}
	if err := checkLimitNOFILE(u.LimitNOFILE); err != nil {
		return err
	}
	if err := checkEnvironment(u.Environment); err != nil {
		return err
	}
	for _, f := range u.EnvironmentFile {
		if err := checkPath("environment_file", strings.TrimPrefix(f, "-"), true); err != nil {
			return err
		}
	}
	if u.DynamicUser && (o.User != "" || o.Group != "") {
		return invalidf("invalid dynamic_user: systemd picks the user and group of a dynamic user; leave user and group empty (the runtime finds accounts only in /etc/passwd)")
	}
	for _, d := range []struct {
		what string
		dirs []string
	}{
		{"state_directory", u.StateDirectory}, {"logs_directory", u.LogsDirectory}, {"runtime_directory", u.RuntimeDirectory},
	} {
		if err := checkDirectories(d.what, d.dirs); err != nil {
			return err
		}
	}
	if err := checkNames("capability", u.Capabilities, capabilityNames, "CAP_NET_BIND_SERVICE"); err != nil {
		return err
	}
	if err := checkNames("address family", u.AddressFamilies, addressFamilies, "AF_NETLINK"); err != nil {
		return err
	}
	if len(u.AddressFamilies) > 0 && u.Sandbox != "strict" {
		return invalidf("invalid address_families %q: only the strict sandbox restricts address families, sandbox %s allows them all", u.AddressFamilies, u.Sandbox)
	}
	for _, line := range u.UnitExtra {
		if err := checkExtraLine(line); err != nil {
			return err
		}
		if key, _, _ := strings.Cut(line, "="); key == "FileDescriptorStoreMax" && u.FDStore {
			return invalidf("invalid unit_extra %q: fdstore sets FileDescriptorStoreMax=%d itself; remove the line, or set fdstore: false", line, FDStoreMax)
		}
	}
	return nil
}

// timeUnits are the units of a systemd time span (systemd.time(7)), in
// microseconds; a number without a unit is seconds.
var timeUnits = map[string]uint64{
	"usec": 1, "us": 1, "µs": 1, "msec": 1e3, "ms": 1e3,
	"seconds": 1e6, "second": 1e6, "sec": 1e6, "s": 1e6, "": 1e6,
	"minutes": 60e6, "minute": 60e6, "min": 60e6, "m": 60e6,
	"hours": 3600e6, "hour": 3600e6, "hr": 3600e6, "h": 3600e6,
	"days": 86400e6, "day": 86400e6, "d": 86400e6, "weeks": 604800e6, "week": 604800e6, "w": 604800e6,
	"months": 2629800e6, "month": 2629800e6, "M": 2629800e6, "years": 31557600e6, "year": 31557600e6, "y": 31557600e6,
}

var timeSpanPart = regexp.MustCompile(`^([0-9]+)(?:\.[0-9]+)? ?([a-zA-Zµ]*)`)

// maxTimeSpan bounds a time span, in microseconds: far beyond any use, and
// far below the 2⁶⁴-1 at which systemd's parser overflows.
const maxTimeSpan = 1 << 62

// checkTimeSpan checks a time span as systemd.time(7) writes it: numbers,
// each with a unit or else of seconds ("5", "100ms", "1min 30s"), or
// "infinity" if allowed. Empty is allowed: the setting is left out.
func checkTimeSpan(what, span string, infinity bool) error {
	if span == "" || infinity && span == "infinity" {
		return nil
	}
	want := `use a time span such as "100ms", "30s" or "1min 30s"`
	if infinity {
		want += `, or "infinity"`
	}
	if strings.TrimSpace(span) != span {
		return invalidf("invalid %s %q: remove the white space at its start or end; systemd would strip it", what, span)
	}
	var total uint64
	for rest := span; rest != ""; {
		m := timeSpanPart.FindStringSubmatch(rest)
		if m == nil {
			return invalidf("invalid %s %q: %s", what, span, want)
		}
		unit, ok := timeUnits[m[2]]
		n, err := strconv.ParseUint(m[1], 10, 64)
		if !ok || err != nil || n > maxTimeSpan/unit {
			return invalidf("invalid %s %q: %s", what, span, want)
		}
		// A fraction adds less than one more unit.
		if total += n*unit + unit; total > maxTimeSpan {
			return invalidf("invalid %s %q: too long; %s", what, span, want)
		}
		rest = strings.TrimPrefix(rest[len(m[0]):], " ")
	}
	return nil
}

// maxNOFILE is the largest limit on open files that Linux allows
// (fs.nr_open at most).
const maxNOFILE = 1073741816

// checkLimitNOFILE checks the value of LimitNOFILE=: N, infinity, or
// SOFT:HARD with the soft limit at most the hard one.
func checkLimitNOFILE(limit string) error {
	if limit == "" {
		return nil
	}
	const want = `use a number of at least 3, "infinity", or SOFT:HARD such as "4096:524288"`
	parse := func(s string) (uint64, bool) {
		if s == "infinity" {
			return maxNOFILE, true
		}
		n, err := strconv.ParseUint(s, 10, 32)
		return n, err == nil && n >= 3 && n <= maxNOFILE && strconv.FormatUint(n, 10) == s
	}
	soft, hard, pair := strings.Cut(limit, ":")
	s, ok1 := parse(soft)
	h, ok2 := s, true
	if pair {
		h, ok2 = parse(hard)
	}
	switch {
	case !ok1 || !ok2:
		return invalidf("invalid limit_nofile %q: %s (at most %d)", limit, want, maxNOFILE)
	case s > h:
		return invalidf("invalid limit_nofile %q: the soft limit is above the hard one", limit)
	}
	return nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnv reports whether name is a variable that systemd sets for the
// daemon and the runtime reads: Environment= would override it.
func reservedEnv(name string) bool {
	return name == "NOTIFY_SOCKET" || strings.HasPrefix(name, "LISTEN_") || strings.HasPrefix(name, "WATCHDOG_")
}

// checkEnvironment checks NAME=VALUE assignments: a shell-like name, set
// once, and a value of printable UTF-8 (it is quoted in the unit).
func checkEnvironment(env []string) error {
	seen := map[string]bool{}
	for _, a := range env {
		name, value, ok := strings.Cut(a, "=")
		switch {
		case !ok || !envName.MatchString(name):
			return invalidf("invalid environment %q: use NAME=VALUE, with a name of letters, digits and '_' not starting with a digit", a)
		case reservedEnv(name):
			return invalidf("invalid environment %q: systemd sets %s for the daemon; choose another name", a, name)
		case seen[name]:
			return invalidf("invalid environment %q: %s is set twice", a, name)
		case strings.ContainsFunc(value, isControl) || !utf8.ValidString(value):
			return invalidf("invalid environment %q: control characters (newline, tab, ...) and invalid UTF-8 are not allowed", a)
		}
		seen[name] = true
	}
	return nil
}

var dirPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)

// checkDirectories checks the names of StateDirectory= and the like:
// clean relative paths of letters, digits, '.', '_' and '-', each once.
func checkDirectories(what string, dirs []string) error {
	for i, d := range dirs {
		switch {
		case !dirPattern.MatchString(d) || path.Clean(d) != d || slices.Contains(strings.Split(d, "/"), ".."):
			return invalidf("invalid %s %q: use a clean relative path of letters, digits, '.', '_' and '-', such as the daemon's name", what, d)
		case slices.Contains(dirs[:i], d):
			return invalidf("invalid %s %q: listed twice", what, d)
		}
	}
	return nil
}

// checkNames checks that every name is one of known, and listed once.
func checkNames(what string, names, known []string, example string) error {
	for i, n := range names {
		switch {
		case !slices.Contains(known, n):
			return invalidf("invalid %s %q: use a name that systemd knows, such as %s", what, n, example)
		case slices.Contains(names[:i], n):
			return invalidf("invalid %s %q: listed twice", what, n)
		}
	}
	return nil
}

// ownedKeys are the settings that an option or the generator writes: a
// unit_extra line may not repeat them, it says which option to use.
var ownedKeys = map[string]string{
	"Type": "", "ExecStart": "", "ExecReload": "", "WorkingDirectory": "workdir", "UMask": "umask",
	"Restart": "restart", "RestartSec": "restart_sec", "TimeoutSec": "timeout_start and timeout_stop",
	"TimeoutStartSec": "timeout_start", "TimeoutStopSec": "timeout_stop", "WatchdogSec": "watchdog",
	"LimitNOFILE": "limit_nofile", "Environment": "environment", "EnvironmentFile": "environment_file",
	"User": "user", "Group": "group", "DynamicUser": "dynamic_user",
	"StateDirectory": "state_directory", "LogsDirectory": "logs_directory", "RuntimeDirectory": "runtime_directory",
	"CapabilityBoundingSet": "capabilities", "AmbientCapabilities": "capabilities",
	"RestrictAddressFamilies": "address_families", "PrivateNetwork": "private_network",
}

// checkExtraLine checks a unit_extra line: KEY=VALUE with a key that
// systemd knows in a service unit and no option owns, and a value that
// stays on its line and holds no specifier.
func checkExtraLine(line string) error {
	key, value, ok := strings.Cut(line, "=")
	switch {
	case strings.ContainsFunc(line, isControl) || !utf8.ValidString(line):
		return invalidf("invalid unit_extra %q: control characters (newline, ...) and invalid UTF-8 are not allowed", line)
	case !ok || unitKeys[key] == "":
		return invalidf("invalid unit_extra %q: use KEY=VALUE with a key of a service unit's [Unit], [Service] or [Install] section, such as LimitCORE=0", line)
	case strings.TrimSpace(value) != value:
		return invalidf("invalid unit_extra %q: remove the white space around the value; systemd would strip it", line)
	case strings.HasSuffix(value, `\`):
		return invalidf("invalid unit_extra %q: remove the backslash at its end; systemd would read it as a line continuation", line)
	case strings.Contains(value, "%"):
		return invalidf("invalid unit_extra %q: %% starts a systemd specifier; write the value out, or use a drop-in (systemctl edit)", line)
	}
	if opt, owned := ownedKeys[key]; owned {
		if opt == "" {
			return invalidf("invalid unit_extra %q: gendaemon writes %s= itself; override it in a drop-in (systemctl edit)", line, key)
		}
		return invalidf("invalid unit_extra %q: set %s in gendaemon.yaml instead", line, opt)
	}
	return nil
}

// ExtraLines returns the unit_extra lines of section, in order.
func (u UnitSettings) ExtraLines(section string) []string {
	var lines []string
	for _, line := range u.UnitExtra {
		key, _, _ := strings.Cut(line, "=")
		if unitKeys[key] == section {
			lines = append(lines, line)
		}
	}
	return lines
}

// unitQuoted writes s as one double-quoted word of a unit setting, such as
// an assignment of Environment=: backslashes and quotes are escaped, and
// "%" is doubled.
func unitQuoted(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%")
	return `"` + r.Replace(s) + `"`
}

// unitWords joins words for a setting that takes a list.
func unitWords(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = unitWord(w)
	}
	return strings.Join(quoted, " ")
}

// capabilityNames are the capabilities of Linux 6.1, as capabilities(7)
// names them.
var capabilityNames = []string{
	"CAP_AUDIT_CONTROL", "CAP_AUDIT_READ", "CAP_AUDIT_WRITE", "CAP_BLOCK_SUSPEND", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_KILL", "CAP_LEASE", "CAP_LINUX_IMMUTABLE",
	"CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_MKNOD", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_RAW", "CAP_PERFMON", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYSLOG", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_CHROOT", "CAP_SYS_MODULE",
	"CAP_SYS_NICE", "CAP_SYS_PACCT", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_WAKE_ALARM",
}

// addressFamilies are the socket address families, other than AF_UNIX,
// AF_INET and AF_INET6 (always allowed), that RestrictAddressFamilies= of
// systemd 252 knows.
var addressFamilies = []string{
	"AF_ALG", "AF_APPLETALK", "AF_BLUETOOTH", "AF_BRIDGE", "AF_CAN", "AF_IB", "AF_IEEE802154",
	"AF_IPX", "AF_KCM", "AF_KEY", "AF_LLC", "AF_MPLS", "AF_NETLINK", "AF_NFC", "AF_PACKET",
	"AF_PPPOX", "AF_QIPCRTR", "AF_RDS", "AF_SMC", "AF_TIPC", "AF_VSOCK", "AF_X25", "AF_XDP",
}
