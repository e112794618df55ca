package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

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

// cmdFileIDs is the script command "fileids OUT FILE...": it writes to OUT
// one line per FILE with its inode number and modification time, so that a
// script can show with cmp that a command rewrote no file.
func cmdFileIDs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: fileids out file...")
	}
	var b strings.Builder
	for _, name := range args[1:] {
		fi, err := os.Lstat(ts.MkAbs(name))
		ts.Check(err)
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			ts.Fatalf("fileids: no inode for %s", name)
		}
		fmt.Fprintf(&b, "%s inode %d mtime %d\n", name, st.Ino, fi.ModTime().UnixNano())
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o666))
}
