package generator

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "delete and rewrite the golden trees in ../golden")

// goldenCases are the projects under ../golden. run says whether the built
// daemon can be started by any user on any machine (the others need root,
// or directories that tests must not create).
var goldenCases = []struct {
	name string
	opts Options
	run  bool
}{
	{name: "defaults", opts: NewOptions("myservice"), run: true},
	{name: "allopts", opts: allOptions()},
	{name: "listen", opts: listenOptions()},
	{name: "unitopts", opts: unitSettingsOptions()},
}

// listenOptions are those of a socket-activated daemon with a log file.
func listenOptions() Options {
	o := NewOptions("webd")
	o.Module = "example.com/acme/webd"
	o.Listen = []string{"8080", "/run/webd.sock"}
	o.LogFile = "/var/log/webd.log"
	return o
}

// TestGolden renders each case in memory and compares it with its golden
// tree: the same set of paths, the same bytes. The vendored runtime is not
// copied into the trees: it is what the generator copies, not what it
// decides, and TestRenderOwnership checks it once. Each of its files is a
// symbolic link to the runtime's source instead (runtimeLink), so that its
// paths are pinned and each tree builds and vets in place. With -update it
// deletes the tree and writes it again with Write, so stale files
// disappear.
func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			files, err := Render(gc.opts)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			var vendored []string
			for _, f := range files {
				if isVendored(f) {
					vendored = append(vendored, f.Path)
				}
			}
			files = slices.DeleteFunc(files, isVendored)
			dir := filepath.Join("..", "golden", gc.name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := Write(dir, files, false); err != nil {
					t.Fatalf("Write: %v", err)
				}
				if err := os.MkdirAll(filepath.Join(dir, daemonDir), DirMode); err != nil {
					t.Fatal(err)
				}
				for _, p := range vendored {
					if err := os.Symlink(runtimeLink(p), filepath.Join(dir, filepath.FromSlash(p))); err != nil {
						t.Fatal(err)
					}
				}
			}
			onDisk, links, err := readTree(dir)
			if err != nil {
				t.Fatalf("%v (run go test ./generator -update)", err)
			}
			for _, p := range vendored {
				if target, ok := links[p]; !ok || target != runtimeLink(p) {
					t.Errorf("%s: want a symbolic link to %s in %s, got %q", p, runtimeLink(p), dir, target)
				}
				delete(links, p)
			}
			for _, p := range slices.Sorted(maps.Keys(links)) {
				t.Errorf("%s: a symbolic link in %s to a file the runtime does not vendor", p, dir)
			}
			for _, f := range files {
				got, ok := onDisk[f.Path]
				delete(onDisk, f.Path)
				switch {
				case !ok:
					t.Errorf("%s: rendered, but missing from %s", f.Path, dir)
				case !bytes.Equal(got, f.Data):
					t.Errorf("%s: differs from the golden file\n%s", f.Path, firstDifference(got, f.Data))
				}
			}
			for _, p := range slices.Sorted(maps.Keys(onDisk)) {
				t.Errorf("%s: in %s, but not rendered", p, dir)
			}
			if t.Failed() {
				t.Log("if the change is intended, run go test ./generator -update and read the diff")
			}
		})
	}
}

// isVendored reports whether f is a file of the vendored runtime.
func isVendored(f File) bool {
	return strings.HasPrefix(f.Path, daemonDir+"/") && strings.HasSuffix(f.Path, ".go")
}

// runtimeLink is the target of the symbolic link that stands in a golden
// tree for the vendored runtime file at path: the runtime's own source.
func runtimeLink(path string) string {
	return "../../../../runtime/daemon/" + filepath.Base(path)
}

// readTree reads every regular file below dir, and the targets of its
// symbolic links, keyed by slash-separated path.
func readTree(dir string) (files map[string][]byte, links map[string]string, err error) {
	files, links = map[string][]byte{}, map[string]string{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			links[filepath.ToSlash(rel)], err = os.Readlink(p)
		case d.Type().IsRegular():
			files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		default:
			err = fmt.Errorf("%s is not a regular file or a symbolic link", p)
		}
		return err
	})
	return files, links, err
}

// firstDifference describes the first line where golden and rendered differ.
func firstDifference(golden, rendered []byte) string {
	g := strings.Split(string(golden), "\n")
	r := strings.Split(string(rendered), "\n")
	for i := 0; i < len(g) || i < len(r); i++ {
		var gl, rl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(r) {
			rl = r[i]
		}
		if gl != rl || i >= len(g) || i >= len(r) {
			return fmt.Sprintf("line %d:\n  golden:   %q\n  rendered: %q", i+1, gl, rl)
		}
	}
	return "(they differ only in line endings)"
}

// writeProject renders the project opts describe and writes it to a new
// temporary directory, which it returns.
func writeProject(t *testing.T, opts Options) string {
	t.Helper()
	files, err := Render(opts)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	dir := filepath.Join(t.TempDir(), opts.Name)
	if err := Write(dir, files, false); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return dir
}

// runIn runs a command in dir with a deadline and returns its combined
// output and exit status.
func runIn(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.WaitDelay = 10 * time.Second // a daemon that kept our pipe must not hang the test
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), 0
}
