package generator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
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

	// Stray: a file in a folder that gendaemon owns (internal/daemon) that
	// gendaemon did not write. regen leaves it alone; check fails until it
	// is moved away, since it would be compiled into the package.
	Stray

	// Conflicted: a generated file that still holds the conflict markers
	// of a merge that regen could not finish. check fails until they are
	// resolved.
	Conflicted

	// Debris: a temporary file that gendaemon 0.1.0 left beside a file it
	// writes when it was interrupted (.main.go.gendaemon-XXXXXXXX). regen
	// removes it.
	Debris
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
	case Stray:
		return "stray"
	case Conflicted:
		return "conflict"
	case Debris:
		return "debris"
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
	Keep                        // leave a file that is not gendaemon's alone
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
	case Keep:
		return "kept"
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

	// Merge, for an edited generated file with a merge base, is the hand
	// edits merged with what changed in gendaemon's rendering since it
	// last wrote the file: what regen writes without force.
	Merge *Merge
}

// writes returns what regen writes for c, and whether it writes at all:
// with force the rendered bytes, without it the merge if there is one
// (nothing if the merge is the file as it is, or the file holds
// unresolved conflicts).
func (c Change) writes(force bool) ([]byte, bool) {
	switch {
	case c.Action != Update && c.Action != Create:
		return nil, false
	case force:
		return c.Data, true
	case c.State == Conflicted:
		return nil, false
	case c.Merge != nil:
		return c.Merge.Data, string(c.Merge.Data) != string(c.Disk)
	}
	return c.Data, true
}

// Outcome returns what regen does with c, as it prints it: the Action's
// word, or for a hand-edited file without force "merged" (the edits kept
// in the new version), "conflict" (written with conflict markers), "kept"
// (nothing changed under the edits, or unresolved conflicts stay).
func (c Change) Outcome(force bool) string {
	switch {
	case force || c.Action != Update:
		return c.Action.String()
	case c.State == Conflicted:
		return "kept"
	case c.Merge == nil:
		return c.Action.String()
	case c.Merge.Conflicts > 0:
		return "conflict"
	case string(c.Merge.Data) == string(c.Disk):
		return "kept"
	}
	return "merged"
}

// Diff returns a patch from the file on disk to what regen writes (for an
// edited file: the hand edits, reversed), or "" if there is none. It is in
// git's form, which git apply and patch -p1 accept in the project's
// directory: a/ and b/ prefixes, /dev/null for a created or removed file.
func (c Change) Diff() string {
	data := c.Data
	switch {
	case c.Action == Remove:
		data = nil
	case c.Action == Keep:
		return ""
	case c.State == Conflicted:
		return ""
	case c.Merge != nil:
		data = c.Merge.Data
	}
	return gitDiff(c.Path, c.Disk, data, c.Mode)
}

// EditDiff returns a unified diff from what gendaemon renders to the file
// on disk: for an edited file, the hand edits.
func (c Change) EditDiff() string {
	return udiff.Unified(c.Path+" (gendaemon)", c.Path+" (edited)", string(c.Data), string(c.Disk))
}

// gitDiff returns the patch from old to new for the file name, where nil
// means missing, in git's form; "" if they are equal.
func gitDiff(name string, old, new []byte, mode fs.FileMode) string {
	from, to := "a/"+name, "b/"+name
	head := fmt.Sprintf("diff --git a/%s b/%s\n", name, name)
	gitMode := fmt.Sprintf("%06o", 0o100000|uint32(mode.Perm()))
	switch {
	case old == nil && new == nil:
		return ""
	case old == nil:
		head += "new file mode " + gitMode + "\n"
		from = "/dev/null"
	case new == nil:
		head += "deleted file mode 100644\n"
		to = "/dev/null"
	}
	u := udiff.Unified(from, to, string(old), string(new))
	if u == "" {
		return ""
	}
	return head + u
}

// A Plan is everything regen would do to a project, computed without
// writing: one Change per generated file that Render produces or that the
// manifest records, one per scaffold file that the new options add, and
// one per stray file in a folder gendaemon owns, sorted by path, with the
// manifest last.
type Plan struct {
	Dir     string
	Changes []Change

	// Ignored lists the paths that the manifest records as generated but
	// that no options of gendaemon ever produce (a hand-merged or crafted
	// manifest): regen neither removes nor rewrites them, and the manifest
	// it writes forgets them.
	Ignored []string

	// ScaffoldDiffs holds, after an upgrade of gendaemon, for each file
	// of the user's (scaffold) that gendaemon now renders differently from
	// when it wrote the project,
	// the patch from then to now, in git's form: regen never touches these
	// files, so an upgrade that changes what service.go must provide
	// arrives as a patch to apply (git apply -3 merges it with the user's
	// changes).
	ScaffoldDiffs []string

	// NoMerge, if not empty, says why hand edits could not be merged.
	NoMerge string

	// newBase holds the files of the new merge base, or nil if the one
	// on disk is current; Apply archives them (check never needs to).
	newBase []File
}

// Edited returns the changes whose hand edits regen would lose: files
// edited by hand that it cannot merge (there is no merge base), or would
// remove. Without force, regen refuses them.
func (p *Plan) Edited() []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.State == Edited && c.Merge == nil {
			out = append(out, c)
		}
	}
	return out
}

// Conflicts returns the changes that regen writes with conflict markers,
// or that still hold the markers of an earlier regen.
func (p *Plan) Conflicts() []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.State == Conflicted || c.Merge != nil && c.Merge.Conflicts > 0 {
			out = append(out, c)
		}
	}
	return out
}

// Clean reports whether every generated file is current and no stray file
// is in a folder gendaemon owns: what check requires.
func (p *Plan) Clean() bool {
	return len(p.Problems()) == 0
}

// Problems returns the changes that make check fail.
func (p *Plan) Problems() []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Owner == Generated && c.State != Current {
			out = append(out, c)
		}
	}
	return out
}

// LoadManifest reads and parses dir/gendaemon.yaml (see ParseManifest); its
// errors name the file. It does not follow a symbolic link.
func LoadManifest(dir string) (Manifest, error) {
	root, err := openProjectRoot(dir)
	if err != nil {
		return Manifest{}, err
	}
	defer root.Close()
	return loadManifest(root, dir)
}

// openProjectRoot opens dir, which must be a directory, as a root.
func openProjectRoot(dir string) (*os.Root, error) {
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, conflictf("%s: no such directory: give the directory of a project that gendaemon new created", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open project: %w", err)
	}
	return root, nil
}

// loadManifest reads the manifest of the project in dir, opened as root.
func loadManifest(root *os.Root, dir string) (Manifest, error) {
	name := filepath.Join(dir, ManifestName)
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
	m, err := parseManifest(name, data)
	if err != nil {
		return Manifest{}, err
	}
	if err := checkGenerator(name, m.Generator); err != nil {
		return Manifest{}, err
	}
	m.raw = data
	return m, nil
}

// FindProject returns the directory of the project that start is in: start
// itself if it holds a gendaemon.yaml, or else the nearest of its parents
// that does, as the go command finds go.mod. If there is none, it returns
// start, whose error then says it is not a project.
func FindProject(start string) string {
	abs, err := filepath.Abs(start)
	if err != nil {
		return start
	}
	for d := abs; ; d = filepath.Dir(d) {
		if fi, err := os.Lstat(filepath.Join(d, ManifestName)); err == nil && fi.Mode().IsRegular() {
			if d == abs {
				return start
			}
			return d
		}
		if filepath.Dir(d) == d {
			return start
		}
	}
}

// renderManifest returns the manifest that the template writes for the
// values of m.
func renderManifest(m Manifest) ([]byte, error) {
	opts, err := m.Options()
	if err != nil {
		return nil, err
	}
	m.raw = nil
	return execute(ManifestName+".tmpl", templateData{Options: opts, Manifest: m})
}

// hasConflictMarkers reports whether data holds the markers of a merge
// conflict that regen wrote.
func hasConflictMarkers(data []byte) bool {
	return bytes.Contains(data, []byte("\n"+conflictStart)) || bytes.HasPrefix(data, []byte(conflictStart))
}

// A Project is an existing project, opened and locked for regen (which
// holds its lock exclusively) or for check and diff (which share it), so
// that no run of gendaemon sees another's half-written files. Close it.
type Project struct {
	Dir      string
	Manifest Manifest

	// Recovered says what opening it for regen did about a regen that
	// was interrupted before.
	Recovered Recovered

	root *os.Root
	lock *os.File
	fsys txFS
}

// OpenProject opens and locks the project in dir and reads its manifest.
// With write (regen), it takes the lock exclusively and first completes or
// undoes a regen that was interrupted (see Recovered); otherwise (check,
// diff) it shares the lock and fails with an error wrapping ErrInterrupted
// if a regen is pending. A manifest that a newer gendaemon wrote is
// refused: ErrConflict, naming both versions.
func OpenProject(dir string, write bool) (*Project, error) {
	return openProject(dir, write, nil)
}

// openProject is OpenProject whose changes go through wrap(the real txFS),
// for tests; a nil wrap means the real one.
func openProject(dir string, write bool, wrap func(txFS) txFS) (_ *Project, err error) {
	root, err := openProjectRoot(dir)
	if err != nil {
		return nil, err
	}
	p := &Project{Dir: dir, root: root, fsys: rootFS{root}}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if wrap != nil {
		p.fsys = wrap(p.fsys)
	}
	if p.lock, err = root.Open("."); err != nil {
		return nil, fmt.Errorf("open project: %w", err)
	}
	if err := lockFile(p.lock, write); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if write {
		// The manifest, too, may be half-written until this is done.
		if p.Recovered, err = recoverTx(root, p.fsys, dir); err != nil {
			return nil, err
		}
	} else if interrupted(root) {
		return nil, fmt.Errorf("%s: %w: run gendaemon regen to complete it (or undo it, if it had not got far)", dir, ErrInterrupted)
	}
	if p.Manifest, err = loadManifest(root, dir); err != nil {
		return nil, err
	}
	return p, nil
}

// Close releases the project's lock.
func (p *Project) Close() error {
	var err error
	if p.lock != nil {
		err = p.lock.Close()
	}
	if cerr := p.root.Close(); err == nil {
		err = cerr
	}
	return err
}

// Compare renders the project that opts describe and compares it with the
// project on disk. It reads but never writes. A symbolic link where a
// generated file or its directory should be is a conflict (ErrConflict),
// and so is a go.mod that declares a module other than opts.Module: go.mod
// is the user's, so the generated main.go would import packages the module
// does not have.
func (pr *Project) Compare(opts Options) (*Plan, error) {
	old := pr.Manifest
	files, err := Render(opts)
	if err != nil {
		return nil, err
	}
	root, dir := pr.root, pr.Dir
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
		c, keep, err := compareFile(root, f, recorded)
		if err != nil {
			return nil, fmt.Errorf("compare %s: %w", dir, err)
		}
		if !keep {
			continue
		}
		if f.Path == ManifestName {
			manifest = &c
			continue
		}
		p.Changes = append(p.Changes, c)
	}
	if manifest != nil && old.raw != nil {
		// The user's comments and layout stay.
		base, err := renderManifest(old)
		if err != nil {
			return nil, err
		}
		manifest.Data = keepLayout(old.raw, base, manifest.Data, opts.Name)
		if string(manifest.Data) == string(manifest.Disk) {
			manifest.State, manifest.Action = Current, Unchanged
		}
	}
	// The paths gendaemon can write, rendered only when needed: it takes
	// a few renders.
	var own *pathSet
	owns := func(p string) (bool, error) {
		if own == nil {
			set, err := producible()
			if err != nil {
				return false, err
			}
			own = &set
		}
		return own.has(p), nil
	}
	for _, rec := range old.Files {
		if rec.Owner != Generated || rendered[rec.Path] {
			continue
		}
		ok, err := owns(rec.Path)
		if err != nil {
			return nil, err
		}
		if !ok {
			p.Ignored = append(p.Ignored, rec.Path)
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
	strays, err := strayFiles(root, rendered, recorded)
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", dir, err)
	}
	p.Changes = append(p.Changes, strays...)
	debris, err := debrisFiles(root, files, owns)
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", dir, err)
	}
	p.Changes = append(p.Changes, debris...)
	if err := pr.mergeEdits(p, files, recorded, opts); err != nil {
		return nil, err
	}
	slices.SortFunc(p.Changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	if manifest == nil {
		return nil, fmt.Errorf("compare %s: Render made no %s", dir, ManifestName)
	}
	// Written last, so that until it is, the old sums describe the files.
	p.Changes = append(p.Changes, *manifest)
	return p, nil
}

// mergeEdits merges the hand edits of every edited generated file of p
// with what changed in gendaemon's rendering since it wrote the file,
// when the merge base holds the file as gendaemon wrote it (its sum is
// the manifest's); lists the changes of the scaffold files; and sets the
// new merge base.
func (pr *Project) mergeEdits(p *Plan, files []File, recorded map[string]ManifestFile, opts Options) error {
	base := pr.loadBase()
	// After an upgrade: what the new version's scaffold changed.
	for _, f := range files {
		if pr.Manifest.Generator == "gendaemon "+Version || f.Owner != Scaffold || recorded[f.Path].Owner != Scaffold {
			continue
		}
		if b, ok := base[f.Path]; ok && string(b) != string(f.Data) {
			p.ScaffoldDiffs = append(p.ScaffoldDiffs, gitDiff(f.Path, b, f.Data, f.Mode))
		}
	}
	labels := [3]string{"yours", pr.Manifest.Generator, "gendaemon " + Version}
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.State != Edited || c.Action != Update || c.Path == ManifestName {
			continue
		}
		b, ok := base[c.Path]
		if rec := recorded[c.Path]; !ok || rec.Owner != Generated || FileSum(b) != rec.Sum {
			continue
		}
		if string(b) == string(c.Data) {
			c.Merge = &Merge{Data: c.Disk} // nothing changed under the edits
			continue
		}
		m, err := merge3(c.Disk, b, c.Data, labels)
		if errors.Is(err, errNoMerge) {
			p.NoMerge = err.Error()
			continue
		}
		if err != nil {
			return fmt.Errorf("merge %s: %w", c.Path, err)
		}
		c.Merge = &m
	}
	if !baseHolds(base, files) {
		p.newBase = files
	}
	return nil
}

// baseHolds reports whether the merge base base holds exactly files, but
// the manifest.
func baseHolds(base map[string][]byte, files []File) bool {
	n := 0
	for _, f := range files {
		if f.Path == ManifestName {
			continue
		}
		if b, ok := base[f.Path]; !ok || string(b) != string(f.Data) {
			return false
		}
		n++
	}
	return n == len(base)
}

// loadBase returns the project's merge base, or nil if it has none or it
// cannot be read: then hand edits cannot be merged, as before there was
// a base.
func (pr *Project) loadBase() map[string][]byte {
	data, ok, err := readRegular(pr.root, BaseName)
	if err != nil || !ok {
		return legacyBase(pr.Manifest)
	}
	base, err := decodeBase(data)
	if err != nil {
		return nil
	}
	return base
}

// compareFile compares the rendered file f with the disk; keep is false
// for a scaffold file that regen leaves alone.
func compareFile(root *os.Root, f File, recorded map[string]ManifestFile) (c Change, keep bool, err error) {
	disk, exists, err := readRegular(root, f.Path)
	if err != nil {
		return Change{}, false, err
	}
	c = Change{Path: f.Path, Owner: f.Owner, Data: f.Data, Mode: f.Mode}
	if exists {
		c.Disk = disk
	}
	rec, wasRecorded := recorded[f.Path]
	switch {
	case f.Owner == Scaffold:
		// The user's: created only if the new options add it and
		// nothing is in its place.
		if wasRecorded || exists {
			return Change{}, false, nil
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
	case hasConflictMarkers(disk):
		c.State, c.Action = Conflicted, Update
	default:
		c.State, c.Action = Edited, Update
	}
	return c, true, nil
}

// strayFiles returns a Stray change for every entry of the folder that
// gendaemon owns that it neither renders nor recorded as generated.
func strayFiles(root *os.Root, rendered map[string]bool, recorded map[string]ManifestFile) ([]Change, error) {
	fi, err := root.Lstat(daemonDir)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.IsDir() {
		return nil, nil // Compare reports what is in the way
	}
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(root.FS(), daemonDir)
	if err != nil {
		return nil, err
	}
	var out []Change
	for _, e := range entries {
		p := daemonDir + "/" + e.Name()
		if _, debris := debrisOf(p); debris || rendered[p] || recorded[p].Owner == Generated {
			continue
		}
		out = append(out, Change{Path: p, Owner: Generated, State: Stray, Action: Keep})
	}
	return out, nil
}

// debrisFiles returns a Debris change for every temporary file that an
// interrupted gendaemon 0.1.0 left beside one of files: one whose name is
// the temporary name of a path that gendaemon writes (owns).
func debrisFiles(root *os.Root, files []File, owns func(string) (bool, error)) ([]Change, error) {
	dirs := map[string]bool{}
	for _, f := range files {
		dirs[path.Dir(f.Path)] = true
	}
	var out []Change
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		entries, err := fs.ReadDir(root.FS(), d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			p := path.Join(d, e.Name())
			if _, ok := debrisOf(p); !ok || !e.Type().IsRegular() {
				continue
			}
			ours, err := owns(p)
			if err != nil {
				return nil, err
			}
			if !ours {
				continue
			}
			data, ok, err := readRegular(root, p)
			if err != nil || !ok {
				return nil, err
			}
			out = append(out, Change{Path: p, Owner: Generated, State: Debris, Action: Remove, Disk: data})
		}
	}
	return out, nil
}

// Apply carries out p, which Compare returned, as one transaction (see
// write_tx.go): either every file is written and removed as p says, or,
// after a failure or the end of ctx (SIGINT) before the commit, none is;
// a crash after the commit is completed by the next OpenProject for
// regen. Files whose Action is Unchanged or Keep are not touched, so their
// modification times are kept. Apply refuses a plan with edited files
// unless force is set, and a plan whose files changed on disk since
// Compare read them (ErrChanged).
func (pr *Project) Apply(ctx context.Context, p *Plan, force bool) error {
	if !force {
		if edited := p.Edited(); len(edited) > 0 {
			return fmt.Errorf("apply: %s was edited by hand: use force to overwrite", edited[0].Path)
		}
	}
	var writes []File
	var removes []string
	old := map[string]string{}
	for _, c := range p.Changes {
		if data, ok := c.writes(force); ok {
			writes = append(writes, File{Path: c.Path, Data: data, Mode: c.Mode, Owner: c.Owner})
		} else if c.Action == Remove {
			removes = append(removes, c.Path)
		} else {
			continue
		}
		if c.Disk != nil {
			old[c.Path] = FileSum(c.Disk)
		}
	}
	if p.newBase != nil {
		data, err := encodeBase(p.newBase)
		if err != nil {
			return err
		}
		writes = append(writes, File{Path: BaseName, Data: data, Mode: FileMode, Owner: Generated})
		sum, err := sumOf(pr.root, BaseName)
		if err != nil {
			return fmt.Errorf("regen %s: %w", p.Dir, err)
		}
		old[BaseName] = sum
	}
	if len(writes) == 0 && len(removes) == 0 {
		return nil // nothing to do: no transaction, no fsync
	}
	if err := checkFiles(writes); err != nil {
		return err
	}
	t := newTx(pr.root, pr.fsys, p.Dir, writes, removes, old)
	return t.run(ctx, func() error { return unchangedSince(pr.root, p) })
}

// unchangedSince checks that no file that p changes changed on disk since
// Compare read it: a rename must not replace bytes that nobody has looked
// at.
func unchangedSince(root *os.Root, p *Plan) error {
	for _, c := range p.Changes {
		if c.Action == Unchanged || c.Action == Keep {
			continue
		}
		disk, ok, err := readRegular(root, c.Path)
		if err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(p.Dir, c.Path), err)
		}
		if ok != (c.Disk != nil) || string(disk) != string(c.Disk) {
			return fmt.Errorf("%s: %w: nothing written; run the command again", filepath.Join(p.Dir, c.Path), ErrChanged)
		}
	}
	return nil
}

// ErrChanged is wrapped by the error of Apply when a file changed on disk
// between Compare and Apply; nothing was written. Compare again.
var ErrChanged = errors.New("changed since compared")

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
