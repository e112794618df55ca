//go:build !linux

package daemon

import "errors"

// trustedArgs cannot read another process's command line on this system.
func trustedArgs(pid int) ([]string, error) {
	return nil, errors.New("this system offers no trustworthy way to read the running daemon's command line")
}
