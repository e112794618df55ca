package generator

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crossTargets are the platforms every generated project must build, vet
// and compile its tests for: the full runtime on Linux, macOS and FreeBSD,
// run in the foreground on OpenBSD, NetBSD and Windows.
var crossTargets = []struct{ goos, goarch string }{
	{"darwin", "arm64"},
	{"darwin", "amd64"},
	{"freebsd", "amd64"},
	{"openbsd", "amd64"},
	{"netbsd", "amd64"},
	{"windows", "amd64"},
	{"linux", "arm64"},
}

// TestCrossCompile renders each golden case, writes it with Write, and runs
// `go build`, `go vet ./...` and `go test -c` of it for each of
// crossTargets, without cgo, as a developer on that platform would. It
// needs golang.org/x/sys in the module cache, as every generated project
// does, and nothing from the network.
func TestCrossCompile(t *testing.T) {
	for _, gc := range goldenCases {
		files, err := Render(gc.opts)
		if err != nil {
			t.Fatalf("%s: Render: %v", gc.name, err)
		}
		dir := filepath.Join(t.TempDir(), gc.opts.Name)
		if err := Write(dir, files, false); err != nil {
			t.Fatalf("%s: Write: %v", gc.name, err)
		}
		for _, target := range crossTargets {
			t.Run(gc.name+"/"+target.goos+"_"+target.goarch, func(t *testing.T) {
				env := crossEnv(target.goos, target.goarch)
				for _, args := range [][]string{
					{"build", "-o", os.DevNull, "."},
					{"vet", "./..."},
					{"test", "-c", "-o", os.DevNull, "."},
				} {
					runGo(t, dir, env, args...)
				}
			})
		}
	}
}

// crossEnv is the environment of a go command that builds for goos/goarch
// from the module cache alone: no cgo, no network, no VCS stamping, and no
// GOFLAGS from the caller (-mod=mod would let go.sum be rewritten).
func crossEnv(goos, goarch string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS", "GOPROXY", "GOWORK":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0",
		"GOFLAGS=-buildvcs=false", "GOPROXY=off", "GOWORK=off")
}

// runGo runs the go command with args in dir, with a deadline, and fails
// the test with its output if it fails.
func runGo(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
