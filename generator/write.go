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
	if err := syncDirs(root, files); err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	// Rename replaces target only if it is still missing (or an empty
	// directory that appeared since plan).
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	return syncDir(os.Open(parent))
}

// writeInPlace writes files into the existing directory target: first each
// file under a temporary name beside its final one, then all renames.
func writeInPlace(target string, files []File) (err error) {
	root, err := os.OpenRoot(target)
	if err != nil {
		return fmt.Errorf("write into %s: %w", target, err)
	}
	defer root.Close()
	st := &staging{root: root, dir: target, files: files}
	defer st.undo(&err)
	if err := st.stage(); err != nil {
		return err
	}
	for i := range files {
		if err := st.rename(i); err != nil {
			return err
		}
	}
	return st.finish()
}

// A staging writes files into the directory dir, opened as root, so that
// a failure leaves nothing behind: stage creates the directories the files
// need and writes each file under a temporary name beside its final one;
// rename moves one into place, atomically; until finish, undo removes
// every temporary file and directory that is left.
type staging struct {
	root  *os.Root
	dir   string // for errors
	files []File
	temps []string // temporary names of files

	created []string // directories and temporary files, in order, to undo
}

// stage creates the missing directories that the files need and writes
// every file under its temporary name. A directory on the way that is not
// one (or is a symbolic link) is a conflict.
func (st *staging) stage() error {
	for _, d := range dirsOf(st.files) {
		fi, err := st.root.Lstat(d)
		switch {
		case err == nil && fi.IsDir():
			continue
		case err == nil:
			return conflictf("%s in %s is not a directory, but gendaemon needs it to be", d, st.dir)
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("write into %s: %w", st.dir, err)
		}
		if err := mkdir(st.root, d); err != nil {
			return fmt.Errorf("write into %s: %w", st.dir, err)
		}
		st.created = append(st.created, d)
	}
	st.temps = make([]string, len(st.files))
	for i, f := range st.files {
		st.temps[i] = path.Join(path.Dir(f.Path), "."+path.Base(f.Path)+".gendaemon-"+rand.Text()[:8])
		st.created = append(st.created, st.temps[i])
		if err := writeFile(st.root, st.temps[i], f); err != nil {
			return fmt.Errorf("write %s: %w", st.path(f.Path), err)
		}
	}
	return nil
}

// rename moves file i from its temporary name into place.
func (st *staging) rename(i int) error {
	if err := st.root.Rename(st.temps[i], st.files[i].Path); err != nil {
		return fmt.Errorf("write %s: %w", st.path(st.files[i].Path), err)
	}
	st.created = slices.DeleteFunc(st.created, func(s string) bool { return s == st.temps[i] })
	return nil
}

// finish, once every file is in place, forgets what undo would remove and
// flushes the directories to disk.
func (st *staging) finish() error {
	st.created = nil
	if err := syncDirs(st.root, st.files); err != nil {
		return fmt.Errorf("write into %s: %w", st.dir, err)
	}
	return nil
}

// undo, if *err is not nil, removes what stage created and no rename has
// moved into place, newest first, adding any failure to *err. For use in
// a defer.
func (st *staging) undo(err *error) {
	if *err == nil {
		return
	}
	for _, name := range slices.Backward(st.created) {
		if rerr := st.root.Remove(name); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			*err = fmt.Errorf("%w (and removing %s: %v)", *err, name, rerr)
		}
	}
}

// path returns the name of the project's file rel for errors.
func (st *staging) path(rel string) string {
	return filepath.Join(st.dir, filepath.FromSlash(rel))
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

// syncDirs flushes to disk the directories of root that files are in, and
// root itself.
func syncDirs(root *os.Root, files []File) error {
	for _, d := range append(dirsOf(files), ".") {
		if err := syncDir(root.Open(d)); err != nil {
			return err
		}
	}
	return nil
}

// syncDir flushes the directory d, as opened with err, to disk and closes
// it: syncDir(os.Open(dir)) or syncDir(root.Open(name)).
func syncDir(d *os.File, err error) error {
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
	st := &staging{root: root, dir: p.Dir, files: writes}
	defer st.undo(&err)
	if err := st.stage(); err != nil {
		return err
	}
	// Nothing may have changed since Compare read the files: a rename
	// must not replace bytes that nobody has looked at.
	for _, c := range p.Changes {
		if c.Action == Unchanged {
			continue
		}
		disk, ok, err := readRegular(root, c.Path)
		if err != nil {
			return fmt.Errorf("write %s: %w", st.path(c.Path), err)
		}
		if ok != (c.Disk != nil) || string(disk) != string(c.Disk) {
			return fmt.Errorf("%s: %w: nothing written; run the command again", st.path(c.Path), ErrChanged)
		}
	}
	// The manifest goes last, after the removals: until it is in place,
	// its old sums describe the files on disk.
	manifest := -1
	for i, f := range writes {
		if f.Path == ManifestName {
			manifest = i
			continue
		}
		if err := st.rename(i); err != nil {
			return err
		}
	}
	for _, c := range p.Changes {
		if c.Action != Remove {
			continue
		}
		if err := root.Remove(c.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", st.path(c.Path), err)
		}
	}
	if manifest >= 0 {
		if err := st.rename(manifest); err != nil {
			return err
		}
	}
	return st.finish()
}
