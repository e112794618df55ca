//go:build unix

package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/rogpeppe/go-internal/testscript"
)

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
