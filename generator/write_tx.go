package generator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// A project-level transaction changes the files of an existing project so
// that, whatever happens, the project ends up either as it was or as the
// plan says, never in between:
//
//  1. Every new file is written to .gendaemon/stage/N (N its index in the
//     journal), and flushed.
//  2. Nothing is committed yet: a failure, or a cancelled context (SIGINT),
//     removes the staged files and leaves the project as it was. A crash
//     leaves .gendaemon/stage, which the next run removes (Recover).
//  3. The journal, .gendaemon/journal, records every step: which file each
//     staged file replaces, which files are removed, and the checksum of
//     each file before and after. It is written under a temporary name and
//     renamed into place: that rename is the commit.
//  4. The steps are carried out, the manifest last; then the journal and
//     .gendaemon are removed. A failure or crash here leaves the journal,
//     and the next run (Recover) carries out the steps that are left, each
//     of which it can tell done from not done by the checksums.
//
// Every step goes through a txFS, so that tests can fail each in turn.
const (
	stateDir    = ".gendaemon"
	stageDir    = stateDir + "/stage"
	journalName = stateDir + "/journal"
	journalTemp = stateDir + "/journal.new"
)

// journalVersion is the version of the journal's format.
const journalVersion = 1

// A journal is the record of a committed transaction.
type journal struct {
	Version int    `json:"version"`
	Ops     []txOp `json:"ops"`
}

// A txOp is one step of a transaction: put the staged file stage/Index at
// Path, or remove Path.
type txOp struct {
	Path   string `json:"path"`
	Remove bool   `json:"remove,omitempty"`
	Old    string `json:"old,omitempty"` // the file's sum before; "" if it was missing
	New    string `json:"new,omitempty"` // the file's sum after a write
}

// stageName returns the name of the staged file of step i.
func stageName(i int) string { return stageDir + "/" + strconv.Itoa(i) }

// ErrInterrupted is wrapped by the errors of check and diff when a regen
// was interrupted and the next regen must complete it first.
var ErrInterrupted = errors.New("interrupted regen")

// A tx is one transaction in the project opened as root.
type tx struct {
	root  *os.Root
	fsys  txFS
	dir   string // the project's directory, for errors
	j     journal
	files []File // by step; nil data for a removal
}

// newTx returns the transaction that writes writes and removes removes (old
// holds the sum of each path's current bytes, "" if it is missing) in the
// project opened as root. The manifest, if written, is the last step.
func newTx(root *os.Root, fsys txFS, dir string, writes []File, removes []string, old map[string]string) *tx {
	t := &tx{root: root, fsys: fsys, dir: dir, j: journal{Version: journalVersion}}
	var manifest *File
	for _, f := range writes {
		if f.Path == ManifestName {
			manifest = &f
			continue
		}
		t.add(txOp{Path: f.Path, Old: old[f.Path], New: FileSum(f.Data)}, f)
	}
	for _, p := range removes {
		t.add(txOp{Path: p, Remove: true, Old: old[p]}, File{Path: p})
	}
	if manifest != nil {
		t.add(txOp{Path: ManifestName, Old: old[ManifestName], New: FileSum(manifest.Data)}, *manifest)
	}
	return t
}

func (t *tx) add(op txOp, f File) {
	t.j.Ops = append(t.j.Ops, op)
	t.files = append(t.files, f)
}

// run stages, checks with verify that nothing changed on disk, commits and
// carries out the transaction. Until the commit, a failure or the end of
// ctx undoes everything; after it, ctx is ignored (the steps left are
// renames) and a failure leaves the journal for Recover.
func (t *tx) run(ctx context.Context, verify func() error) (err error) {
	if err := t.stage(ctx); err != nil {
		return t.abort(err)
	}
	if err := verify(); err != nil {
		return t.abort(err)
	}
	if err := ctx.Err(); err != nil {
		return t.abort(fmt.Errorf("regen %s: %w: nothing written", t.dir, err))
	}
	if err := t.commit(); err != nil {
		return t.abort(err)
	}
	if err := rollForward(t.root, t.fsys, t.j); err != nil {
		return fmt.Errorf("regen %s: %w; the next gendaemon regen completes it", t.dir, err)
	}
	return cleanState(t.fsys, t.dir)
}

// stage creates stateDir and stageDir and writes every file there.
func (t *tx) stage(ctx context.Context) error {
	switch _, err := t.root.Lstat(stateDir); {
	case errors.Is(err, fs.ErrNotExist):
		if err := t.fsys.Mkdir(stateDir); err != nil {
			return fmt.Errorf("create %s in %s: %w", stateDir, t.dir, err)
		}
	case err != nil:
		return fmt.Errorf("regen %s: %w", t.dir, err)
	}
	if err := t.fsys.Mkdir(stageDir); err != nil {
		return fmt.Errorf("create %s in %s: %w", stageDir, t.dir, err)
	}
	for i, f := range t.files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("regen %s: %w: nothing written", t.dir, err)
		}
		if t.j.Ops[i].Remove {
			continue
		}
		// A name that cannot exist (too long, say) must fail here, not
		// in a rename after the commit.
		if _, err := t.root.Lstat(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write %s: %w", path.Join(t.dir, f.Path), err)
		}
		if err := t.fsys.WriteFile(stageName(i), f.Data, f.Mode); err != nil {
			return fmt.Errorf("write %s: %w", path.Join(t.dir, f.Path), err)
		}
	}
	return nil
}

// commit writes the journal under a temporary name, flushes it and renames
// it into place.
func (t *tx) commit() error {
	data, err := json.MarshalIndent(t.j, "", "\t")
	if err != nil {
		return err
	}
	if err := t.fsys.SyncDir(stageDir); err != nil {
		return fmt.Errorf("regen %s: %w", t.dir, err)
	}
	if err := t.fsys.WriteFile(journalTemp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("regen %s: write journal: %w", t.dir, err)
	}
	if err := t.fsys.Rename(journalTemp, journalName); err != nil {
		return fmt.Errorf("regen %s: commit journal: %w", t.dir, err)
	}
	if err := t.fsys.SyncDir(stateDir); err != nil {
		// The rename happened: the transaction is committed even if the
		// flush failed, so it must not be undone.
		if _, serr := t.root.Lstat(journalName); serr == nil {
			return nil
		}
		return fmt.Errorf("regen %s: commit journal: %w", t.dir, err)
	}
	return nil
}

// abort undoes an uncommitted transaction, adding any failure to err.
func (t *tx) abort(err error) error {
	if rerr := rollBack(t.root, t.fsys); rerr != nil {
		return fmt.Errorf("%w (and undoing it: %v; the next gendaemon regen removes what is left)", err, rerr)
	}
	return err
}

// rollBack removes what an uncommitted transaction left: the staged files,
// the temporary journal, and stateDir if it is then empty.
func rollBack(root *os.Root, fsys txFS) error {
	entries, err := fs.ReadDir(root.FS(), stageDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if err := fsys.Remove(stageDir + "/" + e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for _, name := range []string{stageDir, journalTemp} {
		if err := fsys.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return removeStateDir(fsys)
}

// removeStateDir removes stateDir if it is empty.
func removeStateDir(fsys txFS) error {
	err := fsys.Remove(stateDir)
	if err == nil || errors.Is(err, fs.ErrNotExist) || isNotEmpty(err) {
		return nil
	}
	return err
}

// cleanState ends a carried-out transaction: it removes the journal, then
// the staging directory and stateDir.
func cleanState(fsys txFS, dir string) error {
	if err := fsys.Remove(journalName); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("regen %s: remove journal: %w; the next gendaemon regen removes it", dir, err)
	}
	for _, name := range []string{stageDir, journalTemp} {
		if err := fsys.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("regen %s: remove %s: %w", dir, name, err)
		}
	}
	if err := removeStateDir(fsys); err != nil {
		return fmt.Errorf("regen %s: remove %s: %w", dir, stateDir, err)
	}
	if err := fsys.SyncDir("."); err != nil {
		return fmt.Errorf("regen %s: %w", dir, err)
	}
	return nil
}

// rollForward carries out the steps of the committed journal j that are
// not done yet. A step is done when its file has its New sum (or, for a
// removal, is missing); a step whose file has neither its Old nor its New
// sum was changed by someone else since, and stops the roll forward.
func rollForward(root *os.Root, fsys txFS, j journal) error {
	dirs := map[string]bool{".": true}
	for i, op := range j.Ops {
		cur, err := sumOf(root, op.Path)
		if err != nil {
			return err
		}
		if op.Remove {
			switch {
			case cur == "":
				continue
			case cur != op.Old:
				return conflictf("%s changed since the interrupted regen: move it away, then run gendaemon regen", op.Path)
			}
			if err := fsys.Remove(op.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove %s: %w", op.Path, err)
			}
			dirs[path.Dir(op.Path)] = true
			continue
		}
		staged := stageName(i)
		if _, err := root.Lstat(staged); errors.Is(err, fs.ErrNotExist) {
			if cur != op.New {
				return fmt.Errorf("%s: the staged copy of %s is missing: run gendaemon regen --force", staged, op.Path)
			}
			continue
		}
		// A file moved away loses nothing; one changed by someone else
		// since the crash would be.
		if cur != op.Old && cur != op.New && cur != "" {
			return conflictf("%s changed since the interrupted regen: move it away, then run gendaemon regen", op.Path)
		}
		if err := mkdirAll(root, fsys, path.Dir(op.Path)); err != nil {
			return err
		}
		if err := fsys.Rename(staged, op.Path); err != nil {
			return fmt.Errorf("write %s: %w", op.Path, err)
		}
		dirs[path.Dir(op.Path)] = true
	}
	for d := range dirs {
		if err := fsys.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// mkdirAll creates the directory name in root and its missing parents. A
// symbolic link or a file on the way is a conflict.
func mkdirAll(root *os.Root, fsys txFS, name string) error {
	if name == "." {
		return nil
	}
	elems := strings.Split(name, "/")
	for i := range elems {
		d := path.Join(elems[:i+1]...)
		fi, err := root.Lstat(d)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := fsys.Mkdir(d); err != nil {
				return fmt.Errorf("create %s: %w", d, err)
			}
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return conflictf("%s is a symbolic link: gendaemon does not write through links", d)
		case !fi.IsDir():
			return conflictf("%s is not a directory, but gendaemon needs it to be", d)
		}
	}
	return nil
}

// sumOf returns the sum of the regular file name in root, or "" if it is
// missing.
func sumOf(root *os.Root, name string) (string, error) {
	data, ok, err := readRegular(root, name)
	if err != nil || !ok {
		return "", err
	}
	return FileSum(data), nil
}

// Recovered says what Recover did.
type Recovered int

const (
	NothingToRecover Recovered = iota // no transaction was interrupted
	RolledBack                        // an uncommitted one was undone
	Completed                         // a committed one was carried out
)

// recoverTx finds what an interrupted transaction left in the project
// opened as root and completes it (a committed journal) or undoes it. The
// caller holds the project's lock exclusively.
func recoverTx(root *os.Root, fsys txFS, dir string) (Recovered, error) {
	fi, err := root.Lstat(stateDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return NothingToRecover, nil
	case err != nil:
		return 0, fmt.Errorf("recover %s: %w", dir, err)
	case !fi.IsDir():
		return 0, conflictf("%s in %s is not a directory: gendaemon keeps its journal there; move it away", stateDir, dir)
	}
	data, ok, err := readRegular(root, journalName)
	if err != nil {
		return 0, fmt.Errorf("recover %s: %w", dir, err)
	}
	if !ok {
		if !interrupted(root) {
			// An empty stateDir that a failed clean-up left.
			return NothingToRecover, removeStateDir(fsys)
		}
		if err := rollBack(root, fsys); err != nil {
			return 0, fmt.Errorf("recover %s: undo the interrupted regen: %w", dir, err)
		}
		return RolledBack, nil
	}
	j, err := parseJournal(data)
	if err != nil {
		return 0, fmt.Errorf("recover %s: %s: %w", dir, journalName, err)
	}
	if err := rollForward(root, fsys, j); err != nil {
		return 0, fmt.Errorf("recover %s: complete the interrupted regen: %w", dir, err)
	}
	if err := cleanState(fsys, dir); err != nil {
		return 0, err
	}
	return Completed, nil
}

// interrupted reports whether the project opened as root holds what an
// interrupted transaction left.
func interrupted(root *os.Root) bool {
	for _, name := range []string{journalName, stageDir, journalTemp} {
		if _, err := root.Lstat(name); err == nil {
			return true
		}
	}
	return false
}

// parseJournal parses a journal strictly and checks that every step names
// a path that gendaemon can write: a journal is a file like any other, and
// a crafted one must not make Recover touch anything else.
func parseJournal(data []byte) (journal, error) {
	var j journal
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return journal{}, fmt.Errorf("invalid journal: %w", err)
	}
	if j.Version != journalVersion {
		return journal{}, fmt.Errorf("journal version %d: want %d", j.Version, journalVersion)
	}
	own, err := producible()
	if err != nil {
		return journal{}, err
	}
	for _, op := range j.Ops {
		switch {
		case !own.has(op.Path):
			return journal{}, conflictf("journal names %q, which gendaemon never writes", op.Path)
		case op.Old != "" && !sumPattern.MatchString(op.Old),
			op.New != "" && !sumPattern.MatchString(op.New),
			op.Remove != (op.New == ""):
			return journal{}, fmt.Errorf("invalid journal: step %s: bad sums", op.Path)
		}
	}
	return j, nil
}
