package daemon

import "errors"

// installOptions are the flags of the install and uninstall commands.
type installOptions struct {
	// now starts the daemon (or listens on its socket) once it is
	// installed; a daemon that runs a build install replaced is restarted.
	now bool
	// user installs the daemon for the user who runs the command, under
	// the user's own service manager (systemd --user), rather than for the
	// system.
	user bool
}

// errNoServiceManager: install and uninstall found no service manager to
// hand the daemon to, which Main reports with the LSB's status 4, as for a
// missing privilege: systemd does not run, or the user has no manager of
// their own.
var errNoServiceManager = errors.New("no service manager")
