package generator

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/module"
)

// ErrInvalidOption is wrapped by every error that Validate and ParseUmask
// return: the input was wrong, so a command line tool should exit with
// status 2. Compare with errors.Is.
var ErrInvalidOption = errors.New("invalid option")

// Options are the choices made when a project is generated. Name, Module,
// WorkDir, Umask, MaxFD, Stdio and PIDFile are required (a zero Umask is a
// real value, not "unset"), and so are Restart and Sandbox of the unit
// settings; LogFile, User, Group, Listen and the other unit settings are
// optional, and empty means none. Start from NewOptions, which fills in the defaults,
// and change what the user chose. Validate reports the first field that is
// wrong.
type Options struct {
	// Name is the daemon's name: the project's directory, the binary, a Go
	// string constant and, later, a systemd unit name.
	Name string

	// Module is the generated project's module path.
	Module string

	// WorkDir is the daemon's working directory, an absolute path.
	WorkDir string

	// Umask is the daemon's file mode creation mask, 0 to 0o777. Zero is a
	// real value, not "unset".
	Umask int

	// MaxFD bounds the runtime's last-resort loop that keeps inherited
	// descriptors from reaching the daemon. At least 3.
	MaxFD int

	// Stdio is the absolute path that the daemon's standard input, output and
	// error are opened on.
	Stdio string

	// LogFile, if non-empty, is the absolute path that receives the daemon's
	// standard output and error instead of Stdio.
	LogFile string

	// PIDFile is the absolute path of the daemon's pidfile.
	PIDFile string

	// User and Group, if non-empty, are the user and group (names or numeric
	// ids) that the daemon switches to after it has written its pidfile.
	User  string
	Group string

	// Listen, if non-empty, lists the addresses that systemd listens on for
	// the daemon (socket activation): a port ("8080"), an IP address and
	// port ("127.0.0.1:8080", "[::1]:8080"), or the absolute path of a Unix
	// socket. Each becomes a ListenStream= line of the NAME.socket unit.
	Listen []string

	// UnitSettings are the settings of NAME.service that the manifest owns
	// (unitopts.go); they apply only where systemd runs the daemon.
	UnitSettings
}

// Defaults of the options other than Name, as NewOptions sets them.
const (
	DefaultWorkDir = "/"
	DefaultUmask   = 0
	DefaultMaxFD   = 1024
	DefaultStdio   = "/dev/null"
)

// DefaultPIDFile returns the default pidfile of the daemon called name.
func DefaultPIDFile(name string) string { return "/run/" + name + ".pid" }

// InRunDir reports whether path, a clean absolute path, is below /run or
// /var/run, where only root may usually create files.
func InRunDir(path string) bool {
	return strings.HasPrefix(path, "/run/") || strings.HasPrefix(path, "/var/run/")
}

// NewOptions returns the default options for a daemon called name: module
// path name, working directory /, umask 0, maxfd 1024, standard I/O on
// /dev/null, no log file, pidfile /run/NAME.pid, no user or group, and the
// unit settings of DefaultUnitSettings.
func NewOptions(name string) Options {
	return Options{
		Name:         name,
		Module:       name,
		WorkDir:      DefaultWorkDir,
		Umask:        DefaultUmask,
		MaxFD:        DefaultMaxFD,
		Stdio:        DefaultStdio,
		PIDFile:      DefaultPIDFile(name),
		UnitSettings: DefaultUnitSettings(),
	}
}

// maxNameLen bounds Name: it becomes a file name, a systemd unit name and
// part of the pidfile's path.
const maxNameLen = 64

// Validate reports the first option that cannot be used, with an error that
// names the input and says what is expected, wrapping ErrInvalidOption. The
// unit's settings are checked after the rest (checkUnitSettings).
func (o Options) Validate() error {
	if err := checkName(o.Name); err != nil {
		return err
	}
	if err := checkModule(o.Module); err != nil {
		return err
	}
	if err := checkModuleName(o.Module, o.Name); err != nil {
		return err
	}
	if err := checkReservedName(o.Name, o.Module); err != nil {
		return err
	}
	for _, p := range []struct {
		what, path string
		file       bool // must name a file, not the root directory
		optional   bool
	}{
		{what: "workdir", path: o.WorkDir},
		{what: "stdio", path: o.Stdio, file: true},
		{what: "log file", path: o.LogFile, file: true, optional: true},
		{what: "pidfile", path: o.PIDFile, file: true},
	} {
		if p.optional && p.path == "" {
			continue
		}
		if err := checkPath(p.what, p.path, p.file); err != nil {
			return err
		}
	}
	if o.Umask < 0 || o.Umask > 0o777 {
		return invalidf("invalid umask %#o: use an octal number from 0 to 0777", o.Umask)
	}
	if o.MaxFD < 3 {
		return invalidf("invalid maxfd %d: use a number of at least 3 (descriptors 0, 1 and 2 are always kept)", o.MaxFD)
	}
	if err := checkAccount("user", o.User); err != nil {
		return err
	}
	if err := checkAccount("group", o.Group); err != nil {
		return err
	}
	for _, addr := range o.Listen {
		if err := checkListen(addr); err != nil {
			return err
		}
	}
	if err := o.checkLimits(); err != nil { // limits.go
		return err
	}
	return o.checkUnitSettings()
}

// checkListen checks an address for ListenStream=: a port, an IP literal
// and a port, or the absolute path of a Unix socket. Host names are refused:
// systemd does not resolve them.
func checkListen(addr string) error {
	const want = `use a port ("8080"), an IP address and port ("127.0.0.1:8080", "[::1]:8080") or the absolute path of a Unix socket`
	if strings.HasPrefix(addr, "/") {
		if strings.ContainsFunc(addr, unicode.IsSpace) || strings.Contains(addr, `\`) {
			return invalidf("invalid listen address %q: a socket path may not contain white space or backslashes", addr)
		}
		return checkPath("listen address", addr, true)
	}
	port := addr
	if strings.Contains(addr, ":") {
		host, p, err := net.SplitHostPort(addr)
		if err != nil || net.ParseIP(host) == nil {
			return invalidf("invalid listen address %q: %s", addr, want)
		}
		port = p
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 || strconv.FormatUint(n, 10) != port {
		return invalidf("invalid listen address %q: %s", addr, want)
	}
	return nil
}

// invalidf returns an error with the given message that wraps
// ErrInvalidOption without showing it.
func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalidOption }

func checkName(name string) error {
	const want = "use lowercase letters, digits, '-' and '_', starting with a letter"
	switch {
	case name == "":
		return invalidf("invalid name %q: the name must not be empty; %s", name, want)
	case len(name) > maxNameLen:
		return invalidf("invalid name %q: use at most %d characters", name, maxNameLen)
	case name[0] < 'a' || name[0] > 'z':
		return invalidf("invalid name %q: %s", name, want)
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return invalidf("invalid name %q: %s", name, want)
		}
	}
	return nil
}

// checkModule checks a module path the way the go command does for a main
// module: it must be a valid import path, and if its first element looks
// like a domain name (it has a dot), the stricter rules for published
// modules apply. A path without a dot, like the default "myservice", is what
// `go mod init myservice` accepts.
func checkModule(path string) error {
	first, _, _ := strings.Cut(path, "/")
	check := module.CheckImportPath
	if strings.Contains(first, ".") {
		check = module.CheckPath
	}
	if err := check(path); err != nil {
		var perr *module.InvalidPathError
		if errors.As(err, &perr) && perr.Err != nil {
			err = perr.Err
		}
		return invalidf("invalid module path %q: %v; use an import path such as example.com/you/%s", path, err, lastElem(path))
	}
	if path == "std" || path == "cmd" || first == "std" || first == "cmd" {
		return invalidf("invalid module path %q: std and cmd are reserved for the standard library", path)
	}
	return nil
}

// checkModuleName checks that go build names the binary of the module path
// after the daemon: the binary is named after the path's last element, or
// the one before it if that is a major-version suffix such as v2 (as the go
// command's DefaultExecName does).
func checkModuleName(path, name string) error {
	elems := strings.Split(path, "/")
	i := len(elems) - 1
	if i > 0 && isMajorVersion(elems[i]) {
		i--
	}
	if elems[i] == name {
		return nil
	}
	elems[i] = name
	return invalidf("invalid module path %q: its last element must be the name, %s, so that go build names the binary %s; use a path such as %s",
		path, name, name, strings.Join(elems, "/"))
}

// isMajorVersion reports whether elem is a major-version suffix of a module
// path that the go command leaves out of a binary's name: v2, v3, ...
func isMajorVersion(elem string) bool {
	if len(elem) < 2 || elem[0] != 'v' || elem[1] == '0' || elem == "v1" {
		return false
	}
	for _, c := range []byte(elem[1:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func lastElem(path string) string {
	elem := path[strings.LastIndex(path, "/")+1:]
	if elem == "" || checkName(elem) != nil {
		return "name"
	}
	return elem
}

// checkPath checks an absolute, clean path that may end up in Go source,
// the manifest and the value of a systemd unit's setting.
func checkPath(what, path string, file bool) error {
	switch {
	case path == "":
		return invalidf("invalid %s %q: use an absolute path", what, path)
	case strings.ContainsFunc(path, isControl) || !utf8.ValidString(path):
		return invalidf("invalid %s %q: control characters (NUL, newline, ...) and invalid UTF-8 are not allowed", what, path)
	case strings.TrimFunc(path, unicode.IsSpace) != path:
		// systemd strips it from the value of a unit file's setting.
		return invalidf("invalid %s %q: remove the white space at its start or end; systemd would strip it", what, path)
	case strings.HasSuffix(path, `\`):
		// systemd joins a line that ends in a backslash with the next.
		return invalidf("invalid %s %q: remove the backslash at its end; systemd would read it as a line continuation", what, path)
	case !filepath.IsAbs(path):
		return invalidf("invalid %s %q: use an absolute path, such as %s", what, path, filepath.Join("/", path))
	case filepath.Clean(path) != path:
		return invalidf("invalid %s %q: use a clean path, such as %s", what, path, filepath.Clean(path))
	case file && path == "/":
		return invalidf("invalid %s %q: use the path of a file", what, path)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// maxAccountLen is the longest user or group name that useradd(8) accepts.
const maxAccountLen = 32

// checkAccount checks a user or group: empty (none), a numeric id, or a
// name as useradd(8) accepts it by default.
func checkAccount(what, name string) error {
	if name == "" {
		return nil
	}
	if name[0] >= '0' && name[0] <= '9' {
		id, err := strconv.ParseUint(name, 10, 32)
		if err != nil || id == 1<<32-1 {
			return invalidf("invalid %s %q: use a name or a numeric id below 4294967295", what, name)
		}
		return nil
	}
	const want = "use a name of lowercase letters, digits, '-' and '_' starting with a letter or '_', or a numeric id"
	if len(name) > maxAccountLen {
		return invalidf("invalid %s %q: use at most %d characters", what, name, maxAccountLen)
	}
	if c := name[0]; !('a' <= c && c <= 'z' || c == '_') {
		return invalidf("invalid %s %q: %s", what, name, want)
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return invalidf("invalid %s %q: %s", what, name, want)
		}
	}
	return nil
}

// ParseUmask parses a umask written in octal, with or without a leading 0
// or 0o: "027", "0027", "0o027" and "27" are all 0o027, and "0" is 0. It
// returns an error wrapping ErrInvalidOption for anything else, or for a
// value above 0777.
func ParseUmask(s string) (int, error) {
	digits := s
	if len(digits) > 2 && digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O') {
		digits = digits[2:]
	}
	u, err := strconv.ParseUint(digits, 8, 32)
	if err != nil || u > 0o777 {
		return 0, invalidf("invalid umask %q: use an octal number from 0 to 0777, such as 027", s)
	}
	return int(u), nil
}

// FormatUmask formats a umask the way the manifest records it: three octal
// digits, such as "027".
func FormatUmask(u int) string { return fmt.Sprintf("%03o", u) }
