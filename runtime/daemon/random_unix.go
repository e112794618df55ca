//go:build unix

package daemon

import (
	"encoding/hex"
	"io"
	"os"
)

// urandomText returns 16 hex digits read from /dev/urandom: unguessable
// where there is no getrandom(2), or a sandbox refuses it.
func urandomText() (string, error) {
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
