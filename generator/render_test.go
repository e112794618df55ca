package generator

import (
	"bytes"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
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

// TestMainIsSmall checks the shape of main.go: a few dozen lines that
// declare main and nothing else, so that a user's code may use any name.
func TestMainIsSmall(t *testing.T) {
	for _, opts := range []Options{NewOptions("myservice"), allOptions(), hostileOptions(), unitSettingsOptions()} {
		src := renderedFile(t, opts, "main.go")
		if n := bytes.Count(src, []byte("\n")); n > 80 {
			t.Errorf("%s: main.go has %d lines, want at most 80", opts.Name, n)
		}
		file, err := parser.ParseFile(token.NewFileSet(), "main.go", src, 0)
		if err != nil {
			t.Fatalf("parse main.go: %v", err)
		}
		for name := range file.Scope.Objects {
			if name != "main" && name != "serviceFiles" {
				t.Errorf("%s: main.go declares %s at package level; it should declare main, and the files it embeds, only", opts.Name, name)
			}
		}
	}
}

// renderedFile renders opts and returns the file at path.
func renderedFile(t *testing.T, opts Options, path string) []byte {
	t.Helper()
	files, err := Render(opts)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	for _, f := range files {
		if f.Path == path {
			return f.Data
		}
	}
	t.Fatalf("Render made no %s", path)
	return nil
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
		"main.go": Generated, ManifestName: Generated,
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
	sources, err := filepath.Glob("../runtime/daemon/*.go")
	if err != nil {
		t.Fatal(err)
	}
	sources = slices.DeleteFunc(sources, func(p string) bool { return strings.HasSuffix(p, "_test.go") })
	if runtimeFiles == 0 || runtimeFiles != len(sources) {
		t.Errorf("%d runtime files vendored, want the %d of ../runtime/daemon", runtimeFiles, len(sources))
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

// TestDefaultsAreLiterals checks that option values reach main.go's
// daemon.Config as Go literals whose values are exactly the options, however
// hostile the strings, that unset optional values are left out, and that
// the umask is written in octal. FDStore, a bool, is set to true only with
// fdstore.
func TestDefaultsAreLiterals(t *testing.T) {
	for _, opts := range []Options{NewOptions("myservice"), allOptions(), hostileOptions(), unitSettingsOptions()} {
		src := renderedFile(t, opts, "main.go")
		file, err := parser.ParseFile(token.NewFileSet(), "main.go", src, 0)
		if err != nil {
			t.Fatalf("parse main.go: %v", err)
		}
		got := map[string]constant.Value{}
		ast.Inspect(file, func(n ast.Node) bool {
			kv, ok := n.(*ast.KeyValueExpr)
			if !ok {
				return true
			}
			if id, ok := kv.Value.(*ast.Ident); ok && kv.Key.(*ast.Ident).Name == "ServiceFiles" && id.Name == "serviceFiles" {
				return false
			}
			if id, ok := kv.Value.(*ast.Ident); ok && id.Name == "true" {
				got[kv.Key.(*ast.Ident).Name] = constant.MakeBool(true)
				return false
			}
			lit, ok := kv.Value.(*ast.BasicLit)
			if !ok {
				t.Errorf("main.go: %s is not a literal", kv.Key)
				return false
			}
			got[kv.Key.(*ast.Ident).Name] = constant.MakeFromLiteral(lit.Value, lit.Kind, 0)
			return false
		})
		want := map[string]constant.Value{
			"Name": constant.MakeString(opts.Name), "PIDFile": constant.MakeString(opts.PIDFile),
			"WorkDir": constant.MakeString(opts.WorkDir), "Stdio": constant.MakeString(opts.Stdio),
			"Umask": constant.MakeInt64(int64(opts.Umask)), "MaxFD": constant.MakeInt64(int64(opts.MaxFD)),
			"Generator": constant.MakeString("gendaemon " + Version),
		}
		for field, value := range map[string]string{"LogFile": opts.LogFile, "User": opts.User, "Group": opts.Group} {
			if value != "" {
				want[field] = constant.MakeString(value)
			}
		}
		if opts.FDStore {
			want["FDStore"] = constant.MakeBool(true)
		}
		if len(got) != len(want) {
			t.Errorf("%s: main.go sets %d fields, want %d", opts.Name, len(got), len(want))
		}
		for field, w := range want {
			if g, ok := got[field]; !ok || !constant.Compare(g, token.EQL, w) {
				t.Errorf("%s: main.go sets %s to %v, want %v", opts.Name, field, g, w)
			}
		}
		if octal := regexp.MustCompile(`\n\t\tUmask: +0o` + FormatUmask(opts.Umask) + `,\n`); !octal.Match(src) {
			t.Errorf("main.go does not match %s:\n%s", octal, src)
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

		UnitSettings: DefaultUnitSettings(),
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
