// Package templates holds the text/template files from which gendaemon
// renders the files of a generated project that are not Go source: go.mod,
// go.sum, README.md and the manifest gendaemon.yaml. It has no logic; the
// generator package executes the templates and documents their data.
package templates

import "embed"

// FS holds the templates, one per generated file, named after the file with
// .tmpl appended.
//
//go:embed *.tmpl
var FS embed.FS
