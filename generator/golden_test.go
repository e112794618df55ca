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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
// tree: the same set of paths, the same bytes. The vendored runtime is left
// out of the trees: it is what the generator copies, not what it decides,
// and TestRenderOwnership checks it once. Its paths are still pinned, by the
// golden manifest, which lists every file. With -update it deletes the tree
// and writes it again with Write, so stale files disappear.
func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			files, err := Render(gc.opts)
			if err != nil {
				t.Fatalf("Render: %v", err)
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
			}
			onDisk, err := readTree(dir)
			if err != nil {
				t.Fatalf("%v (run go test ./generator -update)", err)
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

// readTree reads every file below dir, keyed by slash-separated path.
func readTree(dir string) (map[string][]byte, error) {
	tree := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		tree[filepath.ToSlash(rel)] = data
		return err
	})
	return tree, err
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

// TestGoldenProjectsBuild writes each golden case's project to a temporary
// directory and checks what a user does right after gendaemon new: go vet,
// go build and go test pass, and the daemon starts, reports its status and
// stops.
func TestGoldenProjectsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds whole projects; skipped with -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			dir := writeProject(t, gc.opts)
			env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
			bin := filepath.Join(t.TempDir(), gc.opts.Name)
			for _, args := range [][]string{
				{"go", "vet", "./..."},
				{"go", "build", "-o", bin, "."},
				{"go", "test", "-count=1", "./..."},
			} {
				if out, code := runIn(t, dir, env, args...); code != 0 {
					t.Fatalf("%s: exit %d\n%s", strings.Join(args, " "), code, out)
				}
			}
			if !gc.run {
				return
			}
			pidFile := filepath.Join(t.TempDir(), "x.pid")
			out, code := runIn(t, dir, env, bin, "start", "--pidfile", pidFile)
			m := regexp.MustCompile(`^` + gc.opts.Name + ` started \(pid (\d+)\)\n$`).FindStringSubmatch(out)
			if code != 0 || m == nil {
				t.Fatalf("start: exit %d, output %q; want 0, %q", code, out, gc.opts.Name+" started (pid N)")
			}
			pid, _ := strconv.Atoi(m[1])
			endProcess(t, pid)

			out, code = runIn(t, dir, env, bin, "status", "--pidfile", pidFile)
			if want := fmt.Sprintf("%s is running (pid %d)\n", gc.opts.Name, pid); code != 0 || out != want {
				t.Errorf("status: exit %d, output %q; want 0, %q", code, out, want)
			}
			// restart stops the daemon once, in the process the user ran, and
			// starts a new one.
			out, code = runIn(t, dir, env, bin, "restart", "--pidfile", pidFile)
			m = regexp.MustCompile(`^` + gc.opts.Name + ` stopped \(pid ` + strconv.Itoa(pid) + `\)\n` + gc.opts.Name + ` started \(pid (\d+)\)\n$`).FindStringSubmatch(out)
			if code != 0 || m == nil {
				t.Fatalf("restart: exit %d, output %q; want 0, the old pid stopped and a new one started", code, out)
			}
			pid, _ = strconv.Atoi(m[1])
			endProcess(t, pid)

			out, code = runIn(t, dir, env, bin, "stop", "--pidfile", pidFile)
			if want := fmt.Sprintf("%s stopped (pid %d)\n", gc.opts.Name, pid); code != 0 || out != want {
				t.Errorf("stop: exit %d, output %q; want 0, %q", code, out, want)
			}
			out, code = runIn(t, dir, env, bin, "status", "--pidfile", pidFile)
			if want := gc.opts.Name + " is not running\n"; code != 3 || out != want {
				t.Errorf("status after stop: exit %d, output %q; want 3, %q", code, out, want)
			}
		})
	}
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

// endProcess makes sure that the process pid, which the test started but
// is not the parent of, is gone when the test ends. It holds a pidfd from
// now on, so a recycled pid is never signalled.
func endProcess(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	t.Cleanup(func() {
		defer unix.Close(fd)
		if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			t.Errorf("kill %d: %v", pid, err)
		}
		// The pidfd becomes readable when the process has exited.
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		deadline := time.Now().Add(10 * time.Second)
		for {
			n, err := unix.Poll(fds, max(0, int(time.Until(deadline).Milliseconds())))
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || n == 0 {
				t.Errorf("process %d still running 10s after SIGKILL (%v)", pid, err)
			}
			return
		}
	})
}
