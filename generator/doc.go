// Package generator turns the options of `gendaemon new` into a project: it
// validates Options, renders every file in memory with Render (Go source
// through jennifer, the rest through the templates package), records the
// options and the owner of every file in the gendaemon.yaml Manifest, and
// writes the files with Write, the only code in gendaemon that writes to
// disk.
//
// These concerns share one package on purpose: they share the Options and
// File types and the rule of who owns which file, and regeneration and drift
// checking (gendaemon regen, check, diff) need all of them at once. Splitting
// them would export that shared vocabulary without separating anything.
package generator
