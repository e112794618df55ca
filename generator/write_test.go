package generator

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func testFiles() []File {
	return []File{
		{Path: "README.md", Data: []byte("readme\n"), Mode: FileMode, Owner: Scaffold},
		{Path: "internal/daemon/daemon.go", Data: []byte("package daemon\n"), Mode: FileMode, Owner: Generated},
		{Path: "main.go", Data: []byte("package main\n"), Mode: FileMode, Owner: Generated},
	}
}

// failingFiles are files whose last cannot be created (its name is too
// long), so Write fails after it has written the others.
func failingFiles() []File {
	return append(testFiles(), File{Path: "zz" + strings.Repeat("x", 300), Data: []byte("x"), Mode: FileMode, Owner: Generated})
}

// snapshot records every path below dir, with its mode and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		entry := info.Mode().String()
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			entry += " " + string(data)
		}
		tree[rel] = entry
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func checkWritten(t *testing.T, target string, files []File) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(target, filepath.FromSlash(f.Path))
		info, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", f.Path, err)
			continue
		}
		if info.Mode() != f.Mode {
			t.Errorf("%s: mode %v, want %v", f.Path, info.Mode(), f.Mode)
		}
		if data, _ := os.ReadFile(p); string(data) != string(f.Data) {
			t.Errorf("%s: content %q, want %q", f.Path, data, f.Data)
		}
	}
	for _, d := range append(dirsOf(files), ".") {
		info, err := os.Lstat(filepath.Join(target, d))
		if err != nil || info.Mode() != fs.ModeDir|DirMode {
			t.Errorf("directory %s: %v, %v; want mode %v", d, info.Mode(), err, fs.ModeDir|DirMode)
		}
	}
}

func TestWriteNewLeavesNoTemporaries(t *testing.T) {
	parent := t.TempDir()
	if err := Write(filepath.Join(parent, "proj"), testFiles(), false); err != nil {
		t.Fatalf("Write: %v", err)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 || entries[0].Name() != "proj" {
		t.Errorf("parent holds %v, want only proj", entries)
	}
	for p := range snapshot(t, filepath.Join(parent, "proj")) {
		if strings.Contains(p, ".gendaemon-") {
			t.Errorf("temporary %s left in the project", p)
		}
	}
}

func TestWriteIntoEmptyDirectory(t *testing.T) {
	target := t.TempDir()
	if err := Write(target, testFiles(), false); err != nil {
		t.Fatalf("Write: %v", err)
	}
	checkWritten(t, target, testFiles())
	if n := len(snapshot(t, target)); n != 6 { // ., README.md, main.go, internal, internal/daemon, daemon.go
		t.Errorf("target holds %d entries, want 6: %v", n, snapshot(t, target))
	}
}

func TestWriteRefusesNonEmpty(t *testing.T) {
	target := t.TempDir()
	if err := os.WriteFile(filepath.Join(target, "main.go"), []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, target)
	err := Write(target, testFiles(), false)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "is not empty") {
		t.Fatalf("Write(non-empty, no force) = %v, want an error wrapping ErrConflict that says it is not empty", err)
	}
	if after := snapshot(t, target); !maps.Equal(before, after) {
		t.Errorf("the target changed: %v, was %v", after, before)
	}
}

func TestWriteForce(t *testing.T) {
	target := t.TempDir()
	for name, data := range map[string]string{"main.go": "old\n", "notes.txt": "keep me\n"} {
		if err := os.WriteFile(filepath.Join(target, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := Write(target, testFiles(), true); err != nil {
		t.Fatalf("Write(force): %v", err)
	}
	checkWritten(t, target, testFiles())
	if data, err := os.ReadFile(filepath.Join(target, "notes.txt")); err != nil || string(data) != "keep me\n" {
		t.Errorf("notes.txt = %q, %v; want it kept", data, err)
	}
	for p := range snapshot(t, target) {
		if strings.Contains(p, ".gendaemon-") {
			t.Errorf("temporary %s left in the project", p)
		}
	}
}

func TestWriteRefusesSymlinks(t *testing.T) {
	t.Run("target", func(t *testing.T) {
		dir, elsewhere := t.TempDir(), t.TempDir()
		link := filepath.Join(dir, "proj")
		if err := os.Symlink(elsewhere, link); err != nil {
			t.Fatal(err)
		}
		for _, force := range []bool{false, true} {
			err := Write(link, testFiles(), force)
			if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "symbolic link") {
				t.Errorf("Write(symlink, force=%v) = %v, want an error wrapping ErrConflict about the link", force, err)
			}
		}
		if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
			t.Errorf("wrote through the link: %v", entries)
		}
	})
	t.Run("directory inside target", func(t *testing.T) {
		target, elsewhere := t.TempDir(), t.TempDir()
		if err := os.Symlink(elsewhere, filepath.Join(target, "internal")); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, target)
		err := Write(target, testFiles(), true)
		if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "internal in target") {
			t.Errorf("Write(force, internal is a link) = %v, want an error wrapping ErrConflict naming internal", err)
		}
		if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
			t.Errorf("wrote through the link: %v", entries)
		}
		if after := snapshot(t, target); !maps.Equal(before, after) {
			t.Errorf("the target changed: %v, was %v", after, before)
		}
	})
	t.Run("file inside target", func(t *testing.T) {
		target := t.TempDir()
		outside := filepath.Join(t.TempDir(), "victim")
		if err := os.WriteFile(outside, []byte("victim\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(target, "main.go")); err != nil {
			t.Fatal(err)
		}
		if err := Write(target, testFiles(), true); !errors.Is(err, ErrConflict) {
			t.Errorf("Write(force, main.go is a link) = %v, want an error wrapping ErrConflict", err)
		}
		if data, _ := os.ReadFile(outside); string(data) != "victim\n" {
			t.Errorf("wrote through the link: %q", data)
		}
	})
}

func TestWriteRefusesFileInTheWay(t *testing.T) {
	target := t.TempDir()
	if err := os.WriteFile(filepath.Join(target, "internal"), []byte("a file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Write(target, testFiles(), true)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Write(force, internal is a file) = %v, want an error wrapping ErrConflict", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(file, testFiles(), true); !errors.Is(err, ErrConflict) {
		t.Errorf("Write(target is a file) = %v, want an error wrapping ErrConflict", err)
	}
}

// TestWriteLeavesNothingOnFailure makes Write fail after it has written
// some files, and checks that nothing it wrote is left. For an existing
// target, plan already notices the name that is too long, so the test calls
// the writer below it to make it fail half-way.
func TestWriteLeavesNothingOnFailure(t *testing.T) {
	t.Run("new target", func(t *testing.T) {
		parent := t.TempDir()
		if err := Write(filepath.Join(parent, "proj"), failingFiles(), false); err == nil {
			t.Fatal("Write succeeded; want it to fail on the long name")
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Errorf("left behind in the parent: %v", entries)
		}
	})
	t.Run("empty target", func(t *testing.T) {
		target := t.TempDir()
		if err := CheckTarget(target, failingFiles(), false); err == nil {
			t.Error("CheckTarget accepted a name that is too long")
		}
		if err := writeInPlace(t.Context(), target, failingFiles()); err == nil {
			t.Fatal("writeInPlace succeeded; want it to fail on the long name")
		}
		if entries, _ := os.ReadDir(target); len(entries) != 0 {
			t.Errorf("left behind in the target: %v", entries)
		}
	})
	t.Run("force", func(t *testing.T) {
		target := t.TempDir()
		if err := os.WriteFile(filepath.Join(target, "main.go"), []byte("mine\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, target)
		if err := writeInPlace(t.Context(), target, failingFiles()); err == nil {
			t.Fatal("writeInPlace succeeded; want it to fail on the long name")
		}
		if after := snapshot(t, target); !maps.Equal(before, after) {
			t.Errorf("the target changed: %v, was %v", after, before)
		}
	})
	t.Run("missing parent", func(t *testing.T) {
		parent := t.TempDir()
		target := filepath.Join(parent, "a", "proj")
		err := Write(target, testFiles(), false)
		if err == nil {
			t.Fatal("Write into a missing parent succeeded")
		}
		want := "create it first with mkdir -p " + filepath.Join(parent, "a")
		if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), want) {
			t.Errorf("Write(%q) = %v, want a conflict saying %q", target, err, want)
		}
		if err := CheckTarget(target, testFiles(), false); !errors.Is(err, ErrConflict) {
			t.Errorf("CheckTarget(%q) = %v, want a conflict", target, err)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Errorf("left behind: %v", entries)
		}
	})
}

func TestWriteRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", "../x", "/abs", "a/../b", "a//b", "./a", "a/"} {
		files := []File{{Path: p, Data: nil, Mode: FileMode, Owner: Generated}}
		parent := t.TempDir()
		if err := Write(filepath.Join(parent, "proj"), files, false); err == nil {
			t.Errorf("Write(file %q) succeeded, want an error", p)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Errorf("Write(file %q) left %v", p, entries)
		}
	}
	dup := append(testFiles(), testFiles()[0])
	if err := Write(filepath.Join(t.TempDir(), "proj"), dup, false); err == nil {
		t.Error("Write with a duplicate path succeeded")
	}
	clash := append(testFiles(), File{Path: "internal", Mode: FileMode})
	if err := Write(filepath.Join(t.TempDir(), "proj"), clash, false); err == nil {
		t.Error("Write with a file that is also a directory succeeded")
	}
}

func TestShellQuote(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "a/b-c_d.e+f", "a/b-c_d.e+f"},
		{"empty", "", "''"},
		{"space", "my dir", "'my dir'"},
		{"quote", "it's", `'it'\''s'`},
		{"dollar", "$HOME", "'$HOME'"},
		{"glob", "a*", "'a*'"},
		{"non-ASCII", "dæmon", "'dæmon'"},
	} {
		got := shellQuote(tc.in)
		if got != tc.want {
			t.Errorf("%s: shellQuote(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
		// The shell reads it back as the one word it was.
		out, err := exec.Command("sh", "-c", "printf %s "+got).Output()
		if err != nil || string(out) != tc.in {
			t.Errorf("%s: sh read %s as %q (%v), want %q", tc.name, got, out, err, tc.in)
		}
	}
}

// TestApplyLeavesNothingOnFailure makes Apply fail after it has staged
// some files (on a name too long to exist, which must fail before the
// commit, not in a rename after it), and checks that the project is as it
// was.
func TestApplyLeavesNothingOnFailure(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("old\n"), FileMode); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	pr := &Project{Dir: dir, root: root, fsys: rootFS{root}}
	p := &Plan{Dir: dir, Changes: []Change{
		{Path: "main.go", Owner: Generated, State: Stale, Action: Update, Disk: []byte("old\n"), Data: []byte("new\n"), Mode: FileMode},
		{Path: "internal/daemon/daemon.go", Owner: Generated, State: Missing, Action: Create, Data: []byte("package daemon\n"), Mode: FileMode},
		{Path: "internal/daemon/zz" + strings.Repeat("x", 300) + ".go", Owner: Generated, State: Missing, Action: Create, Data: []byte("x"), Mode: FileMode},
	}}
	if err := pr.Apply(t.Context(), p, false); err == nil {
		t.Fatal("Apply succeeded; want it to fail on the long name")
	}
	if after := snapshot(t, dir); !maps.Equal(before, after) {
		t.Errorf("the project changed: %v, was %v", after, before)
	}
}

// TestApplyRefusesChangedFiles changes a file between Compare and Apply:
// Apply must write nothing and report ErrChanged.
func TestApplyRefusesChangedFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	opts := NewOptions("myservice")
	files, err := Render(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, files, false); err != nil {
		t.Fatal(err)
	}
	pr := openProjectT(t, dir)
	opts.Umask = 0o027
	p, err := pr.Compare(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("// changed meanwhile\n"), FileMode); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	if err := pr.Apply(t.Context(), p, false); !errors.Is(err, ErrChanged) {
		t.Fatalf("Apply after a change = %v, want ErrChanged", err)
	}
	if after := snapshot(t, dir); !maps.Equal(before, after) {
		t.Errorf("Apply changed the project although it failed")
	}

	// Compared again, the change is a hand edit; with force, Apply
	// overwrites it and the project is clean.
	if p, err = pr.Compare(opts); err != nil {
		t.Fatal(err)
	}
	if err := pr.Apply(t.Context(), p, false); err == nil {
		t.Fatal("Apply without force overwrote a hand edit")
	}
	if err := pr.Apply(t.Context(), p, true); err != nil {
		t.Fatalf("Apply(force) = %v", err)
	}
	pr.Close()
	pr = openProjectT(t, dir)
	if p, err = pr.Compare(opts); err != nil || !p.Clean() {
		t.Errorf("after Apply, Compare = %v, clean %v; want a clean plan", err, p != nil && p.Clean())
	}
}
