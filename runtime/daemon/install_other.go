//go:build !linux && !darwin && !freebsd

package daemon

import (
	"errors"
	"io"
)

// errNoInstall: install and uninstall know systemd, launchd and FreeBSD's
// rc.d only.
var errNoInstall = errors.New("install and uninstall support systemd (Linux), launchd (macOS) and rc.d (FreeBSD) only; on this system, install the binary and a service definition by hand")

func installService(cfg Config, opts installOptions, out io.Writer) error { return errNoInstall }

func uninstallService(cfg Config, opts installOptions, out io.Writer) error { return errNoInstall }
