// Package generator turns the options of `gendaemon new` into a project: it
// validates Options, renders every file in memory with Render (Go source
// through jennifer, the rest through the templates package), records the
// options and the owner of every file in the gendaemon.yaml Manifest, and
// writes the files with Write, the only code in gendaemon that writes to
// disk.
//
// Regeneration lives in regen.go: OpenProject locks a project (flock on
// its directory) and completes or undoes a regen that was interrupted;
// Project.Compare renders the options and compares every file with the
// disk, merging hand edits with what changed (write_merge.go, against the
// merge base of write_base.go); Project.Apply carries the Plan out as one
// transaction (write_tx.go). OptionSpecs (options_table.go) is the one
// table from an option to its flag, manifest key and comment.
//
// These concerns share one package on purpose: they share the Options and
// File types and the rule of who owns which file, and regeneration and drift
// checking (gendaemon regen, check, diff) need all of them at once. Splitting
// them would export that shared vocabulary without separating anything.
package generator
