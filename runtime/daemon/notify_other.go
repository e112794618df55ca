//go:build !unix

package daemon

import "errors"

// sendNotify fails: there is no sd_notify(3) service manager here.
func sendNotify(socket, state string) error {
	return errors.ErrUnsupported
}
