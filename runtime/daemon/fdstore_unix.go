//go:build unix

package daemon

import (
	"io"
	"log/slog"
	"os"
	"slices"
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

// releaseUnclaimed lets go, once Init has returned, of the files kept for
// Listen that the service did not claim there: a new version that no
// longer listens under a name must not keep that socket, its port bound and
// its connections queued unanswered. The files that the daemon it replaced
// kept are closed and not handed on; with Config.FDStore, their names and
// those of the activated sockets left unclaimed are removed from the file
// descriptor store (FDSTOREREMOVE=1), so that no later restart passes them
// again. The activated sockets stay open, since the service may use them
// through Activation; removing a socket unit's name from the store changes
// nothing.
func (d *running) releaseUnclaimed() {
	var names []string
	for _, l := range d.keptFiles.dropUnclaimed() {
		l.File.Close()
		names = append(names, l.Name)
	}
	for _, a := range d.activated {
		if !d.keptFiles.claimed(a.Name) && !slices.Contains(names, a.Name) {
			names = append(names, a.Name)
		}
	}
	if !d.cfg.FDStore || !d.manager().Enabled() {
		return
	}
	for _, name := range names {
		if checkFileName(name) != nil {
			continue // not a name the store takes, so none it holds
		}
		if slices.ContainsFunc(d.activated, func(a ListenFD) bool { return a.Name == name }) {
			// Still open, and handed on: a version that listens under
			// the name again must put it back (Listen).
			d.keptFiles.unstore(name)
		}
		if !d.toStore.holdRemoval(name) {
			d.removeFromStore(name)
		}
	}
}

// removeFromStore drops the files kept in the store under name.
func (d *running) removeFromStore(name string) {
	if _, err := d.manager().Notify("FDSTOREREMOVE=1\nFDNAME=" + name); err != nil {
		slog.Warn("removing a file from the service manager's store", "name", name, "err", err)
	}
}

// sendToStore sends f to the store under name.
func (d *running) sendToStore(name string, f *os.File) {
	if err := d.manager().sendFiles("FDSTORE=1\nFDNAME="+name, f); err != nil {
		slog.Warn("keeping the file in the service manager's store", "name", name, "err", err)
	}
}

// storeWhenMain, in a daemon that an upgrade started, holds its changes to
// the store (the files it opens, the names it drops) back until the daemon
// it replaces has named it the main process (MAINPID=): that one then
// closes its end of promoted, or exits, and the read here ends.
func (d *running) storeWhenMain(promoted *os.File) {
	d.toStore.holding = true
	go func() {
		io.Copy(io.Discard, promoted)
		promoted.Close()
		files, removed := d.toStore.release()
		for _, name := range removed {
			d.removeFromStore(name)
		}
		for _, l := range files {
			d.sendToStore(l.Name, l.File)
		}
	}()
}
