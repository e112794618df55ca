//go:build !linux

// Package daemon's functions need Linux: the detach sequence and the control
// commands use its system calls (close_range, memfd, pidfd). Elsewhere each
// returns errors.ErrUnsupported.

package daemon

import (
	"errors"
	"time"
)

// Start is not supported on this system.
func Start(cfg Config, svc Service) (pid int, err error) { return 0, errors.ErrUnsupported }

// Run is not supported on this system.
func Run(cfg Config, svc Service) error { return errors.ErrUnsupported }

// Stop is not supported on this system.
func Stop(cfg Config, timeout time.Duration) (pid int, killed bool, err error) {
	return 0, false, errors.ErrUnsupported
}

// Status is not supported on this system.
func Status(cfg Config) (pid int, err error) { return 0, errors.ErrUnsupported }

// reexecuted is false: Start re-executes nothing on this system.
func reexecuted() bool { return false }

// Reload is not supported on this system.
func Reload(cfg Config) (pid int, err error) { return 0, errors.ErrUnsupported }
