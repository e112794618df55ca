package generator

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"golang.org/x/mod/modfile"
)

// A State is how a file of an existing project compares with what its
// options render now.
type State int

const (
	// Current: the file is byte-identical to what Render produces.
	Current State = iota + 1

	// Stale: a generated file still holds what gendaemon wrote (its bytes
	// have the sum the manifest records), but the options or gendaemon
	// changed since. regen updates it.
	Stale

	// Edited: a generated file whose bytes differ both from what gendaemon
	// wrote and from what it renders now: someone edited it by hand. regen
	// refuses to overwrite it without force.
	Edited

	// Missing: a generated file that Render produces is not on disk. regen
	// creates it.
	Missing

	// Orphaned: a generated file that the manifest records and that is on
	// disk, but that the options no longer produce. regen removes it if it
	// is unedited.
	Orphaned
)

// String returns the state as check prints it.
func (s State) String() string {
	switch s {
	case Current:
		return "current"
	case Stale:
		return "stale"
	case Edited:
		return "edited"
	case Missing:
		return "missing"
	case Orphaned:
		return "orphaned"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// An Action is what regen does with a file.
type Action int

const (
	Unchanged Action = iota + 1 // nothing: the bytes are already right
	Update                      // replace the file with the rendered bytes
	Create                      // create the file
	Remove                      // remove the file
)

// String returns the past tense that regen prints: "unchanged", "updated",
// "created" or "removed".
func (a Action) String() string {
	switch a {
	case Unchanged:
		return "unchanged"
	case Update:
		return "updated"
	case Create:
		return "created"
	case Remove:
		return "removed"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// A Change is one file of a Plan: what is on disk, what Render produced,
// and what regen does about it.
type Change struct {
	Path   string
	Owner  Owner
	State  State
	Action Action
	Disk   []byte // the file's bytes on disk; nil if it is missing
	Data   []byte // the rendered bytes; nil for Remove
	Mode   fs.FileMode
}

// Diff returns a unified diff from the file on disk to what regen writes
// (for an edited file: the hand edits, reversed), or "" if there is none.
func (c Change) Diff() string {
	return udiff.Unified(c.Path+" (on disk)", c.Path+" (regen)", string(c.Disk), string(c.Data))
}

// EditDiff returns a unified diff from what gendaemon renders to the file
// on disk: for an edited file, the hand edits.
func (c Change) EditDiff() string {
	return udiff.Unified(c.Path+" (gendaemon)", c.Path+" (edited)", string(c.Data), string(c.Disk))
}

// A Plan is everything regen would do to a project, computed without
// writing: one Change per generated file that Render produces or that the
// manifest records, and one per scaffold file that the new options add,
// sorted by path, with the manifest last.
type Plan struct {
	Dir     string
	Changes []Change
}

// Edited returns the changes whose files were edited by hand.
func (p *Plan) Edited() []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.State == Edited {
			out = append(out, c)
		}
	}
	return out
}

// Clean reports whether every generated file is current: what check
// requires.
func (p *Plan) Clean() bool {
	for _, c := range p.Changes {
		if c.Owner == Generated && c.State != Current {
			return false
		}
	}
	return true
}

// LoadManifest reads and parses dir/gendaemon.yaml (see ParseManifest); its
// errors name the file. It does not follow a symbolic link.
func LoadManifest(dir string) (Manifest, error) {
	name := filepath.Join(dir, ManifestName)
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, conflictf("%s: no such directory: give the directory of a project that gendaemon new created", dir)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest: %w", err)
	}
	defer root.Close()
	data, ok, err := readRegular(root, ManifestName)
	switch {
	case err != nil:
		return Manifest{}, fmt.Errorf("read %s: %w", name, err)
	case !ok:
		where := dir
		if filepath.Clean(dir) == "." {
			where = "the current directory"
		}
		return Manifest{}, conflictf("%s is not a gendaemon project (no %s): give the directory of one, or create one with gendaemon new NAME", where, ManifestName)
	}
	return parseManifest(name, data)
}

// Compare renders the project that opts describe and compares it with the
// project in dir, whose manifest (as LoadManifest returned it) is old. It
// reads but never writes. A symbolic link where a generated file or its
// directory should be is a conflict (ErrConflict), and so is a go.mod that
// declares a module other than opts.Module: go.mod is the user's, so the
// generated main.go would import packages the module does not have.
func Compare(dir string, old Manifest, opts Options) (*Plan, error) {
	files, err := Render(opts)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", dir, err)
	}
	defer root.Close()

	if err := checkGoMod(root, old, opts); err != nil {
		return nil, err
	}

	recorded := map[string]ManifestFile{}
	for _, f := range old.Files {
		recorded[f.Path] = f
	}
	p := &Plan{Dir: dir}
	rendered := map[string]bool{}
	var manifest *Change
	for _, f := range files {
		rendered[f.Path] = true
		disk, exists, err := readRegular(root, f.Path)
		if err != nil {
			return nil, fmt.Errorf("compare %s: %w", dir, err)
		}
		c := Change{Path: f.Path, Owner: f.Owner, Data: f.Data, Mode: f.Mode}
		if exists {
			c.Disk = disk
		}
		rec, wasRecorded := recorded[f.Path]
		switch {
		case f.Owner == Scaffold:
			// The user's: created only if the new options add it and
			// nothing is in its place.
			if wasRecorded || exists {
				continue
			}
			c.State, c.Action = Missing, Create
		case !exists:
			c.State, c.Action = Missing, Create
		case string(disk) == string(f.Data):
			c.State, c.Action = Current, Unchanged
		case f.Path == ManifestName:
			// The manifest is meant to be edited; regen rewrites it in
			// the form it writes.
			c.State, c.Action = Stale, Update
		case wasRecorded && rec.Owner == Generated && rec.Sum == FileSum(disk):
			c.State, c.Action = Stale, Update
		default:
			c.State, c.Action = Edited, Update
		}
		if f.Path == ManifestName {
			manifest = &c
			continue
		}
		p.Changes = append(p.Changes, c)
	}
	for _, rec := range old.Files {
		if rec.Owner != Generated || rendered[rec.Path] {
			continue
		}
		disk, exists, err := readRegular(root, rec.Path)
		if err != nil {
			return nil, fmt.Errorf("compare %s: %w", dir, err)
		}
		if !exists {
			continue // already gone; the new manifest forgets it
		}
		c := Change{Path: rec.Path, Owner: Generated, State: Orphaned, Action: Remove, Disk: disk}
		if rec.Sum != FileSum(disk) {
			c.State = Edited
		}
		p.Changes = append(p.Changes, c)
	}
	slices.SortFunc(p.Changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	if manifest == nil {
		return nil, fmt.Errorf("compare %s: Render made no %s", dir, ManifestName)
	}
	// Written last, so that until it is, the old sums describe the files.
	p.Changes = append(p.Changes, *manifest)
	return p, nil
}

// checkGoMod returns an error wrapping ErrConflict if the go.mod in root
// declares a module path other than opts.Module, whose generated imports
// would then not build. A missing go.mod is left to the go command.
func checkGoMod(root *os.Root, old Manifest, opts Options) error {
	data, ok, err := readRegular(root, "go.mod")
	if err != nil {
		return fmt.Errorf("read go.mod: %w", err)
	}
	if !ok {
		return nil
	}
	declared := modfile.ModulePath(data)
	if declared == opts.Module {
		return nil
	}
	says, then := ManifestName+" says", "gendaemon regen"
	if opts.Module != old.Module {
		says, then = "--module says", "gendaemon regen --module "+opts.Module
	}
	if declared == "" {
		return conflictf("go.mod declares no module path but %s %s: run \"go mod edit -module %s\", then %s",
			says, opts.Module, opts.Module, then)
	}
	return conflictf("go.mod declares module %s but %s %s: run \"go mod edit -module %s\" (and update your imports), then %s",
		declared, says, opts.Module, opts.Module, then)
}

// readRegular reads the file name in root. It reports ok false if the file
// does not exist, and an error wrapping ErrConflict if name or a directory
// on its way is a symbolic link, or name is not a regular file.
func readRegular(root *os.Root, name string) (data []byte, ok bool, err error) {
	elems := strings.Split(name, "/")
	for i := range elems {
		rel := path.Join(elems[:i+1]...)
		fi, err := root.Lstat(rel)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		last := i == len(elems)-1
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return nil, false, conflictf("%s is a symbolic link: gendaemon does not read or write through links", rel)
		case !last && !fi.IsDir():
			return nil, false, conflictf("%s is not a directory, but %s needs it to be", rel, name)
		case last && !fi.Mode().IsRegular():
			return nil, false, conflictf("%s exists and is not a regular file", rel)
		}
	}
	f, err := root.OpenFile(name, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	data, err = io.ReadAll(f)
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}
