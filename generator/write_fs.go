package generator

import (
	"io/fs"
	"os"
)

// txFS is every change that a transaction makes to a project's directory,
// by names relative to it. rootFS is the real one; tests wrap it to fail
// any one step, or every step from one on, as a crash would.
type txFS interface {
	// WriteFile creates name, which must not exist, with data and mode
	// perm whatever the umask, without following a symbolic link, and
	// flushes it to disk.
	WriteFile(name string, data []byte, perm fs.FileMode) error
	// Mkdir creates the directory name with mode DirMode.
	Mkdir(name string) error
	// Rename renames oldname to newname, replacing a file there.
	Rename(oldname, newname string) error
	// Remove removes the file or empty directory name.
	Remove(name string) error
	// SyncDir flushes the directory name to disk.
	SyncDir(name string) error
}

// rootFS is the txFS of a directory opened as an os.Root, which keeps every
// name inside it.
type rootFS struct{ root *os.Root }

func (r rootFS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	return writeFile(r.root, name, File{Path: name, Data: data, Mode: perm})
}

func (r rootFS) Mkdir(name string) error              { return mkdir(r.root, name) }
func (r rootFS) Rename(oldname, newname string) error { return r.root.Rename(oldname, newname) }
func (r rootFS) Remove(name string) error             { return r.root.Remove(name) }
func (r rootFS) SyncDir(name string) error            { return syncDir(r.root.Open(name)) }
