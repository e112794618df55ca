package generator

import (
	"math"
	"strconv"
	"strings"
)

// Limits of the systems a generated daemon runs on, which Validate checks so
// that `gendaemon new` refuses what the runtime or systemd would refuse
// later, on the target machine, with no one watching.
const (
	// nameMax is the longest file name component (NAME_MAX).
	nameMax = 255

	// sunPathMax is the longest Unix socket path: sun_path is 108 bytes,
	// with the terminating NUL.
	sunPathMax = 107

	// maxMaxFD is the largest maxfd: the runtime's int is 32 bits on 386
	// and arm, and no kernel allows more descriptors.
	maxMaxFD = math.MaxInt32
)

// checkLimits checks what each option's own check cannot: the limits of the
// target system and the options' relations to each other.
func (o Options) checkLimits() error {
	for _, check := range []func() error{
		func() error { return checkSystemdAccount("user", o.User) },
		func() error { return checkSystemdAccount("group", o.Group) },
		o.checkUserGroup,
		o.checkComponents,
		o.checkListenLimits,
		o.checkMaxFD,
		o.checkDistinctFiles,
		o.checkLogrotatePath,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// checkSystemdAccount refuses the numeric ids systemd refuses in User= and
// Group= (systemd-analyze: invalid user/group): 65535, the 16-bit -1, and
// ids written with leading zeros, which systemd does not take as numbers.
func checkSystemdAccount(what, name string) error {
	if name == "" || name[0] < '0' || name[0] > '9' {
		return nil
	}
	if len(name) > 1 && name[0] == '0' {
		return invalidf("invalid %s %q: write the numeric id without leading zeros (%s); systemd refuses them", what, name, strings.TrimLeft(name, "0"))
	}
	if id, _ := strconv.ParseUint(name, 10, 32); id == 65535 {
		return invalidf("invalid %s %q: 65535 is the 16-bit -1, which systemd refuses; choose another id", what, name)
	}
	return nil
}

// checkUserGroup refuses a numeric user without a group: an id that has no
// entry in /etc/passwd on the target has no primary group, and the daemon
// could not start.
func (o Options) checkUserGroup() error {
	if o.User != "" && o.User[0] >= '0' && o.User[0] <= '9' && o.Group == "" {
		return invalidf("invalid user %q: a numeric user may have no entry in /etc/passwd, so no group; give --group too", o.User)
	}
	return nil
}

// checkComponents refuses paths with a component longer than a file name
// may be.
func (o Options) checkComponents() error {
	for _, p := range []struct{ what, path string }{
		{"workdir", o.WorkDir}, {"stdio", o.Stdio}, {"log file", o.LogFile}, {"pidfile", o.PIDFile},
	} {
		for c := range strings.SplitSeq(p.path, "/") {
			if len(c) > nameMax {
				return invalidf("invalid %s %q: the component %.20q... is %d bytes; a file name has at most %d", p.what, p.path, c, len(c), nameMax)
			}
		}
	}
	return nil
}

// checkListenLimits refuses Unix socket paths too long for sun_path, and
// the same address twice.
func (o Options) checkListenLimits() error {
	seen := map[string]bool{}
	for _, addr := range o.Listen {
		if strings.HasPrefix(addr, "/") && len(addr) > sunPathMax {
			return invalidf("invalid listen address %q: a Unix socket path has at most %d bytes, this one %d", addr, sunPathMax, len(addr))
		}
		if seen[addr] {
			return invalidf("invalid listen address %q: given twice; give each address once", addr)
		}
		seen[addr] = true
	}
	return nil
}

// checkMaxFD refuses a maxfd that does not fit the runtime's int everywhere.
func (o Options) checkMaxFD() error {
	if int64(o.MaxFD) > maxMaxFD {
		return invalidf("invalid maxfd %d: use a number of at most %d", o.MaxFD, maxMaxFD)
	}
	return nil
}

// checkDistinctFiles refuses a pidfile that is also the log file or the
// standard I/O: the daemon replaces the pidfile, and removes it at stop.
func (o Options) checkDistinctFiles() error {
	for _, other := range []struct{ what, path string }{{"log file", o.LogFile}, {"stdio", o.Stdio}} {
		if other.path == o.PIDFile {
			return invalidf("invalid pidfile %q: it is also the %s; the daemon replaces its pidfile and removes it when it stops, so use another path", o.PIDFile, other.what)
		}
	}
	return nil
}

// checkLogrotatePath refuses in the log file what the logrotate snippet
// (logrotate.go) cannot quote: logrotate reads the path as a glob, in
// double quotes that have no escapes.
func (o Options) checkLogrotatePath() error {
	if strings.ContainsAny(o.LogFile, "\"*?[") {
		return invalidf("invalid log file %q: logrotate reads it as a pattern; remove the \", *, ? and [", o.LogFile)
	}
	return nil
}
