// Command gendaemon scaffolds Go daemon projects whose runtime performs the
// complete SysV detach sequence of systemd's daemon(7).
//
// Usage:
//
//	gendaemon new NAME [flags]
//	gendaemon regen [DIR] [flags]
//	gendaemon check [DIR] [--quiet|--json]
//	gendaemon diff [DIR] [flags]
//	gendaemon version
//	gendaemon completion bash|zsh|fish
//
// The command line is a thin layer: it turns flags into generator.Options,
// renders the project in memory with generator.Render, and writes it with
// generator.Write. Bad input exits with status 2, other failures with 1.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/gendaemon/gendaemon/generator"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the command could not do its work
	exitUsage   = 2 // bad command line or input, or a target gendaemon will not write over
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run runs gendaemon with args (args[0] is the program name) and returns
// the process's exit status.
func run(args []string, stdout, stderr io.Writer) int {
	// SIGINT and SIGTERM end ctx: the generator then stops and undoes
	// what it has not committed, instead of dying half-way.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, interspersed(app, args))
	if err == nil {
		return exitOK
	}
	var status exitStatus
	if errors.As(err, &status) {
		return int(status) // the command has reported it
	}
	fmt.Fprintf(stderr, "gendaemon: %v\n", err)
	var usage *usageError
	switch {
	case errors.As(err, &usage):
		if usage.help != "" {
			fmt.Fprintf(stderr, "run '%s' for usage\n", usage.help)
		}
		return exitUsage
	case errors.Is(err, generator.ErrInvalidOption), errors.Is(err, generator.ErrConflict):
		return exitUsage
	}
	return exitFailure
}

// usageError is a bad command line; help is the command that explains it.
type usageError struct {
	err  error
	help string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(help, format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...), help: help}
}

// flagUsageError is the OnUsageError of a command: the flag package's
// error, with flags spelled as the help spells them (--maxfd, not -maxfd).
func flagUsageError(cmd string) cli.OnUsageErrorFunc {
	help, prefix := "gendaemon --help", ""
	if cmd != "" {
		help, prefix = "gendaemon "+cmd+" --help", cmd+": "
	}
	return func(_ *cli.Context, err error, _ bool) error {
		return usagef(help, "%s%s", prefix, singleDash.ReplaceAllString(err.Error(), "$1--$2"))
	}
}

// singleDash matches a long flag that the flag package wrote with one dash.
var singleDash = regexp.MustCompile(`(^|[ :])-([a-z][a-z-]+)`)

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:      "gendaemon",
		Usage:     "scaffold Go daemons that detach the way daemon(7) says",
		UsageText: "gendaemon new NAME [flags]\n   gendaemon regen|check|diff [DIR] [flags]",
		Version:   generator.Version,
		Writer:    stdout,
		ErrWriter: stderr,
		// run reports errors and chooses the exit status; urfave/cli must
		// not print them or exit.
		ExitErrHandler:       func(*cli.Context, error) {},
		OnUsageError:         flagUsageError(""),
		EnableBashCompletion: true,
		// A comma is part of a value (environment: "HOSTS=a,b"), not a
		// separator of a repeated flag's values.
		DisableSliceFlagSeparator: true,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("gendaemon --help", "unknown command %q", c.Args().First())
			}
			return usagef("gendaemon --help", "no command given")
		},
		Commands: []*cli.Command{newCommand(), regenCommand(), checkCommand(), diffCommand(), versionCommand(), completionCommand()},
	}
}

func newCommand() *cli.Command {
	return &cli.Command{
		Name:      "new",
		Usage:     "create a daemon project",
		ArgsUsage: "NAME",
		Description: `Creates the directory NAME (or --dir) holding a Go module whose binary,
NAME, runs as a Unix daemon: NAME start|stop|restart|status|reload|run.
Your code goes in service.go. The options below are compiled into the
binary and recorded in gendaemon.yaml.

NAME is lowercase letters, digits, '-' and '_', starting with a letter, at
most 64 characters. Every input is checked before anything is written; bad
input, or a non-empty directory without --force, exits with status 2.`,
		OnUsageError:    flagUsageError("new"),
		HideHelpCommand: true, // gendaemon new help creates a daemon named help
		Flags: append(append([]cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "create the project in `DIR`", DefaultText: "./NAME"},
		}, optionFlags(true)...),
			&cli.BoolFlag{Name: "force", Usage: "write into a non-empty directory, replacing files of the same name (never into an existing project: use regen)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the files that would be written, and write nothing"},
		),
		Action: newAction,
	}
}

// newAction is gendaemon new.
func newAction(c *cli.Context) error {
	switch c.NArg() {
	case 0:
		return usagef("gendaemon new --help", "new: missing NAME: usage: gendaemon new NAME [flags]")
	case 1:
	default:
		return usagef("gendaemon new --help", "new: unexpected argument %q after NAME", c.Args().Get(1))
	}
	name := c.Args().First()
	opts := generator.NewOptions(name)
	if err := applyFlags(c, &opts); err != nil {
		return err
	}

	// Render validates every option before the target is even looked at.
	files, err := generator.Render(opts)
	if err != nil {
		return err
	}
	dir := name
	if c.IsSet("dir") {
		dir = c.String("dir")
	}
	if dir == "" {
		return usagef("gendaemon new --help", "new: invalid dir \"\": give a directory")
	}
	w := c.App.Writer
	if c.Bool("dry-run") {
		if err := generator.CheckTarget(dir, files, c.Bool("force")); err != nil {
			return err
		}
		fmt.Fprintf(w, "would create %s (module %s):\n", dir, opts.Module)
		printFiles(w, files)
		fmt.Fprintln(w, "nothing written (--dry-run)")
		return nil
	}
	// The merge base lets a later regen merge hand edits.
	withBase, err := generator.WithBase(files)
	if err != nil {
		return err
	}
	if err := generator.WriteContext(c.Context, dir, withBase, c.Bool("force")); err != nil {
		return err
	}
	fmt.Fprintf(w, "created %s (module %s):\n", dir, opts.Module)
	printFiles(w, files)
	printNext(w, dir, opts)
	return nil
}

// printNext says what to run after new. With a pidfile in /run, like the
// default, the commands use one in the project directory, which works for
// any user, and say that the default usually needs root; a pidfile
// elsewhere is used as it is.
func printNext(w io.Writer, dir string, opts generator.Options) {
	pidFlag, rootHint := "", ""
	if generator.InRunDir(opts.PIDFile) {
		pidFlag = fmt.Sprintf(` --pidfile "$PWD/%s.pid"`, opts.Name)
		rootHint = fmt.Sprintf("Without --pidfile, %s uses %s, which usually needs root.\n", opts.Name, opts.PIDFile)
	}
	fmt.Fprintf(w, `
next:
  cd %[1]s && go build
  ./%[2]s start%[3]s
  ./%[2]s status%[3]s
  ./%[2]s stop%[3]s

%[4]sYour code goes in service.go; README.md explains the rest.
`, shellQuote(dir), opts.Name, pidFlag, rootHint)
}

// printFiles lists files with their owners.
func printFiles(w io.Writer, files []generator.File) {
	for _, f := range files {
		fmt.Fprintf(w, "  %-9s  %s\n", f.Owner, f.Path)
	}
}

// shellQuote quotes s for a POSIX shell if it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, needsQuote) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// needsQuote reports whether r is special to a POSIX shell in a word, or
// could be.
func needsQuote(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("_./+-", r))
}

// interspersed lets flags follow NAME, as in `gendaemon new NAME --force`:
// the standard flag package that urfave/cli uses stops at the first
// argument that is not a flag. It moves a command's arguments behind its
// flags, using the command's flag definitions to tell which flags take a
// value; everything after "--" stays in place. With --help or -h anywhere,
// it asks for the command's help alone; a flag whose value is missing is
// left last, so that the flag package reports it.
func interspersed(app *cli.App, args []string) []string {
	// urfave/cli looks for the completion flag at the very end.
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args
	}
	var cmd *cli.Command
	for _, c := range app.Commands {
		if c.HasName(args[1]) {
			cmd = c
		}
	}
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		tv, ok := f.(interface{ TakesValue() bool })
		for _, n := range f.Names() {
			takesValue[n] = ok && tv.TakesValue()
		}
	}
	var flags, positional []string
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			positional = append(positional, rest[i+1:]...)
			i = len(rest)
		case a == "-h" || a == "--help" || a == "-help":
			return []string{args[0], args[1], "--help"}
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] {
				if i+1 == len(rest) {
					return append([]string{args[0], args[1]}, flags...)
				}
				i++
				flags = append(flags, rest[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	out := append([]string{args[0], args[1]}, flags...)
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:            "version",
		Usage:           "print gendaemon's version",
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("gendaemon --help", "version: unexpected argument %q", c.Args().First())
			}
			fmt.Fprintf(c.App.Writer, "gendaemon version %s\n", generator.Version)
			return nil
		},
	}
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: `Prints a script that completes gendaemon's commands and flags. Load it
with, for bash: source <(gendaemon completion bash); for zsh:
source <(gendaemon completion zsh); for fish:
gendaemon completion fish | source.`,
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("gendaemon completion --help", "completion: want one of bash, zsh or fish")
			}
			w := c.App.Writer
			switch shell := c.Args().First(); shell {
			case "bash":
				fmt.Fprint(w, bashCompletion)
			case "zsh":
				fmt.Fprint(w, zshCompletion)
			case "fish":
				script, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				fmt.Fprint(w, script)
			default:
				return usagef("gendaemon completion --help", "completion: unknown shell %q: want bash, zsh or fish", shell)
			}
			return nil
		},
	}
}

// bashCompletion and zshCompletion are urfave/cli's autocomplete scripts
// for the program gendaemon: they ask gendaemon --generate-bash-completion
// for the words that can follow.
const (
	bashCompletion = `_gendaemon_complete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
  local opts
  if [[ "$cur" == "-"* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
}
complete -o bashdefault -o default -F _gendaemon_complete gendaemon
`
	zshCompletion = `#compdef gendaemon
_gendaemon() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _gendaemon gendaemon
`
)
