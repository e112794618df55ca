//go:build !linux

package daemon

import "errors"

// processArgs is not supported on this system: restart then needs the
// service's flags again.
func processArgs(pid int) ([]string, error) { return nil, errors.ErrUnsupported }
