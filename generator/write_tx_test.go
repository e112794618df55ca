package generator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// faultFS fails step failAt of a transaction (counting from 1) with EIO,
// and with crash every step after it too, as if the process had died
// there: not even the clean-up then reaches the disk. With cancel set, it
// cancels instead of failing, as SIGINT would.
type faultFS struct {
	txFS
	n, failAt int
	crash     bool
	cancel    context.CancelFunc
}

func (f *faultFS) step(what, name string) error {
	f.n++
	if f.n == f.failAt && f.cancel != nil {
		f.cancel()
		return nil
	}
	if f.n == f.failAt || f.crash && f.n > f.failAt {
		return fmt.Errorf("injected fault at step %d (%s %s): %w", f.n, what, name, syscall.EIO)
	}
	return nil
}

func (f *faultFS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	if err := f.step("write", name); err != nil {
		return err
	}
	return f.txFS.WriteFile(name, data, perm)
}

func (f *faultFS) Mkdir(name string) error {
	if err := f.step("mkdir", name); err != nil {
		return err
	}
	return f.txFS.Mkdir(name)
}

func (f *faultFS) Rename(oldname, newname string) error {
	if err := f.step("rename", oldname); err != nil {
		return err
	}
	return f.txFS.Rename(oldname, newname)
}

func (f *faultFS) Remove(name string) error {
	if err := f.step("remove", name); err != nil {
		return err
	}
	return f.txFS.Remove(name)
}

func (f *faultFS) SyncDir(name string) error {
	if err := f.step("sync", name); err != nil {
		return err
	}
	return f.txFS.SyncDir(name)
}

// regenOpts are the options the fault tests regenerate to: they change
// the Go file that holds the umask and the manifest, and remove the socket
// unit.
func regenOpts(opts Options) Options {
	opts.Umask = 0o027
	opts.Listen = nil
	return opts
}

// newProject writes the project of myservice with --listen 9090 into a new
// directory.
func newProject(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "myservice")
	opts := NewOptions("myservice")
	opts.Listen = []string{"9090"}
	files, err := Render(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, files, false); err != nil {
		t.Fatal(err)
	}
	return dir
}

// regen regenerates dir to regenOpts through wrap and returns Apply's error.
func regen(t *testing.T, dir string, ctx context.Context, wrap func(txFS) txFS) error {
	t.Helper()
	pr, err := openProject(dir, true, wrap)
	if err != nil {
		return err
	}
	defer pr.Close()
	opts, err := pr.Manifest.Options()
	if err != nil {
		t.Fatal(err)
	}
	p, err := pr.Compare(regenOpts(opts))
	if err != nil {
		t.Fatal(err)
	}
	return pr.Apply(ctx, p, false)
}

// TestRegenFaults fails each step of a regen in turn, once as an error
// and once as a crash, and checks that the project is then exactly as it
// was or exactly as a successful regen leaves it, never in between, once
// the next regen has recovered; that nothing of the transaction is left;
// and that check finds every generated file current.
func TestRegenFaults(t *testing.T) {
	before := snapshot(t, newProject(t))
	wantDir := newProject(t)
	counter := &faultFS{}
	if err := regen(t, wantDir, t.Context(), func(f txFS) txFS { counter.txFS = f; return counter }); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, wantDir)
	if maps.Equal(before, after) {
		t.Fatal("the regen changed nothing")
	}
	steps := counter.n
	if steps < 10 {
		t.Fatalf("a regen took %d steps; want a dozen or more", steps)
	}
	t.Logf("a regen takes %d steps", steps)
	for _, mode := range []string{"error", "crash", "cancel"} {
		for k := 1; k <= steps; k++ {
			t.Run(fmt.Sprintf("%s at step %d", mode, k), func(t *testing.T) {
				dir := newProject(t)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				ff := &faultFS{failAt: k, crash: mode == "crash"}
				if mode == "cancel" {
					ff.cancel = cancel
				}
				err := regen(t, dir, ctx, func(f txFS) txFS { ff.txFS = f; return ff })
				mid := snapshot(t, dir)
				if err == nil && !maps.Equal(mid, after) {
					t.Fatalf("regen succeeded but the project is not what it writes")
				}
				if errors.Is(err, context.Canceled) && !maps.Equal(mid, before) {
					t.Fatalf("regen cancelled at step %d (%v) changed the project", k, err)
				}
				// The next run recovers: a check first refuses to judge.
				pr, err := OpenProject(dir, false)
				if err == nil {
					pr.Close()
				}
				if pending := stateLeft(mid); pending != errors.Is(err, ErrInterrupted) {
					t.Fatalf("check after step %d failed (transaction left: %v) = %v", k, pending, err)
				}
				pr, err = OpenProject(dir, true)
				if err != nil {
					t.Fatalf("regen after step %d failed: %v", k, err)
				}
				pr.Close()
				got := snapshot(t, dir)
				if !maps.Equal(got, before) && !maps.Equal(got, after) {
					t.Fatalf("after step %d failed and a recovery, the project is neither as it was nor as regen writes it:\n%s", k, treeDiff(got, before, after))
				}
				checkClean(t, dir)
			})
		}
	}
}

// stateLeft reports whether a snapshot holds a transaction's journal or
// staged files.
func stateLeft(tree map[string]string) bool {
	for _, name := range []string{journalName, stageDir, journalTemp} {
		if _, ok := tree[filepath.FromSlash(name)]; ok {
			return true
		}
	}
	return false
}

// treeDiff names the paths where got differs from before and from after.
func treeDiff(got, before, after map[string]string) string {
	var s string
	for p := range got {
		if got[p] != before[p] {
			s += fmt.Sprintf("  %s: differs from before\n", p)
		}
		if got[p] != after[p] {
			s += fmt.Sprintf("  %s: differs from after\n", p)
		}
	}
	for p := range after {
		if _, ok := got[p]; !ok {
			s += fmt.Sprintf("  %s: missing\n", p)
		}
	}
	return s
}

// checkClean checks what gendaemon check checks: every generated file is
// current for the manifest's options.
func checkClean(t *testing.T, dir string) {
	t.Helper()
	pr, err := OpenProject(dir, false)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	defer pr.Close()
	opts, err := pr.Manifest.Options()
	if err != nil {
		t.Fatal(err)
	}
	p, err := pr.Compare(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Problems() {
		t.Errorf("check: %s is %s", c.Path, c.State)
	}
}

// TestConcurrentRegens runs 4 regens at once, 25 rounds each, each setting
// its own umask, with a check running beside them: the lock must make
// every run see a whole project, so no run may report a hand edit, and
// the project must end clean.
func TestConcurrentRegens(t *testing.T) {
	dir := newProject(t)
	const workers, rounds = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*2)
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				errs <- regenUmask(dir, 0o020+w)
			}
		})
	}
	wg.Go(func() {
		for range rounds {
			errs <- checkNoEdits(dir)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	checkClean(t, dir)
	for _, name := range []string{stageDir, journalName, journalTemp} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left behind: %v", name, err)
		}
	}
}

// regenUmask is gendaemon regen --umask umask, failing on any hand edit.
func regenUmask(dir string, umask int) error {
	pr, err := OpenProject(dir, true)
	if err != nil {
		return err
	}
	defer pr.Close()
	opts, err := pr.Manifest.Options()
	if err != nil {
		return err
	}
	opts.Umask = umask
	p, err := pr.Compare(opts)
	if err != nil {
		return err
	}
	if e := p.Edited(); len(e) > 0 {
		return fmt.Errorf("regen --umask %#o: %s reported as edited by hand", umask, e[0].Path)
	}
	return pr.Apply(context.Background(), p, false)
}

// checkNoEdits is gendaemon check, failing on any hand edit or problem.
func checkNoEdits(dir string) error {
	pr, err := OpenProject(dir, false)
	if err != nil {
		return err
	}
	defer pr.Close()
	opts, err := pr.Manifest.Options()
	if err != nil {
		return err
	}
	p, err := pr.Compare(opts)
	if err != nil {
		return err
	}
	if bad := p.Problems(); len(bad) > 0 {
		return fmt.Errorf("check: %s is %s", bad[0].Path, bad[0].State)
	}
	return nil
}

// TestWriteRemovesAbandoned leaves what a killed gendaemon new leaves, a
// .NAME.gendaemon-* directory beside the target, and one that another run
// is still building (locked): the next new of that target removes the
// first and keeps the second.
func TestWriteRemovesAbandoned(t *testing.T) {
	parent := t.TempDir()
	abandoned := filepath.Join(parent, ".proj.gendaemon-dead")
	building := filepath.Join(parent, ".proj.gendaemon-live")
	other := filepath.Join(parent, ".other.gendaemon-dead")
	for _, d := range []string{abandoned, building, other} {
		if err := os.MkdirAll(filepath.Join(d, "internal"), DirMode); err != nil {
			t.Fatal(err)
		}
	}
	lock, err := os.Open(building)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := lockFile(lock, true); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(parent, "proj"), testFiles(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(abandoned); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("abandoned %s still there: %v", abandoned, err)
	}
	for _, d := range []string{building, other} {
		if _, err := os.Lstat(d); err != nil {
			t.Errorf("%s removed: %v", d, err)
		}
	}
}

// FuzzParseJournal feeds parseJournal arbitrary journals: it must not
// panic, and a journal it accepts names only paths gendaemon writes, with
// well-formed sums.
func FuzzParseJournal(f *testing.F) {
	f.Add([]byte(`{"version":1,"ops":[{"path":"main.go","old":"","new":"sha256:` + strings.Repeat("0", 64) + `"}]}`))
	f.Add([]byte(`{"version":1,"ops":[{"path":"notes.txt","remove":true}]}`))
	f.Add([]byte(`{"version":1,"ops":[{"path":"../x","new":"sha256:` + strings.Repeat("a", 64) + `"}]}`))
	f.Add([]byte(`{"version":1,"ops":[{"path":"internal/daemon/..","remove":true}]}`))
	own, err := producible()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := parseJournal(data)
		if err != nil {
			return
		}
		for _, op := range j.Ops {
			if !own.has(op.Path) || checkFiles([]File{{Path: op.Path, Mode: FileMode}}) != nil {
				t.Errorf("accepted a journal naming %q", op.Path)
			}
		}
	})
}

// TestPathSet checks which paths gendaemon counts as its own.
func TestPathSet(t *testing.T) {
	own, err := producible()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"gendaemon.yaml", true},
		{"main.go", true},
		{"myservice.service", true},
		{"other-name.socket", true},
		{"internal/daemon/patch.go", true},
		{".gendaemon/base.tar.gz", true},
		{"notes.txt", false},
		{".git/HEAD", false},
		{"internal/daemon/..", false},
		{"internal/daemon/sub/x.go", false},
		{"../main.go", false},
		{"/etc/passwd", false},
		{"Upper.service", false},
		{".service", false},
		{"x.service.bak", false},
		{".main.go.gendaemon-ABCDEFGH", true},
		{".myservice.service.gendaemon-QWERTY23", true},
		{".notes.txt.gendaemon-ABCDEFGH", false},
		{".main.go.gendaemon-abcdefgh", false},
	} {
		if got := own.has(tc.path); got != tc.want {
			t.Errorf("has(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// TestWriteCancelled cancels the context of a new project's Write, as
// SIGINT does: nothing may be left, neither the target nor the temporary
// directory beside it; nor in an existing directory (new --force).
func TestWriteCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	parent := t.TempDir()
	if err := WriteContext(ctx, filepath.Join(parent, "proj"), testFiles(), false); !errors.Is(err, context.Canceled) {
		t.Errorf("WriteContext(cancelled) = %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
	target := t.TempDir()
	if err := os.WriteFile(filepath.Join(target, "notes.txt"), []byte("mine\n"), FileMode); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, target)
	if err := WriteContext(ctx, target, testFiles(), true); !errors.Is(err, context.Canceled) {
		t.Errorf("WriteContext(cancelled, force) = %v, want context.Canceled", err)
	}
	if after := snapshot(t, target); !maps.Equal(before, after) {
		t.Errorf("the directory changed: %v, was %v", after, before)
	}
}

// TestRecoverRefusesChangedFile crashes a regen right after its commit,
// then changes a file the journal would replace: the recovery must refuse
// rather than overwrite it, and complete once the file is moved away.
func TestRecoverRefusesChangedFile(t *testing.T) {
	dir := newProject(t)
	ff := &faultFS{crash: true}
	// Find the first step after the commit: the journal's rename.
	counter := &faultFS{}
	probe := newProject(t)
	if err := regen(t, probe, t.Context(), func(f txFS) txFS { counter.txFS = f; return counter }); err != nil {
		t.Fatal(err)
	}
	commit := 0
	for k := 1; k <= counter.n && commit == 0; k++ {
		d := newProject(t)
		f := &faultFS{failAt: k, crash: true}
		regen(t, d, t.Context(), func(x txFS) txFS { f.txFS = x; return f })
		if _, err := os.Lstat(filepath.Join(d, journalName)); err == nil {
			commit = k
		}
	}
	if commit == 0 {
		t.Fatal("no step left a committed journal")
	}
	ff.failAt = commit
	regen(t, dir, t.Context(), func(x txFS) txFS { ff.txFS = x; return ff })
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	data, _, err := readRegular(root, journalName)
	if err != nil {
		t.Fatal(err)
	}
	j, err := parseJournal(data)
	if err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(dir, filepath.FromSlash(j.Ops[0].Path))
	writeTestFile(t, victim, []byte("// the user's, written after the crash\n"))
	if _, err := OpenProject(dir, true); !errors.Is(err, ErrConflict) {
		t.Fatalf("recovery over a changed %s = %v, want a conflict", j.Ops[0].Path, err)
	}
	if got := readString(t, victim); got != "// the user's, written after the crash\n" {
		t.Fatalf("recovery overwrote the changed file")
	}
	if err := os.Rename(victim, victim+".mine"); err != nil {
		t.Fatal(err)
	}
	pr, err := OpenProject(dir, true)
	if err != nil {
		t.Fatalf("recovery after moving the file away: %v", err)
	}
	pr.Close()
	checkClean(t, dir)
}
