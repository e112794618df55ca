package generator

import (
	"context"
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
	return WriteContext(context.Background(), target, files, force)
}

// WriteContext is Write that stops, leaving nothing behind, when ctx ends
// before the project is complete (SIGINT).
func WriteContext(ctx context.Context, target string, files []File, force bool) error {
	p, err := plan(target, files, force)
	if err != nil {
		return err
	}
	if !p.exists {
		return writeNew(ctx, p.target, files)
	}
	return writeInPlace(ctx, p.target, files)
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
	// A project's own files (service.go, go.mod, ...) are the user's:
	// --force is for a directory that is not one yet.
	if fi, err := os.Lstat(filepath.Join(abs, ManifestName)); err == nil || !errors.Is(err, fs.ErrNotExist) {
		what := "has a " + ManifestName
		if err == nil && fi.Mode().IsRegular() {
			what = "is already a gendaemon project"
		}
		return writePlan{}, conflictf("target %s %s: new --force would replace your files there; run gendaemon regen in it to change its options", target, what)
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

// maxNameBytes is the longest file name that Linux and the BSDs allow
// (NAME_MAX): a longer one must fail before a transaction commits, not in
// a rename after.
const maxNameBytes = 255

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
		for elem := range strings.SplitSeq(f.Path, "/") {
			if len(elem) > maxNameBytes {
				return fmt.Errorf("file path %q: an element is longer than %d bytes", f.Path, maxNameBytes)
			}
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
// to target. The directory, named .BASE.gendaemon-*, is locked while it is
// built, so that a later run can tell one that a killed run left (and
// remove it) from one that another run is building.
func writeNew(ctx context.Context, target string, files []File) (err error) {
	parent, base := filepath.Split(target)
	removeAbandoned(parent, base)
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
	lock, err := root.Open(".")
	if err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	defer lock.Close()
	if err := lockFile(lock, true); err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	if err := root.Chmod(".", DirMode); err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	for _, d := range dirsOf(files) {
		if err := mkdir(root, d); err != nil {
			return fmt.Errorf("create %s: %w", target, err)
		}
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("create %s: %w: nothing written", target, err)
		}
		if err := writeFile(root, f.Path, f); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(target, filepath.FromSlash(f.Path)), err)
		}
	}
	if err := syncDirs(root, files); err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("create %s: %w: nothing written", target, err)
	}
	// Rename replaces target only if it is still missing (or an empty
	// directory that appeared since plan).
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	return syncDir(os.Open(parent))
}

// removeAbandoned removes the directories .BASE.gendaemon-* in parent that
// a killed writeNew left: those that nobody holds a lock on. It is best
// effort: what it cannot remove stays, and is no obstacle.
func removeAbandoned(parent, base string) {
	matches, _ := filepath.Glob(filepath.Join(parent, "."+globEscape(base)+".gendaemon-*"))
	for _, m := range matches {
		fi, err := os.Lstat(m)
		if err != nil || !fi.IsDir() {
			continue
		}
		d, err := os.Open(m)
		if err != nil {
			continue
		}
		free, err := tryLockFile(d)
		if err == nil && free {
			os.RemoveAll(m)
		}
		d.Close()
	}
}

// globEscape escapes the metacharacters of filepath.Match in s.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writeInPlace writes files into the existing directory target, which is
// not a project yet (new --force), as one transaction: see write_tx.go.
func writeInPlace(ctx context.Context, target string, files []File) error {
	root, err := os.OpenRoot(target)
	if err != nil {
		return fmt.Errorf("write into %s: %w", target, err)
	}
	defer root.Close()
	lock, err := root.Open(".")
	if err != nil {
		return fmt.Errorf("write into %s: %w", target, err)
	}
	defer lock.Close()
	if err := lockFile(lock, true); err != nil {
		return fmt.Errorf("lock %s: %w", target, err)
	}
	fsys := rootFS{root}
	if _, err := recoverTx(root, fsys, target); err != nil {
		return err
	}
	old := map[string]string{}
	for _, f := range files {
		if old[f.Path], err = sumOf(root, f.Path); err != nil {
			return fmt.Errorf("write into %s: %w", target, err)
		}
	}
	t := newTx(root, fsys, target, files, nil, old)
	return t.run(ctx, func() error {
		for _, f := range files {
			if sum, err := sumOf(root, f.Path); err != nil || sum != old[f.Path] {
				return fmt.Errorf("%s: %w: nothing written; run the command again", filepath.Join(target, f.Path), ErrChanged)
			}
		}
		return nil
	})
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
