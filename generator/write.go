package generator

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ErrConflict is wrapped by the errors of CheckTarget and Write when the target
// holds something gendaemon will not write over: a non-empty directory
// without force, a symbolic link, or a file where a directory is needed; or
// when its parent directory is missing. A command line tool should exit
// with status 2. Compare with errors.Is.
var ErrConflict = errors.New("conflict")

type conflictError struct{ msg string }

func (e *conflictError) Error() string        { return e.msg }
func (e *conflictError) Is(target error) bool { return target == ErrConflict }

func conflictf(format string, args ...any) error {
	return &conflictError{msg: fmt.Sprintf(format, args...)}
}

// CheckTarget reports, without changing anything, whether Write could write files
// into target: the first conflict, as an error wrapping ErrConflict, or a
// problem with files themselves.
func CheckTarget(target string, files []File, force bool) error {
	_, err := plan(target, files, force)
	return err
}

// Write writes files into the directory target, the one place where
// gendaemon writes to disk. Every conflict is settled before the first byte
// is written (see CheckTarget). Files get mode FileMode and directories DirMode,
// whatever the process's umask.
//
// If target does not exist, Write builds the project in a temporary
// directory beside it and renames that into place, so that a failure leaves
// nothing behind. If target is an existing directory (empty, or with force
// non-empty), Write creates every file under a temporary name in its
// directory first and then renames them into place; a failure before the
// renames removes everything Write created. Write never follows a symbolic
// link inside target, and never writes outside it.
func Write(target string, files []File, force bool) error {
	p, err := plan(target, files, force)
	if err != nil {
		return err
	}
	if !p.exists {
		return writeNew(p.target, files)
	}
	return writeInPlace(p.target, files)
}

type writePlan struct {
	target string // absolute, clean
	exists bool   // target is an existing directory
}

// plan settles every conflict between files and what is on disk.
func plan(target string, files []File, force bool) (writePlan, error) {
	if err := checkFiles(files); err != nil {
		return writePlan{}, err
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		return writePlan{}, fmt.Errorf("target %s: %w", target, err)
	}
	p := writePlan{target: abs}
	fi, err := os.Lstat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		parent := filepath.Dir(abs)
		pfi, err := os.Stat(parent)
		if errors.Is(err, fs.ErrNotExist) {
			given := filepath.Dir(filepath.Clean(target))
			return writePlan{}, conflictf("target %s: parent directory %s does not exist: create it first with mkdir -p %s", target, given, shellQuote(given))
		}
		if err != nil {
			return writePlan{}, fmt.Errorf("target %s: parent directory: %w", target, err)
		}
		if !pfi.IsDir() {
			return writePlan{}, conflictf("target %s: parent %s is not a directory", target, parent)
		}
		return p, nil
	case err != nil:
		return writePlan{}, fmt.Errorf("target %s: %w", target, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return writePlan{}, conflictf("target %s is a symbolic link: give the directory it points to, or a new path", target)
	case !fi.IsDir():
		return writePlan{}, conflictf("target %s exists and is not a directory", target)
	}
	p.exists = true
	entries, err := os.ReadDir(abs)
	if err != nil {
		return writePlan{}, fmt.Errorf("target %s: %w", target, err)
	}
	if len(entries) > 0 && !force {
		return writePlan{}, conflictf("target %s is not empty: choose another directory, or use --force to write into it", target)
	}
	// Every directory on the way to a file must be a real directory or
	// missing, and every file a regular file or missing.
	for _, f := range files {
		elems := strings.Split(f.Path, "/")
		for i := range elems {
			rel := path.Join(elems[:i+1]...)
			fi, err := os.Lstat(filepath.Join(abs, filepath.FromSlash(rel)))
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			if err != nil {
				return writePlan{}, fmt.Errorf("target %s: %w", target, err)
			}
			last := i == len(elems)-1
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				return writePlan{}, conflictf("%s in target %s is a symbolic link: gendaemon does not write through links", rel, target)
			case !last && !fi.IsDir():
				return writePlan{}, conflictf("%s in target %s is not a directory, but %s needs it to be", rel, target, f.Path)
			case last && !fi.Mode().IsRegular():
				return writePlan{}, conflictf("%s in target %s exists and is not a regular file", rel, target)
			}
		}
	}
	return p, nil
}

// checkFiles checks that files are a set of distinct, local, clean paths,
// none of which is a directory of another.
func checkFiles(files []File) error {
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if f.Path == "" || !filepath.IsLocal(filepath.FromSlash(f.Path)) || path.Clean(f.Path) != f.Path || strings.Contains(f.Path, `\`) {
			return fmt.Errorf("file path %q: want a clean path inside the project", f.Path)
		}
		if seen[f.Path] {
			return fmt.Errorf("file path %q: written twice", f.Path)
		}
		seen[f.Path] = true
		if f.Mode&^fs.ModePerm != 0 {
			return fmt.Errorf("file %s: mode %v: want permission bits only", f.Path, f.Mode)
		}
	}
	for _, f := range files {
		for dir := path.Dir(f.Path); dir != "."; dir = path.Dir(dir) {
			if seen[dir] {
				return fmt.Errorf("file path %q: %s is also a file", f.Path, dir)
			}
		}
	}
	return nil
}

// shellQuote quotes s for a POSIX shell if it needs it, for the commands
// that error messages suggest.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, needsQuote) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// needsQuote reports whether r is special to a POSIX shell in a word, or
// could be.
func needsQuote(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("_./+-", r))
}

// dirsOf returns the directories that files need below the root, parents
// before children.
func dirsOf(files []File) []string {
	set := map[string]bool{}
	for _, f := range files {
		for dir := path.Dir(f.Path); dir != "."; dir = path.Dir(dir) {
			set[dir] = true
		}
	}
	dirs := make([]string, 0, len(set))
	for d := range set {
		dirs = append(dirs, d)
	}
	slices.SortFunc(dirs, func(a, b string) int {
		if c := strings.Count(a, "/") - strings.Count(b, "/"); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return dirs
}

// writeNew writes files into a new directory beside target and renames it
// to target.
func writeNew(target string, files []File) (err error) {
	parent, base := filepath.Split(target)
	tmp, err := os.MkdirTemp(parent, "."+base+".gendaemon-*")
	if err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	defer func() {
		if err != nil {
			if rerr := os.RemoveAll(tmp); rerr != nil {
				err = fmt.Errorf("%w (and removing %s: %v)", err, tmp, rerr)
			}
		}
	}()
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	defer root.Close()
	if err := root.Chmod(".", DirMode); err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	for _, d := range dirsOf(files) {
		if err := mkdir(root, d); err != nil {
			return fmt.Errorf("create %s: %w", target, err)
		}
	}
	for _, f := range files {
		if err := writeFile(root, f.Path, f); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(target, filepath.FromSlash(f.Path)), err)
		}
	}
	for _, d := range append(dirsOf(files), ".") {
		if err := syncDir(root, d); err != nil {
			return fmt.Errorf("create %s: %w", target, err)
		}
	}
	// Rename replaces target only if it is still missing (or an empty
	// directory that appeared since plan).
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	return syncPath(parent)
}

// writeInPlace writes files into the existing directory target: first each
// file under a temporary name beside its final one, then all renames.
func writeInPlace(target string, files []File) (err error) {
	root, err := os.OpenRoot(target)
	if err != nil {
		return fmt.Errorf("write into %s: %w", target, err)
	}
	defer root.Close()

	var created []string // directories and temporary files, to undo
	defer func() {
		if err != nil {
			for _, name := range slices.Backward(created) {
				if rerr := root.Remove(name); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
					err = fmt.Errorf("%w (and removing %s: %v)", err, name, rerr)
				}
			}
		}
	}()
	for _, d := range dirsOf(files) {
		if _, err := root.Lstat(d); err == nil {
			continue // plan checked that it is a directory
		}
		if err := mkdir(root, d); err != nil {
			return fmt.Errorf("write into %s: %w", target, err)
		}
		created = append(created, d)
	}
	temps := make([]string, len(files))
	for i, f := range files {
		temps[i] = path.Join(path.Dir(f.Path), "."+path.Base(f.Path)+".gendaemon-"+rand.Text()[:8])
		created = append(created, temps[i])
		if err := writeFile(root, temps[i], f); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(target, filepath.FromSlash(f.Path)), err)
		}
	}
	for i, f := range files {
		if err := root.Rename(temps[i], f.Path); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(target, filepath.FromSlash(f.Path)), err)
		}
	}
	created = nil // everything is in place: nothing to undo
	for _, d := range append(dirsOf(files), ".") {
		if err := syncDir(root, d); err != nil {
			return fmt.Errorf("write into %s: %w", target, err)
		}
	}
	return nil
}

// mkdir creates the directory name in root with mode DirMode.
func mkdir(root *os.Root, name string) error {
	if err := root.Mkdir(name, DirMode); err != nil {
		return err
	}
	return root.Chmod(name, DirMode)
}

// writeFile creates name in root, which must not exist, and writes f's
// data to it, with f's mode whatever the umask, and syncs it.
func writeFile(root *os.Root, name string, f File) error {
	w, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, f.Mode)
	if err != nil {
		return err
	}
	_, err = w.Write(f.Data)
	if err == nil {
		err = w.Chmod(f.Mode)
	}
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir flushes the directory name in root to disk.
func syncDir(root *os.Root, name string) error {
	d, err := root.Open(name)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncPath flushes the directory dir to disk.
func syncPath(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ErrChanged is wrapped by the error of Apply when a file changed on disk
// between Compare and Apply; nothing was written. Compare again.
var ErrChanged = errors.New("changed since compared")

// Apply carries out p in p.Dir, through the same guarantees as Write: it
// never follows a symbolic link, never writes outside p.Dir, and creates
// every file with O_EXCL. Files whose Action is Unchanged are not touched,
// so their modification times are kept. Apply refuses a plan with edited
// files unless force is set.
//
// Every new file is first written under a temporary name in the directory
// of its final one; then Apply checks that no file changed since Compare
// read it (ErrChanged); only then does it rename each temporary file over
// its final name, each rename atomic, with the manifest last, and remove
// the orphaned files. A failure before the renames removes every temporary
// file and directory it created.
func Apply(p *Plan, force bool) (err error) {
	if !force {
		if edited := p.Edited(); len(edited) > 0 {
			return fmt.Errorf("apply: %s was edited by hand: use force to overwrite", edited[0].Path)
		}
	}
	var writes []File
	for _, c := range p.Changes {
		if c.Action == Update || c.Action == Create {
			writes = append(writes, File{Path: c.Path, Data: c.Data, Mode: c.Mode, Owner: c.Owner})
		}
	}
	if err := checkFiles(writes); err != nil {
		return err
	}
	root, err := os.OpenRoot(p.Dir)
	if err != nil {
		return fmt.Errorf("write into %s: %w", p.Dir, err)
	}
	defer root.Close()

	var created []string // directories and temporary files, to undo
	defer func() {
		if err != nil {
			for _, name := range slices.Backward(created) {
				if rerr := root.Remove(name); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
					err = fmt.Errorf("%w (and removing %s: %v)", err, name, rerr)
				}
			}
		}
	}()
	for _, d := range dirsOf(writes) {
		fi, err := root.Lstat(d)
		switch {
		case err == nil && fi.IsDir() && fi.Mode()&fs.ModeSymlink == 0:
			continue
		case err == nil:
			return conflictf("%s in %s is not a directory, but gendaemon needs it to be", d, p.Dir)
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("write into %s: %w", p.Dir, err)
		}
		if err := mkdir(root, d); err != nil {
			return fmt.Errorf("write into %s: %w", p.Dir, err)
		}
		created = append(created, d)
	}
	temps := make([]string, len(writes))
	for i, f := range writes {
		temps[i] = path.Join(path.Dir(f.Path), "."+path.Base(f.Path)+".gendaemon-"+rand.Text()[:8])
		created = append(created, temps[i])
		if err := writeFile(root, temps[i], f); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(p.Dir, filepath.FromSlash(f.Path)), err)
		}
	}
	// Nothing may have changed since Compare read the files: a rename
	// must not replace bytes that nobody has looked at.
	for _, c := range p.Changes {
		if c.Action == Unchanged {
			continue
		}
		disk, ok, err := readRegular(root, c.Path)
		if err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(p.Dir, filepath.FromSlash(c.Path)), err)
		}
		if ok != (c.Disk != nil) || string(disk) != string(c.Disk) {
			return fmt.Errorf("%s: %w: nothing written; run the command again", filepath.Join(p.Dir, filepath.FromSlash(c.Path)), ErrChanged)
		}
	}
	// The manifest goes last, after the removals: until it is in place,
	// its old sums describe the files on disk.
	rename := func(i int) error {
		if err := root.Rename(temps[i], writes[i].Path); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(p.Dir, filepath.FromSlash(writes[i].Path)), err)
		}
		created = slices.DeleteFunc(created, func(s string) bool { return s == temps[i] })
		return nil
	}
	manifest := -1
	for i, f := range writes {
		if f.Path == ManifestName {
			manifest = i
			continue
		}
		if err := rename(i); err != nil {
			return err
		}
	}
	for _, c := range p.Changes {
		if c.Action != Remove {
			continue
		}
		if err := root.Remove(c.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", filepath.Join(p.Dir, filepath.FromSlash(c.Path)), err)
		}
	}
	if manifest >= 0 {
		if err := rename(manifest); err != nil {
			return err
		}
	}
	created = nil // everything is in place: nothing to undo
	for _, d := range append(dirsOf(writes), ".") {
		if err := syncDir(root, d); err != nil {
			return fmt.Errorf("write into %s: %w", p.Dir, err)
		}
	}
	return nil
}
