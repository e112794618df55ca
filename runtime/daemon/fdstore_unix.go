//go:build unix

package daemon

import (
	"log/slog"
	"os"
)

// storeFile puts f, kept under name, in systemd's file descriptor store when
// Config.FDStore asks for it, so that after a restart the daemon finds it
// among the activated sockets (Listen looks there). The unit must allow the
// store (FileDescriptorStoreMax=), or systemd drops the file. Off systemd it
// does nothing.
func (d *running) storeFile(name string, f *os.File) {
	if !d.cfg.FDStore || !d.manager().Enabled() {
		return
	}
	if err := d.manager().sendFiles("FDSTORE=1\nFDNAME="+name, f); err != nil {
		slog.Warn("keeping the file in the service manager's store", "name", name, "err", err)
	}
}
