//go:build unix

package daemon

import (
	"io"
	"log/slog"
	"os"
)

// storeFile puts f, kept under name, in systemd's file descriptor store when
// Config.FDStore asks for it, so that after a restart the daemon finds it
// among the activated sockets (Listen looks there). The unit must allow the
// store (FileDescriptorStoreMax=), or systemd drops the file. Off systemd it
// does nothing. A daemon that an upgrade started is not yet the unit's main
// process, whose notifications alone systemd takes: it stores its new
// files once the daemon it replaces has exited (storeWhenMain).
func (d *running) storeFile(name string, f *os.File) {
	if !d.cfg.FDStore || !d.manager().Enabled() {
		return
	}
	if d.toStore.hold(name, f) {
		return
	}
	d.sendToStore(name, f)
}

// sendToStore sends f to the store under name.
func (d *running) sendToStore(name string, f *os.File) {
	if err := d.manager().sendFiles("FDSTORE=1\nFDNAME="+name, f); err != nil {
		slog.Warn("keeping the file in the service manager's store", "name", name, "err", err)
	}
}

// storeWhenMain, in a daemon that an upgrade started, holds the files it
// opens back from the store until the daemon it replaces has named it the
// main process (MAINPID=): that one then closes its end of promoted, or
// exits, and the read here ends.
func (d *running) storeWhenMain(promoted *os.File) {
	d.toStore.holding = true
	go func() {
		io.Copy(io.Discard, promoted)
		promoted.Close()
		for _, l := range d.toStore.release() {
			d.sendToStore(l.Name, l.File)
		}
	}()
}
