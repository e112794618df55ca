package generator

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// replaceLine returns data with the first line for which match is true
// replaced by line.
func replaceLine(t *testing.T, data []byte, match func(string) bool, line string) []byte {
	t.Helper()
	lines := strings.SplitAfter(string(data), "\n")
	i := slices.IndexFunc(lines, match)
	if i < 0 {
		t.Fatalf("no line to replace in %q", data)
	}
	lines[i] = line + "\n"
	return []byte(strings.Join(lines, ""))
}

// oldProject writes the project of opts as an older gendaemon, 0.0.9, would
// have written it: one line of a runtime file, of the service unit (from a
// template) and of the scaffold service.go differ from what this one
// renders. It returns the directory and what this gendaemon renders.
func oldProject(t *testing.T, opts Options) (string, map[string][]byte) {
	t.Helper()
	cur, err := Render(opts)
	if err != nil {
		t.Fatal(err)
	}
	now := map[string][]byte{}
	var old []File
	for _, f := range cur {
		now[f.Path] = f.Data
		switch f.Path {
		case ManifestName:
			continue
		case "internal/daemon/notify.go":
			n := 0
			f.Data = replaceLine(t, f.Data, func(string) bool { n++; return n == 40 }, "// gendaemon 0.0.9 had this line")
		case opts.Name + ".service":
			f.Data = replaceLine(t, f.Data, func(l string) bool { return strings.HasPrefix(l, "Description=") }, "Description=old daemon")
		case "service.go":
			f.Data = append([]byte("// gendaemon 0.0.9's scaffold\n"), f.Data...)
		}
		old = append(old, f)
	}
	m := newManifest(opts, old)
	m.Generator = "gendaemon 0.0.9"
	manifest, err := execute(ManifestName+".tmpl", templateData{Options: opts, Manifest: m})
	if err != nil {
		t.Fatal(err)
	}
	old = append(old, File{Path: ManifestName, Data: manifest, Mode: FileMode, Owner: Generated})
	withBase, err := WithBase(old)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), opts.Name)
	if err := Write(dir, withBase, false); err != nil {
		t.Fatal(err)
	}
	return dir, now
}

// TestUpgradeMerges simulates an upgrade from gendaemon 0.0.9, whose
// runtime file, unit template and scaffold differ from this version's,
// in a project where the user edited the runtime file elsewhere (merged
// cleanly) and the unit at the line the upgrade changes (a conflict).
func TestUpgradeMerges(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("the merge needs git: %v", err)
	}
	opts := NewOptions("myservice")
	dir, now := oldProject(t, opts)
	notify := filepath.Join(dir, "internal", "daemon", "notify.go")
	unit := filepath.Join(dir, "myservice.service")
	appendFile(t, notify, "\n// my hand edit, far from the upgrade's\n")
	unitData, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, unit, replaceLine(t, unitData, func(l string) bool { return strings.HasPrefix(l, "Description=") }, "Description=my daemon"))
	serviceBefore, err := os.ReadFile(filepath.Join(dir, "service.go"))
	if err != nil {
		t.Fatal(err)
	}

	pr := openProjectT(t, dir)
	p, err := pr.Compare(opts)
	if err != nil {
		t.Fatal(err)
	}
	if e := p.Edited(); len(e) > 0 {
		t.Fatalf("regen would refuse %s: it has a merge base", e[0].Path)
	}
	outcome := map[string]string{}
	for _, c := range p.Changes {
		outcome[c.Path] = c.Outcome(false)
	}
	if outcome["internal/daemon/notify.go"] != "merged" || outcome["myservice.service"] != "conflict" || outcome["internal/daemon/daemon.go"] != "unchanged" {
		t.Errorf("outcomes: notify.go %s, myservice.service %s, daemon.go %s; want merged, conflict, unchanged",
			outcome["internal/daemon/notify.go"], outcome["myservice.service"], outcome["internal/daemon/daemon.go"])
	}
	if err := pr.Apply(t.Context(), p, false); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	pr.Close()

	// The clean merge: this version's file with the user's edit.
	want := string(now["internal/daemon/notify.go"]) + "\n// my hand edit, far from the upgrade's\n"
	if got := readString(t, notify); got != want {
		t.Errorf("notify.go after the merge:\n%s", firstDifference([]byte(want), []byte(got)))
	}
	// The conflict: both sides, marked.
	got := readString(t, unit)
	for _, s := range []string{"<<<<<<< yours\nDescription=my daemon\n=======\nDescription=myservice daemon\n>>>>>>> gendaemon " + Version + "\n"} {
		if !strings.Contains(got, s) {
			t.Errorf("myservice.service after the merge lacks %q:\n%s", s, got)
		}
	}
	if len(p.Conflicts()) != 1 {
		t.Errorf("Conflicts() = %d changes, want 1", len(p.Conflicts()))
	}
	// The scaffold is the user's: untouched, and its change shown as a
	// patch that applies.
	if got := readString(t, filepath.Join(dir, "service.go")); got != string(serviceBefore) {
		t.Error("regen changed service.go")
	}
	if len(p.ScaffoldDiffs) != 1 || !strings.Contains(p.ScaffoldDiffs[0], "--- a/service.go\n+++ b/service.go\n") {
		t.Fatalf("ScaffoldDiffs = %q, want the patch of service.go", p.ScaffoldDiffs)
	}
	patch := filepath.Join(t.TempDir(), "scaffold.patch")
	writeTestFile(t, patch, []byte(p.ScaffoldDiffs[0]))
	cmd := exec.Command("git", "apply", patch)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply of the scaffold patch: %v\n%s", err, out)
	}
	if got := readString(t, filepath.Join(dir, "service.go")); got != string(now["service.go"]) {
		t.Error("service.go with the patch applied is not this version's scaffold")
	}

	// check fails on the conflict until it is resolved, and on the edit.
	states := checkStates(t, dir, opts)
	if states["myservice.service"] != Conflicted || states["internal/daemon/notify.go"] != Edited {
		t.Errorf("check: myservice.service %v, notify.go %v; want conflict, edited", states["myservice.service"], states["internal/daemon/notify.go"])
	}
	writeTestFile(t, unit, replaceLine(t, now["myservice.service"], func(l string) bool { return strings.HasPrefix(l, "Description=") }, "Description=my daemon"))
	if states := checkStates(t, dir, opts); states["myservice.service"] != Edited {
		t.Errorf("check after resolving: myservice.service %v, want edited", states["myservice.service"])
	}
	// A later regen keeps both edits: nothing changed under them.
	pr = openProjectT(t, dir)
	if p, err = pr.Compare(opts); err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Changes {
		if c.Path == "myservice.service" || c.Path == "internal/daemon/notify.go" {
			if o := c.Outcome(false); o != "kept" {
				t.Errorf("second regen: %s %s, want kept", c.Path, o)
			}
		}
	}
}

// checkStates returns the state of every file as check sees it.
func checkStates(t *testing.T, dir string, opts Options) map[string]State {
	t.Helper()
	pr, err := OpenProject(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	p, err := pr.Compare(opts)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]State{}
	for _, c := range p.Changes {
		states[c.Path] = c.State
	}
	return states
}

func readString(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func writeTestFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, FileMode); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, name, text string) {
	t.Helper()
	writeTestFile(t, name, []byte(readString(t, name)+text))
}
