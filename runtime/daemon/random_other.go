//go:build unix && !linux

package daemon

import (
	"encoding/hex"
	"io"
	"os"
)

// unguessable returns 16 hex digits from /dev/urandom, for a name that no
// one can take or plant in advance (random_linux.go says why not
// crypto/rand).
func unguessable() (string, error) {
	f, err := os.Open("/dev/urandom")
	if err != nil {
		return "", err
	}
	defer f.Close()
	var random [8]byte
	if _, err := io.ReadFull(f, random[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(random[:]), nil
}
