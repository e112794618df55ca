//go:build !linux

package daemon

import (
	"errors"
	"io"
)

// errNoInstall: install and uninstall know systemd only, so far.
var errNoInstall = errors.New("install and uninstall support systemd on Linux only; on this system, install the binary and the service definition that gendaemon wrote by hand")

func installService(cfg Config, now bool, out io.Writer) error { return errNoInstall }

func uninstallService(cfg Config, out io.Writer) error { return errNoInstall }
