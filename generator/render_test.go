package generator

import (
	"bytes"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/dave/jennifer/jen"
	"golang.org/x/mod/modfile"
)

func TestRenderIsDeterministic(t *testing.T) {
	opts := allOptions()
	first, err := Render(opts)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	for range 3 {
		again, err := Render(opts)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if !reflect.DeepEqual(first, again) {
			t.Fatal("Render returned different files for the same options")
		}
	}
}

// TestMainRestartStopsOnce checks that restart stops the old daemon only in
// the process the user ran: daemon.Start re-executes the program with the
// same arguments, and those processes must call Start at once.
func TestMainRestartStopsOnce(t *testing.T) {
	files, err := Render(NewOptions("myservice"))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	const want = `
	case "restart":
		// Start re-executes this program with the same arguments; only the
		// process the user ran stops the old daemon.
		if !daemon.Reexecuted() {
			if code := stop(cfg, *timeout, stdout, stderr); code != exitOK {
				return code
			}
		}
		return start(cfg, svc, stdout, stderr)
	case "status":
`
	for _, f := range files {
		if f.Path == "main.go" {
			if !strings.Contains(string(f.Data), want) {
				t.Errorf("main.go does not contain%s", want)
			}
			return
		}
	}
	t.Fatal("Render made no main.go")
}

func TestRenderRejectsInvalidOptions(t *testing.T) {
	files, err := Render(NewOptions("Bad Name"))
	if err == nil || files != nil {
		t.Fatalf("Render(bad name) = %d files, %v; want no files and an error", len(files), err)
	}
}

// TestRenderOwnership checks the contract that regen and check rely on:
// every generated Go file carries the header that go/ast.IsGenerated
// recognises, no scaffold file does, and the runtime is vendored byte for
// byte behind that header.
func TestRenderOwnership(t *testing.T) {
	files, err := Render(NewOptions("myservice"))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := map[string]Owner{
		"main.go": Generated, "defaults.go": Generated, ManifestName: Generated,
		"service.go": Scaffold, "service_test.go": Scaffold, "README.md": Scaffold,
		"go.mod": Scaffold, "go.sum": Scaffold, "myservice.service": Generated,
		"myservice.plist": Generated, "myservice.rc": Generated,
	}
	runtimeFiles := 0
	for _, f := range files {
		if f.Mode != FileMode {
			t.Errorf("%s: mode %v, want %v", f.Path, f.Mode, FileMode)
		}
		if strings.HasPrefix(f.Path, daemonDir+"/") {
			runtimeFiles++
			if f.Owner != Generated {
				t.Errorf("%s: owner %v, want generated", f.Path, f.Owner)
			}
			src, err := runtimeSource(path.Base(f.Path))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.Data, append([]byte("// "+generatedHeader+"\n\n"), src...)) {
				t.Errorf("%s is not the runtime's %s behind the header", f.Path, path.Base(f.Path))
			}
			if strings.HasSuffix(f.Path, "_test.go") {
				t.Errorf("%s: a runtime test was vendored", f.Path)
			}
		} else if owner, ok := want[f.Path]; !ok || owner != f.Owner {
			t.Errorf("%s: owner %v, want %v", f.Path, f.Owner, owner)
		}
		if strings.HasSuffix(f.Path, ".go") {
			file, err := parser.ParseFile(token.NewFileSet(), f.Path, f.Data, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			if gen := ast.IsGenerated(file); gen != (f.Owner == Generated) {
				t.Errorf("%s: ast.IsGenerated = %v, but owner is %v", f.Path, gen, f.Owner)
			}
		}
	}
	if runtimeFiles == 0 {
		t.Error("no runtime files vendored")
	}
}

func runtimeSource(name string) ([]byte, error) {
	return os.ReadFile("../runtime/daemon/" + name)
}

// TestManifestRoundTrip checks that the manifest records enough to render
// the project again exactly, and lists every other file with its owner.
func TestManifestRoundTrip(t *testing.T) {
	for _, opts := range []Options{NewOptions("myservice"), allOptions(), hostileOptions()} {
		files, err := Render(opts)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		var manifest []byte
		var want []ManifestFile
		for _, f := range files {
			if f.Path == ManifestName {
				manifest = f.Data
				continue
			}
			mf := ManifestFile{Path: f.Path, Owner: f.Owner}
			if f.Owner == Generated {
				mf.Sum = FileSum(f.Data)
			}
			want = append(want, mf)
		}
		m, err := ParseManifest(manifest)
		if err != nil {
			t.Fatalf("ParseManifest: %v\n%s", err, manifest)
		}
		if m.Version != ManifestVersion || m.Generator != "gendaemon "+Version {
			t.Errorf("manifest version %d, generator %q; want %d, %q", m.Version, m.Generator, ManifestVersion, "gendaemon "+Version)
		}
		got, err := m.Options()
		if err != nil {
			t.Fatalf("Manifest.Options: %v", err)
		}
		if !reflect.DeepEqual(got, opts) {
			t.Errorf("options from the manifest = %+v, want %+v", got, opts)
		}
		if !reflect.DeepEqual(m.Files, want) {
			t.Errorf("manifest files = %v, want %v", m.Files, want)
		}
		again, err := Render(got)
		if err != nil || !reflect.DeepEqual(again, files) {
			t.Errorf("rendering the manifest's options gives a different project (err %v)", err)
		}
	}
}

// TestDefaultsAreLiterals checks that option values reach defaults.go as Go
// literals whose values are exactly the options, however hostile the
// strings, and that the umask is written in octal.
func TestDefaultsAreLiterals(t *testing.T) {
	for _, opts := range []Options{NewOptions("myservice"), allOptions(), hostileOptions()} {
		files, err := Render(opts)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		var src []byte
		for _, f := range files {
			if f.Path == "defaults.go" {
				src = f.Data
			}
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, "defaults.go", src, 0)
		if err != nil {
			t.Fatalf("parse defaults.go: %v", err)
		}
		if n := len(file.Decls); n != 1 {
			t.Fatalf("defaults.go has %d declarations, want 1 const block", n)
		}
		pkg, err := new(types.Config).Check("main", fset, []*ast.File{file}, nil)
		if err != nil {
			t.Fatalf("type-check defaults.go: %v", err)
		}
		wantStr := map[string]string{
			"name": opts.Name, "defaultPIDFile": opts.PIDFile, "workDir": opts.WorkDir,
			"stdio": opts.Stdio, "logFile": opts.LogFile, "user": opts.User, "group": opts.Group,
		}
		for id, want := range wantStr {
			c, ok := pkg.Scope().Lookup(id).(*types.Const)
			if !ok || constant.StringVal(c.Val()) != want {
				t.Errorf("defaults.go: %s = %v, want %q", id, c, want)
			}
		}
		wantInt := map[string]int64{"umask": int64(opts.Umask), "maxFD": int64(opts.MaxFD)}
		for id, want := range wantInt {
			c, ok := pkg.Scope().Lookup(id).(*types.Const)
			if got, exact := constant.Int64Val(c.Val()); !ok || !exact || got != want {
				t.Errorf("defaults.go: %s = %v, want %d", id, c, want)
			}
		}
		if octal := "umask int = 0o" + FormatUmask(opts.Umask) + "\n"; !bytes.Contains(src, []byte(octal)) {
			t.Errorf("defaults.go does not contain %q:\n%s", octal, src)
		}
	}
}

func TestFormatGoReportsSource(t *testing.T) {
	f := jen.NewFile("main")
	f.Func().Id("broken").Params().Op("{{")
	_, err := formatGo("broken.go", f, "example.com/x")
	if err == nil {
		t.Fatal("formatGo of broken source succeeded")
	}
	for _, want := range []string{"format broken.go:", "   1\tpackage main", "func broken () {{"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("formatGo error does not contain %q:\n%v", want, err)
		}
	}
}

// TestSysMatchesGoSum keeps the x/sys version and hashes that generated
// projects require in step with this repository's go.mod and go.sum, so that
// bumping x/sys here cannot silently break generated projects.
func TestSysMatchesGoSum(t *testing.T) {
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range mf.Require {
		if r.Mod.Path == SysModule {
			found = true
			if r.Mod.Version != SysVersion {
				t.Errorf("go.mod requires %s %s; generated projects require %s: update SysVersion, SysSum and SysModSum", SysModule, r.Mod.Version, SysVersion)
			}
		}
	}
	if !found {
		t.Errorf("go.mod does not require %s", SysModule)
	}
	if mf.Go == nil || mf.Go.Version != GoVersion {
		t.Errorf("go.mod says go %v; generated projects say go %s: update GoVersion", mf.Go, GoVersion)
	}

	gosum, err := os.ReadFile("../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		SysModule + " " + SysVersion + " " + SysSum,
		SysModule + " " + SysVersion + "/go.mod " + SysModSum,
	} {
		if !bytes.Contains(gosum, []byte("\n"+want+"\n")) && !bytes.HasPrefix(gosum, []byte(want+"\n")) {
			t.Errorf("go.sum has no line %q: update SysSum and SysModSum", want)
		}
	}
}

// allOptions changes every option from its default; it is the golden case
// "allopts".
func allOptions() Options {
	return Options{
		Name:    "allopts",
		Module:  "example.com/acme/allopts",
		WorkDir: "/var/lib/allopts",
		Umask:   0o027,
		MaxFD:   4096,
		Stdio:   "/dev/null",
		LogFile: "/var/log/allopts.log",
		PIDFile: "/run/allopts/allopts.pid",
		User:    "daemon",
		Group:   "daemon",
	}
}

// hostileOptions holds strings that would break out of a Go or YAML string
// literal if they were pasted into one.
func hostileOptions() Options {
	o := NewOptions("hostile")
	o.WorkDir = `/srv/"quoted" \back` + "`tick`"
	o.Stdio = "/dev/\"); os.Exit(1) /*"
	o.LogFile = "/var/log/x: {y: z} # not a comment"
	o.PIDFile = "/run/ünïcode.pid"
	o.User = "_svc-1"
	o.Group = "1000"
	o.Umask = 0o7
	return o
}
