package generator

import (
	"strings"
)

// BinDir is where the systemd unit expects the daemon's binary.
const BinDir = "/usr/local/bin"

// FDStoreMax is the unit's FileDescriptorStoreMax= when fdstore is set: how
// many files systemd keeps for the daemon. The runtime stores each listener
// that daemon.Listen opens once, under its name, and a restarted daemon
// takes it back rather than storing another, so the store holds one file
// per name: a daemon has a handful of listeners, and 16 leaves room for
// more at the cost of nothing until they are stored. Beyond it, systemd
// drops the file (and logs so), and a restart refuses connections on that
// listener while the daemon is down.
const FDStoreMax = 16

// renderUnits renders the systemd units of the project: NAME.service, which
// runs the daemon in the foreground as a Type=notify service, and, if
// opts.Listen is set, NAME.socket for socket activation.
func renderUnits(opts Options) ([]File, error) {
	units := []struct{ path, tmpl string }{{opts.Name + ".service", "unit.service.tmpl"}}
	if len(opts.Listen) > 0 {
		units = append(units, struct{ path, tmpl string }{opts.Name + ".socket", "unit.socket.tmpl"})
	}
	var files []File
	for _, u := range units {
		b, err := execute(u.tmpl, templateData{Options: opts})
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: u.path, Data: b, Mode: FileMode, Owner: Generated})
	}
	return files, nil
}

// unitValue escapes s for the value of a unit file setting that takes the
// rest of the line, such as WorkingDirectory=: "%" starts a specifier there,
// so it is doubled. Validate has already refused control characters, so s
// cannot end the line or start a new setting.
func unitValue(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// unitWord escapes s as one word of a setting that takes a list, such as
// ReadWritePaths=: a word with white space, quotes or backslashes is
// double-quoted, with C-style escapes inside.
func unitWord(s string) string {
	s = unitValue(s)
	if !strings.ContainsAny(s, " \t\"'\\") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// FDStoreMax is the unit's FileDescriptorStoreMax= when fdstore is set.
func (templateData) FDStoreMax() int { return FDStoreMax }

// BoundingSet is the value of the unit's CapabilityBoundingSet=: the
// capabilities of the manifest, and CAP_SETGID for a daemon that switches
// to its group itself, as root.
func (d templateData) BoundingSet() string {
	caps := d.Capabilities
	if d.Group != "" && d.User == "" {
		caps = append([]string{"CAP_SETGID"}, caps...)
	}
	return strings.Join(caps, " ")
}
