//go:build !unix || aix || netbsd

package daemon

import "errors"

// clockMonotonicUsec would read CLOCK_MONOTONIC, which golang.org/x/sys lacks
// here (AIX has no clock_gettime in it, NetBSD no CLOCK_MONOTONIC). Only
// systemd asks for it, and it runs on none of these systems.
func clockMonotonicUsec() (int64, error) {
	return 0, errors.ErrUnsupported
}
