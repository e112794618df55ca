//go:build !unix

package daemon

import "os"

// storeFile does nothing off Unix, where there is no service manager's
// file descriptor store.
func (d *running) storeFile(name string, f *os.File) {}
