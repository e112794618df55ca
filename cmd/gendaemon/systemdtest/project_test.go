//go:build linux

package systemdtest

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gendaemon/gendaemon/generator"
)

// buildTimeout bounds the go build of one generated project.
const buildTimeout = 5 * time.Minute

// A project is a generated daemon, built and staged for the container.
type project struct {
	opts generator.Options
	// units holds the rendered unit files, by name (NAME.service,
	// NAME.socket).
	units map[string][]byte
}

// stageProject generates the project that opts describe, as `gendaemon new`
// does, with the test's service.go (testdata/service.go.in) in place of the
// scaffolded one; builds a static binary from it; and puts the binary and
// the unit files into stage/NAME, which the container sees as /lab/NAME.
func stageProject(t *testing.T, stage string, opts generator.Options) project {
	t.Helper()
	files, err := generator.Render(opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), opts.Name)
	if err := generator.Write(dir, files, false); err != nil {
		t.Fatal(err)
	}
	service, err := os.ReadFile(filepath.Join("testdata", "service.go.in"))
	if err != nil {
		t.Fatal(err)
	}
	service = []byte(strings.NewReplacer(`"MODULE/`, `"`+opts.Module+`/`, `"NAME"`, `"`+opts.Name+`"`).Replace(string(service)))
	if err := os.WriteFile(filepath.Join(dir, "service.go"), service, 0o644); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(stage, opts.Name)
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(out, opts.Name)
	goBuild(t, dir, bin)

	p := project{opts: opts, units: map[string][]byte{}}
	for _, f := range files {
		if filepath.Ext(f.Path) != ".service" && filepath.Ext(f.Path) != ".socket" {
			continue
		}
		p.units[f.Path] = f.Data
		if err := os.WriteFile(filepath.Join(out, f.Path), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// goBuild builds the project in dir into bin, without cgo, with the extra
// go build flags, and checks that bin is static: the container has a C
// library, but another one than the host's may be, and the binary's unit
// promises nothing about it.
func goBuild(t *testing.T, dir, bin string, flags ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	args := append(append([]string{"build", "-trimpath", "-o", bin}, flags...), ".")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", dir, err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Fatalf("%s has a program interpreter: not a static binary", bin)
		}
	}
}

// installCommands returns the commands of the "Install:" section of the
// comment that opens a unit file, one argument list per command ("&&"
// separates commands on a line).
func installCommands(t *testing.T, unit []byte) [][]string {
	t.Helper()
	var cmds [][]string
	in := false
	for _, line := range strings.Split(string(unit), "\n") {
		text, comment := strings.CutPrefix(line, "#")
		switch {
		case !comment:
			return cmds
		case strings.TrimSpace(text) == "Install:":
			in = true
		case in && strings.HasPrefix(text, "   "):
			for _, c := range strings.Split(text, "&&") {
				cmds = append(cmds, strings.Fields(c))
			}
		case in:
			return cmds
		}
	}
	return cmds
}
