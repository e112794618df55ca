// Package templates holds the text/template files from which gendaemon
// renders the files of a generated project that are not Go source: go.mod,
// go.sum, README.md and the manifest gendaemon.yaml. It has no logic; the
// generator package executes the templates and documents their data.
package templates

import "embed"

// FS holds the templates, one per generated file, named after the file with
// .tmpl appended, and in legacy/ the scaffold files that earlier releases
// wrote, named VERSION-FILE.tmpl, from which regen rebuilds the merge base
// of a project that predates merge bases.
//
//go:embed *.tmpl legacy/*.tmpl
var FS embed.FS
