//go:build unix && !linux

package daemon

// unguessable returns 16 hex digits from /dev/urandom, for a name that no
// one can take or plant in advance (random_linux.go says why not
// crypto/rand).
func unguessable() (string, error) { return urandomText() }
