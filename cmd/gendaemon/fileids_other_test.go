//go:build !unix

package main

import "github.com/rogpeppe/go-internal/testscript"

// cmdFileIDs needs inode numbers; the scripts that use it run on Unix.
func cmdFileIDs(ts *testscript.TestScript, neg bool, args []string) {
	ts.Fatalf("fileids: Unix only")
}
