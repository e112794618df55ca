package generator

import (
	"bytes"
	"encoding/xml"
	"strings"

	"golang.org/x/mod/module"
)

// renderPlatformUnits renders the service definitions for the other
// platforms the runtime supports in full: NAME.plist, a launchd job for
// macOS, and NAME.rc, an rc.d script for FreeBSD. Like the systemd unit,
// they belong to gendaemon.
func renderPlatformUnits(opts Options) ([]File, error) {
	var files []File
	for _, u := range []struct {
		path, tmpl string
	}{
		{opts.Name + ".plist", "launchd.plist.tmpl"},
		{opts.Name + ".rc", "rc.d.tmpl"},
	} {
		b, err := execute(u.tmpl, templateData{Options: opts})
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: u.path, Data: b, Mode: FileMode, Owner: Generated})
	}
	return files, nil
}

// LaunchdLabel is the launchd job's Label: the module's domain reversed,
// then the name ("com.example.webd" for example.com/acme/webd), or the
// name alone for a module path without a domain.
func (d templateData) LaunchdLabel() string {
	first, _, _ := strings.Cut(d.Module, "/")
	if !strings.Contains(first, ".") || module.CheckPath(d.Module) != nil {
		return d.Name
	}
	labels := strings.Split(first, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(append(labels, d.Name), ".")
}

// LaunchdCommentSafe reports whether the name and label can be written in
// the plist's XML comment, which cannot hold "--".
func (d templateData) LaunchdCommentSafe() bool {
	return !strings.Contains(d.Name, "--") && !strings.Contains(d.LaunchdLabel(), "--")
}

// XMLText escapes s for the text of an XML element. Validate has refused
// control characters and invalid UTF-8, which XML cannot carry.
func (templateData) XMLText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writing to a bytes.Buffer cannot fail
	return b.String()
}

// RCName is the name in rc.subr's variables and functions (NAME_enable):
// a shell name, so '-' becomes '_'.
func (d templateData) RCName() string { return strings.ReplaceAll(d.Name, "-", "_") }

// RCPIDFile is the rc.d script's default pidfile: the configured one, but
// in /var/run rather than /run, which FreeBSD does not have, when it is the
// default.
func (d templateData) RCPIDFile() string {
	if d.PIDFile == DefaultPIDFile(d.Name) {
		return "/var/run/" + d.Name + ".pid"
	}
	return d.PIDFile
}

// ShellQuote quotes s as one word for sh(1): in single quotes, where a
// single quote of s closes the quotes, is escaped with a backslash, and
// opens them again.
func (templateData) ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
