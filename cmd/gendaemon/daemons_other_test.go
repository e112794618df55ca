//go:build !linux

package main

import "github.com/rogpeppe/go-internal/testscript"

// cmdEndsDaemons needs pidfds, which only Linux has; the scripts that
// start daemons run on Linux.
func cmdEndsDaemons(ts *testscript.TestScript, neg bool, args []string) {
	ts.Fatalf("endsdaemons: Linux only")
}
