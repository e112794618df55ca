package generator

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRegenMatchesGolden creates the defaults project, edits every option in
// its manifest to those of the allopts golden case, and regenerates: the
// generated files must then be exactly those of ../golden/allopts, which
// was created directly with those options. The user's files are those of
// the original project, untouched but for the module path in go.mod, which
// the user must change first.
func TestRegenMatchesGolden(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	first, err := Render(NewOptions("myservice"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, first, false); err != nil {
		t.Fatal(err)
	}

	// Edit the manifest as a person would: option lines only.
	manifestPath := filepath.Join(dir, ManifestName)
	manifest, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	want := renderedManifest(t, allOptions())
	optionLine := regexp.MustCompile(`(?m)^([a-z_]+): .*$`)
	for _, line := range optionLine.FindAllStringSubmatch(want, -1) {
		if line[1] == "version" || line[1] == "generator" || line[1] == "files" {
			continue
		}
		re := regexp.MustCompile(`(?m)^` + line[1] + `: .*$`)
		manifest = re.ReplaceAllLiteral(manifest, []byte(line[0]))
	}
	if err := os.WriteFile(manifestPath, manifest, 0o644); err != nil {
		t.Fatal(err)
	}

	pr := openProjectT(t, dir)
	opts, err := pr.Manifest.Options()
	if err != nil {
		t.Fatal(err)
	}

	// go.mod is the user's: until they change the module path there, a
	// main.go importing the new one would not build, so Compare refuses.
	if _, err := pr.Compare(opts); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "go.mod declares module myservice but gendaemon.yaml says example.com/acme/allopts") {
		t.Fatalf("Compare with go.mod of another module = %v, want a conflict naming both", err)
	}
	goModPath := filepath.Join(dir, "go.mod")
	goMod, err := os.ReadFile(goModPath)
	if err != nil {
		t.Fatal(err)
	}
	goMod = bytes.Replace(goMod, []byte("module myservice\n"), []byte("module "+allOptions().Module+"\n"), 1)
	if err := os.WriteFile(goModPath, goMod, 0o644); err != nil {
		t.Fatal(err)
	}

	p, err := pr.Compare(opts)
	if err != nil {
		t.Fatalf("Compare: %v", err)
	}
	if edited := p.Edited(); len(edited) > 0 {
		t.Fatalf("Compare reports %s as edited by hand", edited[0].Path)
	}
	if err := pr.Apply(t.Context(), p, false); err != nil {
		t.Fatalf("Apply: %v", err)
	}

	onDisk, _, err := readTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	golden, _, err := readTree(filepath.Join("..", "golden", "allopts"))
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := Render(allOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rendered {
		if f.Owner != Generated {
			continue
		}
		got, ok := onDisk[f.Path]
		want, inGolden := golden[f.Path]
		if isVendored(f) {
			want, inGolden = f.Data, true // the golden trees leave the runtime out
		}
		switch {
		case !ok:
			t.Errorf("%s: in the golden tree, but not regenerated", f.Path)
		case !inGolden:
			t.Errorf("%s: regenerated, but not in the golden tree", f.Path)
		case !bytes.Equal(got, want):
			t.Errorf("%s: regenerated file differs from the golden one\n%s", f.Path, firstDifference(want, got))
		}
		delete(onDisk, f.Path)
	}
	for _, f := range first {
		if f.Owner == Scaffold {
			if f.Path == "go.mod" {
				f.Data = goMod // as the user edited it
			}
			if got, ok := onDisk[f.Path]; !ok || !bytes.Equal(got, f.Data) {
				t.Errorf("%s: the user's file changed", f.Path)
			}
			delete(onDisk, f.Path)
		}
	}
	delete(onDisk, BaseName) // the merge base, which regen writes
	for p := range onDisk {
		t.Errorf("%s: left over after regen (want it removed)", p)
	}
}

// openProjectT opens dir for regen, closing it when the test ends.
func openProjectT(t *testing.T, dir string) *Project {
	t.Helper()
	pr, err := OpenProject(dir, true)
	if err != nil {
		t.Fatalf("OpenProject(%s): %v", dir, err)
	}
	t.Cleanup(func() { pr.Close() })
	return pr
}
