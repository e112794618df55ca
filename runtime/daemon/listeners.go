package daemon

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
)

// A filer is what can give its descriptor as a file: *net.TCPListener,
// *net.UnixListener, *net.UDPConn and the other sockets of package net. The
// runtime names the method, not the types, so that it does not link net.
type filer interface {
	File() (*os.File, error)
}

// Listen returns the listening socket, or any other file the daemon must
// keep across an upgrade, that the daemon knows by name, so that a new
// binary takes over the very socket the old one listened on and no
// connection is refused while the binary changes (see the upgrade command).
// In order, it is:
//   - the file of that name that the daemon this one replaces handed over;
//   - the one socket a service manager passed under that name, by socket
//     activation or from its file descriptor store (FileDescriptorName=,
//     FDNAME=), or from both at once;
//   - what open returns, such as net.Listen's listener: Listen takes its
//     descriptor (the value's File method) and closes the value.
//
// The daemon keeps the file for as long as it runs and hands it to the
// binary that replaces it; with Config.FDStore it also keeps it in
// systemd's file descriptor store, so that a plain restart finds it there.
// The caller turns the file into what it serves with, such as
// net.FileListener(f); closing what it made leaves the daemon's file open.
//
// Call Listen from Init, with Init's context (or one derived from it), so
// that a listener that cannot be opened stops the start-up. Once Init has
// returned, the daemon lets go of what it was handed under a name that
// Init did not claim: a version that drops a listener closes the socket its
// predecessor kept and, with Config.FDStore, removes it from the store. A
// name may be kept once. A socket unit passes all its sockets under one
// name (its FileDescriptorName=), so for a unit with several Listen*=
// lines use Activation(ctx).Named, whose sockets are handed over too.
// Outside a daemon's hooks (a test), Listen only calls open, and the
// caller owns, and closes, the file.
func Listen[L io.Closer](ctx context.Context, name string, open func() (L, error)) (*os.File, error) {
	if err := checkFileName(name); err != nil {
		return nil, err
	}
	d, _ := ctx.Value(contextKey{}).(*running)
	if d != nil {
		if f, ok, err := d.keptFiles.take(name, d.activated); ok || err != nil {
			if ok && d.keptFiles.restore(name) {
				d.storeFile(name, f) // fdstore_unix.go
			}
			return f, err
		}
	}
	l, err := open()
	if err != nil {
		return nil, err
	}
	fl, ok := any(l).(filer)
	if !ok {
		l.Close()
		return nil, fmt.Errorf("listen %q: a %T cannot give its descriptor; return a *net.TCPListener, *net.UnixListener or another value with a File method", name, l)
	}
	f, err := fl.File()
	l.Close()
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w", name, err)
	}
	if d != nil {
		if err := d.keptFiles.keep(name, f); err != nil {
			f.Close()
			return nil, err
		}
		d.storeFile(name, f) // fdstore_unix.go
	}
	return f, nil
}

// checkFileName refuses a name that systemd's file descriptor store would
// refuse (FDNAME=, at most 255 printable ASCII characters, no ':'), which
// also keeps it a single entry of the list that an upgrade hands over.
func checkFileName(name string) error {
	ok := name != "" && len(name) <= 255
	for _, r := range name {
		ok = ok && r > ' ' && r < 0x7f && r != ':'
	}
	if !ok {
		return fmt.Errorf("listen %q: a name is 1 to 255 printable ASCII characters without spaces or ':'", name)
	}
	return nil
}

// keptFiles are the files a daemon keeps by name (Listen), with those it
// inherited from the daemon it replaced and has not yet claimed, and the
// names of the activated sockets that are no longer in systemd's file
// descriptor store (releaseUnclaimed removed them).
type keptFiles struct {
	mu        sync.Mutex
	kept      []ListenFD
	inherited []ListenFD
	unstored  []string
}

// take returns the file called name that the daemon inherited, or else
// the one activated socket of that name (which systemd may pass twice, see
// sameFiles), and keeps it; ok is false if there is neither.
func (k *keptFiles) take(name string, activated Activated) (f *os.File, ok bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, l := range k.kept {
		if l.Name == name {
			return nil, false, fmt.Errorf("listen %q: the daemon keeps a file of that name already; give each listener its own name", name)
		}
	}
	for i, l := range k.inherited {
		if l.Name == name {
			k.inherited = append(k.inherited[:i], k.inherited[i+1:]...)
			k.kept = append(k.kept, l)
			return l.File, true, nil
		}
	}
	switch files := activated.Named(name); {
	case len(files) == 0:
		return nil, false, nil
	case len(files) == 1 || sameFiles(files):
		k.kept = append(k.kept, ListenFD{Name: name, File: files[0]})
		return files[0], true, nil
	default:
		return nil, false, fmt.Errorf("listen %q: the service manager passed %d sockets of that name; use Activation(ctx).Named for them", name, len(files))
	}
}

// sameFiles reports whether files are one file, passed more than once:
// a socket that systemd passes from its socket unit and from the file
// descriptor store, where a version that claimed it with Listen put it.
func sameFiles(files []*os.File) bool {
	first, err := files[0].Stat()
	if err != nil {
		return false
	}
	for _, f := range files[1:] {
		if fi, err := f.Stat(); err != nil || !os.SameFile(first, fi) {
			return false
		}
	}
	return true
}

// keep adds f, newly opened, under name.
func (k *keptFiles) keep(name string, f *os.File) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, l := range k.kept {
		if l.Name == name {
			return fmt.Errorf("listen %q: the daemon keeps a file of that name already; give each listener its own name", name)
		}
	}
	k.kept = append(k.kept, ListenFD{Name: name, File: f})
	return nil
}

// restore reports whether name, just claimed, was among the names no
// longer in the store, and forgets it there: the caller puts it back.
func (k *keptFiles) restore(name string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	i := slices.Index(k.unstored, name)
	if i < 0 {
		return false
	}
	k.unstored = slices.Delete(k.unstored, i, i+1)
	return true
}
