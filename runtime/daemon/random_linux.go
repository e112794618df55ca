package daemon

import (
	"encoding/hex"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// unguessable returns 16 hex digits from the kernel's random source, for a
// name that no one can take or plant in advance: getrandom(2), or
// /dev/urandom where the kernel has no getrandom (before Linux 3.17) or a
// seccomp filter refuses it. It is not crypto/rand, whose packages would
// grow every stage of a start by 220 kB and their initialisation for these
// eight bytes.
func unguessable() (string, error) {
	var random [8]byte
	_, err := unix.Getrandom(random[:], 0)
	switch {
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
		return urandomText()
	case err != nil:
		return "", os.NewSyscallError("getrandom", err)
	}
	return hex.EncodeToString(random[:]), nil
}
