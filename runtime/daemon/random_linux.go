package daemon

import (
	"encoding/hex"
	"os"

	"golang.org/x/sys/unix"
)

// unguessable returns 16 hex digits from the kernel's random source, for a
// name that no one can take or plant in advance. It is not crypto/rand,
// whose packages would grow every stage of a start by 220 kB and their
// initialisation for these eight bytes.
func unguessable() (string, error) {
	var random [8]byte
	if _, err := unix.Getrandom(random[:], 0); err != nil {
		return "", os.NewSyscallError("getrandom", err)
	}
	return hex.EncodeToString(random[:]), nil
}
