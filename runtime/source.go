// Package runtimesrc embeds the source of the runtime packages below this
// directory, which gendaemon vendors into every project it generates. The
// directory is called runtime; the package is not, so that it never shadows
// the standard library's runtime package where it is imported.
package runtimesrc

import "embed"

// FS holds runtime/daemon: package daemon, copied into a generated project as
// internal/daemon. Test files and testdata are embedded too; the generator
// skips them.
//
//go:embed daemon
var FS embed.FS
