package generator

import "strings"

// logFileMode is the mode logrotate gives a new log file, the runtime's own
// (runtime/daemon logFileMode).
const logFileMode = "0640"

// appendLogrotate adds NAME.logrotate, the logrotate(8) snippet for the log
// file, to files when opts.LogFile is set: it creates the new file for the
// daemon's user, with create, and makes the daemon reopen it, with
// postrotate NAME reload.
func appendLogrotate(files []File, opts Options) ([]File, error) {
	if opts.LogFile == "" {
		return files, nil
	}
	b, err := execute("logrotate.tmpl", templateData{Options: opts})
	if err != nil {
		return nil, err
	}
	return append(files, File{Path: opts.Name + ".logrotate", Data: b, Mode: FileMode, Owner: Generated}), nil
}

// LogrotateCreate is the argument of logrotate's create: the mode, then the
// daemon's user and group where they are set (logrotate keeps the old
// file's owner for what is left out). A user without a group is followed
// by no group, so the old file's, which the runtime gave the user.
func (d templateData) LogrotateCreate() string {
	words := []string{logFileMode}
	if d.User != "" {
		words = append(words, d.User)
		if d.Group != "" {
			words = append(words, d.Group)
		}
	} else if d.Group != "" {
		words = append(words, "root", d.Group)
	}
	return strings.Join(words, " ")
}
