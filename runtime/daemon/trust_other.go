//go:build unix && !linux

package daemon

// identify cannot tell who pid is without /proc, so the lock's holder is
// trusted as the platform reports it; the pidfile's owner is still checked.
func identify(pid int) (processIdentity, bool) {
	return processIdentity{}, false
}

// sameProcessElsewhere cannot tell without /proc.
func sameProcessElsewhere(holder, pid int) bool { return false }
