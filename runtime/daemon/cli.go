package daemon

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// Exit statuses of Main, following the LSB conventions for init scripts.
const (
	exitOK          = 0 // success; for status: running
	exitFailure     = 1 // failure; for status: dead, but the pidfile exists
	exitUsage       = 2 // bad command line
	exitNotRunning  = 3 // for status: not running
	exitUnknown     = 4 // for status: the state cannot be determined
	exitNoPrivilege = 4 // for the other commands: permission denied
	exitStopped     = 7 // for reload: the daemon is not running

	// exitInitFailed is run's status when the service's Init failed: EX_CONFIG
	// of sysexits.h, which the generated unit keeps systemd from retrying.
	exitInitFailed = 78
)

// Main runs the command that the program's arguments name, with cfg as the
// defaults that flags override, and exits with the command's status. It is
// the whole of a daemon's main:
//
//	func main() {
//		daemon.Main(daemon.Config{Name: "myservice", ...}, new(service))
//	}
//
// The commands are start, stop, restart, status, reload, run, version and
// help, and those of the service if it is a Commander. Exit statuses follow
// the LSB: for status 0 running, 1 dead with a pidfile, 3 stopped, 4
// unknown; for the others 0 success, 1 failure, 2 bad usage, 4 permission
// denied, and 7 for a reload when nothing runs; run exits 78 when Init
// fails (see ErrInit). If cfg.StartTimeout is zero, start waits
// DefaultStartTimeout.
//
// start re-executes the program with the same arguments (see Start), so the
// processes it starts run Main again: Main must be called with the same
// Config and service, before the program does anything else.
func Main(cfg Config, svc Service) {
	// Before any of the service's code runs here (Commands, DefineFlags,
	// flag values), so that a process it starts does not inherit the
	// start's descriptors; a session leader exits there (stage_unix.go).
	beginStage(cfg)
	c := &cli{cfg: cfg, svc: svc, stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(c.run(os.Args[1:]))
}

// cli is one run of Main.
type cli struct {
	cfg            Config
	svc            Service
	stdout, stderr io.Writer
}

// A verb is one command of the command line, built in or the service's.
type verb struct {
	name, args, summary string
	// define adds the verb's flags and returns what carries it out with the
	// arguments left after them, returning the exit status.
	define func(c *cli, flags *flag.FlagSet) func(args []string) int
	// invalid, for a service's command that cannot be used, says why.
	invalid error
}

// run carries out the command in args and returns the exit status.
func (c *cli) run(args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		c.usage(c.stdout)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	verbs := c.verbs()
	i := slices.IndexFunc(verbs, func(v verb) bool { return v.name == name })
	switch {
	case i < 0 && strings.HasPrefix(name, "-"):
		fmt.Fprintf(c.stderr, "%s: %s is a flag, and flags go after the command: %s COMMAND [flags]; run '%s help' for the commands\n",
			c.cfg.Name, name, c.cfg.Name, c.cfg.Name)
		return exitUsage
	case i < 0:
		fmt.Fprintf(c.stderr, "%s: unknown command %q; run '%s help' for the commands\n", c.cfg.Name, name, c.cfg.Name)
		return exitUsage
	case verbs[i].invalid != nil:
		fmt.Fprintf(c.stderr, "%s %s: %v\n", c.cfg.Name, name, verbs[i].invalid)
		return exitFailure
	}
	v := verbs[i]
	flags, carryOut, err := c.flagSet(v)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s %s: %v\n", c.cfg.Name, name, err)
		return exitFailure
	}
	switch err := flags.Parse(args[1:]); {
	case errors.Is(err, flag.ErrHelp):
		c.commandUsage(c.stdout, v, flags)
		return exitOK
	case err != nil:
		fmt.Fprintf(c.stderr, "%s %s: %v\nrun '%s help %s' for its flags\n", c.cfg.Name, name, err, c.cfg.Name, name)
		return exitUsage
	}
	return carryOut(flags.Args())
}

// verbs returns the built-in commands and the service's. A service's
// command that has the name of a built-in one, or no name or Run it can be
// used with, is kept with what is wrong with it, which is reported when it
// is chosen: it never stops the other commands from working.
func (c *cli) verbs() []verb {
	verbs := builtins()
	cmdr, ok := c.svc.(Commander)
	if !ok {
		return verbs
	}
	builtin := len(verbs)
	for _, cmd := range cmdr.Commands() {
		v := verb{name: cmd.Name, args: cmd.Args, summary: cmd.Summary, define: serviceCommand(cmd)}
		v.invalid = checkCommand(cmd)
		switch j := slices.IndexFunc(verbs, func(v verb) bool { return v.name == cmd.Name }); {
		case j < 0:
			verbs = append(verbs, v)
		case j < builtin:
			// The built-in command stays what it is.
		default:
			verbs[j].invalid = fmt.Errorf("the service has two commands called %q", cmd.Name)
		}
	}
	return verbs
}

// checkCommand says what makes a service's command unusable.
func checkCommand(cmd Command) error {
	valid := cmd.Name != "" && cmd.Name[0] >= 'a' && cmd.Name[0] <= 'z' &&
		!strings.ContainsFunc(cmd.Name, func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-')
		})
	switch {
	case !valid:
		return fmt.Errorf("the service's command %q: use lowercase letters, digits and '-', starting with a letter", cmd.Name)
	case cmd.Run == nil:
		return fmt.Errorf("the service's command %q has no Run function", cmd.Name)
	}
	return nil
}

// flagSet returns the flag set of v, with its flags defined, and what
// carries v out. A flag that clashes with another is an error, not a panic.
func (c *cli) flagSet(v verb) (flags *flag.FlagSet, carryOut func([]string) int, err error) {
	flags = flag.NewFlagSet(c.cfg.Name+" "+v.name, flag.ContinueOnError)
	flags.Usage = func() {} // run prints usage where it belongs
	// flag prints what is wrong before it returns it, or panics; run
	// prints it once.
	flags.SetOutput(io.Discard)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("defining the flags: %s", strings.TrimPrefix(fmt.Sprint(p), flags.Name()+" "))
		}
	}()
	return flags, v.define(c, flags), nil
}

// usage prints the commands.
func (c *cli) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s command [flags]\n\ncommands:\n", c.cfg.Name)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, v := range c.verbs() {
		if v.invalid == nil {
			fmt.Fprintf(tw, "  %s\t%s\n", v.name, v.summary)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun '%s help COMMAND' for a command's flags.\n", c.cfg.Name)
}

// commandUsage prints one command's summary and flags.
func (c *cli) commandUsage(w io.Writer, v verb, flags *flag.FlagSet) {
	args := "[flags]"
	if v.args != "" {
		args += " " + v.args
	}
	fmt.Fprintf(w, "usage: %s %s %s\n\n%s\n", c.cfg.Name, v.name, args, v.summary)
	hasFlags := false
	flags.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprint(w, "\nflags:\n")
		flags.SetOutput(w)
		flags.PrintDefaults()
		flags.SetOutput(io.Discard)
	}
}
