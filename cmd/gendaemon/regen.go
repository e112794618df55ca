package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gendaemon/gendaemon/generator"
)

// exitStatus is an error that the command has already reported, as diff(1)
// does: run exits with it and prints nothing more.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

func regenCommand() *cli.Command {
	return &cli.Command{
		Name:      "regen",
		Usage:     "rewrite the generated files from gendaemon.yaml",
		ArgsUsage: "[DIR]",
		Description: `Reads gendaemon.yaml in DIR (default: the current directory) and rewrites
the files gendaemon generated from it, after you edited a default there.
The flags below change the manifest and regenerate in one step, as in
gendaemon regen --umask 027.

It prints each generated file as updated, unchanged, created or removed;
unchanged files are not touched. Your files (service.go, README.md, go.mod,
...) are never touched, not even recreated when you deleted them. So to
change the module path, run go mod edit -module first: regen, check and
diff exit with status 2 while go.mod declares another module.

A generated file edited by hand is merged: your edits are kept in the
new version (git merge-file, with the version gendaemon last wrote, kept in
.gendaemon/base.tar.gz, as the base). Where they conflict with gendaemon's
changes, the file gets conflict markers and regen exits with status 1;
check fails until they are resolved. Move hand edits to service.go; run
gendaemon regen --force to drop them. Without a merge base (or git), regen
writes nothing, shows the edit and exits with status 1. When the scaffold
that gendaemon writes changed, regen prints it as a patch for git apply -3. An invalid manifest or flag exits
with status 2. Run gendaemon diff first to see what regen would change.`,
		OnUsageError:    flagUsageError("regen"),
		HideHelpCommand: true,
		Flags: append(optionFlags(false),
			&cli.BoolFlag{Name: "force", Usage: "overwrite (or remove) generated files that were edited by hand"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print what would change, and write nothing"},
		),
		Action: regenAction,
	}
}

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "fail if a generated file does not match gendaemon.yaml (for CI)",
		ArgsUsage: "[DIR]",
		Description: `Renders the project that gendaemon.yaml in DIR (default: the project the
current directory is in) describes and compares every generated file with
it. Exits with status 0 when all are byte-identical; otherwise with status
1, naming each file that is stale (the manifest changed since regen),
edited (by hand), conflict (unresolved merge markers), missing, orphaned
(no longer generated), or stray (in internal/daemon, but not written by
gendaemon), with a diff. It writes nothing. --quiet prints nothing, --json
lists every file with its owner and state; both keep the exit status.

Run it in CI. To fix what it reports, run gendaemon regen (and move hand
edits to service.go first, or use gendaemon regen --force).`,
		OnUsageError:    flagUsageError("check"),
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing; only the exit status tells"},
			&cli.BoolFlag{Name: "json", Usage: "print every file with its owner and state as JSON"},
		},
		Action: checkAction,
	}
}

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "show the unified diff that regen would apply",
		ArgsUsage: "[DIR]",
		Description: `Prints the unified diff from the generated files in DIR (default: the
current directory) to what gendaemon regen, with the same flags, would write.
Exits with status 0 when there is none, 1 when there is some, and 2 for an
invalid manifest or flag, like diff(1). It writes nothing.

Then run gendaemon regen with the same flags to apply it.`,
		OnUsageError:    flagUsageError("diff"),
		HideHelpCommand: true,
		Flags:           optionFlags(false),
		Action:          diffAction,
	}
}

// optionFlags are the flags that set an option, one per row of the
// generator's table. For new (forNew) a flag that is not given keeps the
// default; for regen and diff, the manifest's value.
func optionFlags(forNew bool) []cli.Flag {
	var flags []cli.Flag
	for _, s := range generator.OptionSpecs() {
		def := s.Default
		if !forNew {
			def = "from gendaemon.yaml"
		}
		switch {
		case s.Bool:
			flags = append(flags, &cli.BoolFlag{Name: s.Flag, Usage: s.Usage, DefaultText: def})
		case s.Repeated:
			flags = append(flags, &cli.StringSliceFlag{Name: s.Flag, Usage: s.Usage, DefaultText: def})
		default:
			flags = append(flags, &cli.StringFlag{Name: s.Flag, Usage: s.Usage, DefaultText: def})
		}
	}
	return flags
}

// applyFlags changes opts by the option flags given on the command line.
// Render (and Compare, which renders) validates the result.
func applyFlags(c *cli.Context, opts *generator.Options) error {
	for _, s := range generator.OptionSpecs() {
		if !c.IsSet(s.Flag) {
			continue
		}
		values := []string{c.String(s.Flag)}
		switch {
		case s.Bool:
			values = []string{strconv.FormatBool(c.Bool(s.Flag))}
		case s.Repeated:
			values = c.StringSlice(s.Flag)
		}
		if err := s.Set(opts, values); err != nil {
			return err
		}
	}
	return nil
}

// projectDir returns the project directory that the command's argument
// names or, without one, the project that the current directory is in.
func projectDir(c *cli.Context) (string, error) {
	cmd := c.Command.Name
	if c.NArg() > 1 {
		return "", usagef("gendaemon "+cmd+" --help", "%s: unexpected argument %q after DIR", cmd, c.Args().Get(1))
	}
	if c.NArg() == 1 {
		return c.Args().First(), nil
	}
	return generator.FindProject("."), nil
}

// openPlan opens and locks the project of the command (exclusively if
// write), applies the option flags if withFlags, and compares. The caller
// closes the project.
func openPlan(c *cli.Context, write, withFlags bool) (*generator.Project, *generator.Plan, error) {
	dir, err := projectDir(c)
	if err != nil {
		return nil, nil, err
	}
	pr, err := generator.OpenProject(dir, write)
	if err != nil {
		return nil, nil, err
	}
	p, err := comparePlan(c, pr, withFlags)
	if err != nil {
		pr.Close()
		return nil, nil, err
	}
	return pr, p, nil
}

// comparePlan applies the option flags to the manifest's options if
// withFlags, and compares.
func comparePlan(c *cli.Context, pr *generator.Project, withFlags bool) (*generator.Plan, error) {
	opts, err := pr.Manifest.Options()
	if err != nil {
		return nil, err
	}
	if withFlags {
		if err := applyFlags(c, &opts); err != nil {
			return nil, err
		}
	}
	return pr.Compare(opts)
}

// regenAction is gendaemon regen.
func regenAction(c *cli.Context) error {
	// --dry-run only reads: it leaves an interrupted regen for a real one.
	pr, p, err := openPlan(c, !c.Bool("dry-run"), true)
	if err != nil {
		return err
	}
	defer pr.Close()
	w := c.App.Writer
	switch pr.Recovered {
	case generator.Completed:
		fmt.Fprintf(w, "regen %s: completed the regen that was interrupted before\n", p.Dir)
	case generator.RolledBack:
		fmt.Fprintf(w, "regen %s: undid the regen that was interrupted before it wrote anything\n", p.Dir)
	}
	force := c.Bool("force")
	if edited := p.Edited(); len(edited) > 0 && !force {
		return refuseEdited(w, p, edited)
	}
	if c.Bool("dry-run") {
		fmt.Fprintf(w, "regen %s would leave:\n", p.Dir)
		printChanges(w, p, force)
		fmt.Fprintln(w, "nothing written (--dry-run)")
		printScaffoldDiffs(w, p)
		return nil
	}
	if err := pr.Apply(c.Context, p, force); err != nil {
		return err
	}
	fmt.Fprintf(w, "regen %s:\n", p.Dir)
	printChanges(w, p, force)
	printScaffoldDiffs(w, p)
	if force {
		return nil
	}
	return reportMerges(w, p)
}

// refuseEdited shows the hand edits that regen cannot merge and returns
// the error that refuses them.
func refuseEdited(w io.Writer, p *generator.Plan, edited []generator.Change) error {
	fmt.Fprintf(w, "regen %s: these generated files were edited by hand since gendaemon wrote them:\n", p.Dir)
	for _, e := range edited {
		fmt.Fprintf(w, "  %s\n", e.Path)
	}
	for _, e := range edited {
		fmt.Fprintf(w, "\n%s", e.EditDiff())
	}
	why := "there is no merge base (" + generator.BaseName + ") that has them as gendaemon wrote them"
	if p.NoMerge != "" {
		why = p.NoMerge
	}
	return fmt.Errorf("regen: %d generated file(s) edited by hand, and regen cannot merge them: %s; nothing written.\n"+
		"Move your changes to service.go (yours: regen never touches it), then run\n"+
		"'gendaemon regen --force' to overwrite the generated files; 'gendaemon diff'\n"+
		"shows everything regen would change", len(edited), why)
}

// reportMerges says which hand edits regen kept, and returns an error
// naming the files it wrote with conflict markers, if any.
func reportMerges(w io.Writer, p *generator.Plan) error {
	var kept []string
	for _, ch := range p.Changes {
		if ch.Merge != nil && ch.Merge.Conflicts == 0 {
			kept = append(kept, ch.Path)
		}
	}
	if len(kept) > 0 {
		fmt.Fprintf(w, "\nYour hand edits of %s are kept in the new version; check fails until you\n"+
			"move them to service.go (or drop them with gendaemon regen --force).\n", strings.Join(kept, ", "))
	}
	conflicts := p.Conflicts()
	if len(conflicts) == 0 {
		return nil
	}
	var names []string
	for _, ch := range conflicts {
		names = append(names, ch.Path)
	}
	return fmt.Errorf("regen: your hand edits and gendaemon's changes conflict in %s: resolve the <<<<<<< ======= >>>>>>> markers there (gendaemon check fails until you do), or run 'gendaemon regen --force' to take gendaemon's version",
		strings.Join(names, ", "))
}

// printScaffoldDiffs shows what changed in the scaffold that gendaemon
// renders, which regen never writes: the user applies it, or not.
func printScaffoldDiffs(w io.Writer, p *generator.Plan) {
	if len(p.ScaffoldDiffs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nThe scaffold gendaemon writes for new projects changed since it wrote yours.\n"+
		"Your files are yours, so regen did not touch them; to take the change, save\n"+
		"this patch and run git apply -3 PATCH in %s:\n\n", p.Dir)
	for _, d := range p.ScaffoldDiffs {
		fmt.Fprint(w, d)
	}
}

// printChanges lists what regen does with each file.
func printChanges(w io.Writer, p *generator.Plan, force bool) {
	for _, ch := range p.Changes {
		note := ""
		switch {
		case ch.State == generator.Stray:
			note = " (not written by gendaemon, in a folder it owns: move it away)"
		case force:
		case ch.State == generator.Conflicted:
			note = " (still holds conflict markers: resolve them)"
		case ch.Merge != nil && ch.Merge.Conflicts > 0:
			note = fmt.Sprintf(" (%d conflict(s) between your edits and gendaemon's, marked)", ch.Merge.Conflicts)
		case ch.Merge != nil:
			note = " (edited by hand: your edits kept)"
		}
		fmt.Fprintf(w, "  %-9s  %s%s\n", ch.Outcome(force), ch.Path, note)
	}
	for _, path := range p.Ignored {
		fmt.Fprintf(w, "  %-9s  %s (%s lists it, but gendaemon never writes it: left alone)\n", "ignored", path, generator.ManifestName)
	}
}

// checkAction is gendaemon check.
func checkAction(c *cli.Context) error {
	pr, p, err := openPlan(c, false, false)
	if err != nil {
		return err
	}
	defer pr.Close()
	w := c.App.Writer
	bad := p.Problems()
	switch {
	case c.Bool("json"):
		if err := printJSON(w, p); err != nil {
			return err
		}
		if len(bad) > 0 {
			return exitStatus(exitFailure)
		}
		return nil
	case c.Bool("quiet"):
		if len(bad) > 0 {
			return exitStatus(exitFailure)
		}
		return nil
	}
	if len(bad) == 0 {
		fmt.Fprintf(w, "check %s: every generated file matches %s\n", p.Dir, generator.ManifestName)
		return nil
	}
	fmt.Fprintf(w, "check %s: %d generated file(s) do not match %s:\n", p.Dir, len(bad), generator.ManifestName)
	for _, ch := range bad {
		fmt.Fprintf(w, "  %-8s  %s\n", ch.State, ch.Path)
	}
	for _, ch := range bad {
		switch ch.State {
		case generator.Edited:
			fmt.Fprintf(w, "\n%s: edited by hand:\n%s", ch.Path, ch.EditDiff())
		case generator.Stray:
			fmt.Fprintf(w, "\n%s: not written by gendaemon, but in a folder it owns and compiles: move it out (to your own package)\n", ch.Path)
		case generator.Conflicted:
			fmt.Fprintf(w, "\n%s: holds the conflict markers of a merge by regen: resolve them\n", ch.Path)
		default:
			fmt.Fprintf(w, "\n%s: %s; regen would apply:\n%s", ch.Path, ch.State, ch.Diff())
		}
	}
	return fmt.Errorf("check: %d generated file(s) do not match %s: run 'gendaemon regen' (move hand edits to service.go first)", len(bad), generator.ManifestName)
}

// printJSON writes check's machine-readable listing: the project, whether
// it is clean, and every file gendaemon considers with its owner and state.
func printJSON(w io.Writer, p *generator.Plan) error {
	type file struct {
		Path  string `json:"path"`
		Owner string `json:"owner"`
		State string `json:"state"`
	}
	out := struct {
		Dir   string `json:"dir"`
		Clean bool   `json:"clean"`
		Files []file `json:"files"`
	}{Dir: p.Dir, Clean: p.Clean(), Files: []file{}}
	for _, ch := range p.Changes {
		out.Files = append(out.Files, file{Path: ch.Path, Owner: ch.Owner.String(), State: ch.State.String()})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// diffAction is gendaemon diff.
func diffAction(c *cli.Context) error {
	pr, p, err := openPlan(c, false, true)
	if err != nil {
		return err
	}
	defer pr.Close()
	differs := false
	for _, ch := range p.Changes {
		if ch.Action == generator.Unchanged {
			continue
		}
		differs = true
		fmt.Fprint(c.App.Writer, ch.Diff())
	}
	if differs {
		return exitStatus(exitFailure)
	}
	return nil
}
