package generator

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestReservedNames enumerates the names and module paths that would make
// a project the go command cannot build: each is refused with a message that
// says what to do, and the same name with a module path of its own is
// accepted where that builds.
func TestReservedNames(t *testing.T) {
	for _, tc := range []struct {
		name, module string
		want         string // a regular expression; "" means accepted
	}{
		{name: "fmt", want: `^invalid name "fmt" as a module path: it is a standard-library package.*--module example\.com/you/fmt$`},
		{name: "errors", want: `standard-library package`},
		{name: "net", want: `standard-library package`},
		{name: "time", want: `standard-library package`},
		{name: "main", want: `go test cannot import a package called main`},
		{name: "go", want: `directive`},
		{name: "toolchain", want: `directive`},
		{name: "tool", want: `package pattern`},
		{name: "work", want: `package pattern`},
		{name: "type", want: `compiler reserves the package path type`},
		{name: "all", want: `package pattern`},
		{name: "std", want: `reserved for the standard library`},
		{name: "cmd", want: `reserved for the standard library`},
		{name: "internal", want: `^invalid name "internal": go build would write the binary over`},
		{name: "vendor", want: `^invalid name "vendor": .*vendor directory`},
		{name: "internal", module: "example.com/you/internal", want: `over the project's internal directory`},
		{name: "vendor", module: "example.com/you/vendor", want: `vendor directory`},
		{name: "myservice", module: "net/myservice"},
		{name: "myservice", module: "main/myservice"},
		{name: "fmt", module: "example.com/you/fmt"},
		{name: "main", module: "example.com/you/main"},
		{name: "go", module: "example.com/you/go"},
		{name: "all", module: "example.com/you/all"},
		{name: "testdata"},
		{name: "daemon"},
		{name: "service"},
		{name: "http"},
		{name: "fmt2"},
	} {
		t.Run(tc.name+" "+tc.module, func(t *testing.T) {
			opts := NewOptions(tc.name)
			if tc.module != "" {
				opts.Module = tc.module
			}
			err := opts.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate(%q, %q) = %v, want nil", tc.name, tc.module, err)
			case tc.want != "" && (err == nil || !errors.Is(err, ErrInvalidOption) || !regexp.MustCompile(tc.want).MatchString(err.Error())):
				t.Errorf("Validate(%q, %q) = %v, want an invalid option matching %s", tc.name, tc.module, err, tc.want)
			}
		})
	}
}

// TestStdRootsAreCurrent checks stdRoot against the go command's list of
// the standard library.
func TestStdRootsAreCurrent(t *testing.T) {
	out, err := exec.Command("go", "list", "std").Output()
	if err != nil {
		t.Fatalf("go list std: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		root, _, _ := strings.Cut(p, "/")
		if !stdRoot(root) {
			t.Errorf("stdRoot(%q) = false, but go list std has %s", root, p)
		}
	}
}

// TestAcceptedNamesBuild builds, vets and tests the projects of names close
// to the refused ones, which Validate accepts: each must build.
func TestAcceptedNamesBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds whole projects; skipped with -short")
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	for _, opts := range []Options{
		NewOptions("daemon"),
		NewOptions("service"),
		NewOptions("testdata"),
		func() Options { o := NewOptions("main"); o.Module = "example.com/you/main"; return o }(),
		func() Options { o := NewOptions("fmt"); o.Module = "example.com/you/fmt"; return o }(),
		func() Options { o := NewOptions("myservice"); o.Module = "net/myservice"; return o }(),
	} {
		t.Run(opts.Module, func(t *testing.T) {
			dir := writeProject(t, opts)
			for _, args := range [][]string{{"go", "vet", "./..."}, {"go", "build"}, {"go", "test", "./..."}} {
				if out, code := runIn(t, dir, env, args...); code != 0 {
					t.Fatalf("%s: exit %d\n%s", strings.Join(args, " "), code, out)
				}
			}
		})
	}
}

// TestNamesWithCompilerMeaning checks names that the go command accepts as
// a module path but the compiler reserves as a package path: "type" is the
// path of the compiler's own package for type descriptors, so go test of a
// module called type fails with an internal compiler error ("package
// "type" has name "type", but want "main""). Each must be refused up
// front, or its project must build, vet and test.
func TestNamesWithCompilerMeaning(t *testing.T) {
	if testing.Short() {
		t.Skip("builds whole projects; skipped with -short")
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	for _, name := range []string{"type"} {
		t.Run(name, func(t *testing.T) {
			opts := NewOptions(name)
			if err := opts.Validate(); err != nil {
				if !errors.Is(err, ErrInvalidOption) {
					t.Fatalf("Validate(%q) = %v, want nil or an invalid option", name, err)
				}
				return // refused up front: fine
			}
			dir := writeProject(t, opts)
			for _, args := range [][]string{{"go", "vet", "./..."}, {"go", "build"}, {"go", "test", "./..."}} {
				if out, code := runIn(t, dir, env, args...); code != 0 {
					t.Fatalf("Validate(%q) = nil, but %s: exit %d\n%s", name, strings.Join(args, " "), code, out)
				}
			}
		})
	}
}
