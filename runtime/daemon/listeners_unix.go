//go:build unix

package daemon

import (
	"os"
	"slices"
	"sync"
)

// What a daemon does with the files it keeps beyond Listen (listeners.go):
// hand them to the daemon that replaces it, let go of those it did not
// claim (releaseUnclaimed), and hold back its changes to systemd's file
// descriptor store until it is the main process (storeWhenMain).

// claimed reports whether the daemon keeps a file called name.
func (k *keptFiles) claimed(name string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, l := range k.kept {
		if l.Name == name {
			return true
		}
	}
	return false
}

// dropUnclaimed returns the files inherited that the service has not
// claimed, and forgets them: they are not handed over any more.
func (k *keptFiles) dropUnclaimed() []ListenFD {
	k.mu.Lock()
	defer k.mu.Unlock()
	dropped := k.inherited
	k.inherited = nil
	return dropped
}

// unstore records that the activated sockets called name are no longer in
// the store.
func (k *keptFiles) unstore(name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !slices.Contains(k.unstored, name) {
		k.unstored = append(k.unstored, name)
	}
}

// unstoredNames returns the names of the activated sockets that are no
// longer in the store, for the daemon that replaces this one.
func (k *keptFiles) unstoredNames() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.unstored)
}

// handover returns the files to hand to the daemon that replaces this one:
// those kept, and those inherited that the service has not claimed (yet).
func (k *keptFiles) handover() []ListenFD {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append(append([]ListenFD(nil), k.kept...), k.inherited...)
}

// A heldFiles holds changes to the store back while holding is set: files
// to store, and names to remove.
type heldFiles struct {
	mu      sync.Mutex
	holding bool
	files   []ListenFD
	removed []string
}

// hold keeps f back and reports true while changes are held.
func (h *heldFiles) hold(name string, f *os.File) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.holding {
		h.files = append(h.files, ListenFD{Name: name, File: f})
	}
	return h.holding
}

// holdRemoval keeps the removal of name back and reports true while
// changes are held.
func (h *heldFiles) holdRemoval(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.holding {
		h.removed = append(h.removed, name)
	}
	return h.holding
}

// release stops holding changes and returns those held.
func (h *heldFiles) release() (files []ListenFD, removed []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holding = false
	files, removed = h.files, h.removed
	h.files, h.removed = nil, nil
	return files, removed
}
