//go:build unix && !aix && !netbsd

package daemon

import (
	"time"

	"golang.org/x/sys/unix"
)

// clockMonotonicUsec reads CLOCK_MONOTONIC in microseconds, the clock of
// systemd's MONOTONIC_USEC=.
func clockMonotonicUsec() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, err
	}
	return ts.Nano() / int64(time.Microsecond), nil
}
