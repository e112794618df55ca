package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/script")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"gendaemon": main,
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *update,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":       cmdExits,
			"fileids":     cmdFileIDs,
			"interrupt":   cmdInterrupt,
			"endsdaemons": cmdEndsDaemons,
		},
		Setup: func(env *testscript.Env) error {
			// The scripts compare what gendaemon writes with the golden
			// trees, which the generator's tests keep in step with Render.
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			env.Setenv("GOLDEN", filepath.Join(wd, "..", "..", "golden"))
			// Scripts may build the generated project offline, from the
			// module and build caches of the go command running the tests.
			for _, v := range []string{"GOCACHE", "GOMODCACHE"} {
				out, err := exec.Command("go", "env", v).Output()
				if err != nil {
					return fmt.Errorf("go env %s: %v", v, err)
				}
				env.Setenv(v, strings.TrimSpace(string(out)))
			}
			env.Setenv("GOFLAGS", "-mod=mod")
			env.Setenv("GOPROXY", "off")
			env.Setenv("GOWORK", "off")
			env.Setenv("GOTOOLCHAIN", "local")
			return nil
		},
	})
}

func TestShellQuote(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "srv/my-svc_2", "srv/my-svc_2"},
		{"empty", "", "''"},
		{"space", "my dir", "'my dir'"},
		{"quote", "it's", `'it'\''s'`},
		{"semicolon", "a;b", "'a;b'"},
	} {
		if got := shellQuote(tc.in); got != tc.want {
			t.Errorf("%s: shellQuote(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// cmdExits is the script command "exits N PROGRAM [ARGS...]": it runs
// PROGRAM like exec, keeping its standard output and error for stdout and
// stderr, and fails unless PROGRAM exits with status N.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: invalid status %q", args[0])
	}
	got := 0
	var exit *exec.ExitError
	if err := ts.Exec(args[1], args[2:]...); errors.As(err, &exit) {
		got = exit.ExitCode()
	} else if err != nil {
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdInterrupt is the script command "interrupt N PROGRAM [ARGS...]": N
// times, it starts PROGRAM in the script's directory and environment,
// waits until the kernel shows it holding that directory open (gendaemon
// has opened the project to lock it, so the signal lands in the regen, not
// before Go has installed its handler), sends it SIGINT and waits for it,
// whatever its exit status. It prints one line per run with the exit
// status. A run that has not ended 10s after the signal is killed and
// fails the script.
func cmdInterrupt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: interrupt n program [args...]")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("interrupt: invalid count %q", args[0])
	}
	path, err := exec.LookPath(args[1])
	ts.Check(err)
	var env []string
	for _, kv := range []string{"PATH", "HOME", "TMPDIR"} {
		env = append(env, kv+"="+ts.Getenv(kv))
	}
	dir := ts.MkAbs(".")
	for range n {
		cmd := exec.Command(path, args[2:]...)
		cmd.Dir, cmd.Env = dir, env
		ts.Check(cmd.Start())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		waitHolding(cmd.Process.Pid, dir, done)
		cmd.Process.Signal(os.Interrupt)
		var werr error
		select {
		case werr = <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			ts.Fatalf("interrupt: %s did not end within 10s of SIGINT", args[1])
		}
		status := 0
		var exit *exec.ExitError
		if errors.As(werr, &exit) {
			status = exit.ExitCode()
		}
		fmt.Fprintf(ts.Stdout(), "exit %d\n", status)
	}
}

// waitHolding returns once /proc shows the process pid with a descriptor
// open on dir, or once it has ended (done is ready; the value stays).
func waitHolding(pid int, dir string, done chan error) {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	for {
		select {
		case err := <-done:
			done <- err
			return
		default:
		}
		entries, _ := os.ReadDir(fdDir)
		for _, e := range entries {
			if target, err := os.Readlink(filepath.Join(fdDir, e.Name())); err == nil && target == dir {
				return
			}
		}
		runtime.Gosched()
	}
}
