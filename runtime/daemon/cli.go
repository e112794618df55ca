package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
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
// defaults that flags override, and returns the exit status for os.Exit. It
// is the whole of a daemon's main:
//
//	func main() {
//		os.Exit(daemon.Main(daemon.Config{Name: "myservice", ...}, new(service)))
//	}
//
// The commands are start, stop, restart, status, reload, run, version and
// help, and those of the service if it is a Commander. Exit statuses follow
// the LSB: for status 0 running, 1 dead with a pidfile, 3 stopped, 4
// unknown; for the others 0 success, 1 failure, 2 bad usage, 4 permission
// denied, and 7 for a reload when nothing runs.
//
// start re-executes the program with the same arguments (see Start), so the
// processes it starts run Main again: Main must be called with the same
// Config and service, before the program does anything else.
func Main(cfg Config, svc Service) int {
	c := &cli{cfg: cfg, svc: svc, stdout: os.Stdout, stderr: os.Stderr}
	return c.run(os.Args[1:])
}

// cli is one run of Main.
type cli struct {
	cfg            Config
	svc            Service
	stdout, stderr io.Writer
}

// A verb is one command of the command line, built in or the service's.
type verb struct {
	name, summary string
	// define adds the verb's flags and returns what carries it out with the
	// arguments left after them, returning the exit status.
	define func(c *cli, flags *flag.FlagSet) func(args []string) int
}

// builtins returns the commands every daemon has, in the order help lists
// them.
func builtins() []verb {
	return []verb{
		{"start", "detach, wait until the daemon is ready (--start-timeout), print its pid", (*cli).defineStart},
		{"stop", "send SIGTERM, wait for the daemon to exit, SIGKILL after --timeout", (*cli).defineStop},
		{"restart", "stop the daemon if it is running, then start it, with its flags unless given others", (*cli).defineRestart},
		{"status", "print whether the daemon runs (exit 0 running, 1 dead, 3 stopped)", (*cli).defineStatus},
		{"reload", "reopen the log file and call the reload hook; wait for it and report its error", (*cli).defineReload},
		{"run", "run in the foreground, without detaching (debugging, containers, systemd)", (*cli).defineRun},
		{"version", "print the program's version, its build and the tool that generated it", (*cli).defineVersion},
		{"help", "print this help, or a command's flags: help COMMAND", (*cli).defineHelp},
	}
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
	verbs, err := c.verbs()
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", c.cfg.Name, err)
		return exitFailure
	}
	i := slices.IndexFunc(verbs, func(v verb) bool { return v.name == name })
	if i < 0 {
		fmt.Fprintf(c.stderr, "%s: unknown command %q; run '%s help' for the commands\n", c.cfg.Name, name, c.cfg.Name)
		return exitUsage
	}
	flags, carryOut, err := c.flagSet(verbs[i])
	if err != nil {
		fmt.Fprintf(c.stderr, "%s %s: %v\n", c.cfg.Name, name, err)
		return exitFailure
	}
	switch err := flags.Parse(args[1:]); {
	case errors.Is(err, flag.ErrHelp):
		c.commandUsage(c.stdout, verbs[i], flags)
		return exitOK
	case err != nil:
		// flag has printed what is wrong.
		fmt.Fprintf(c.stderr, "run '%s help %s' for its flags\n", c.cfg.Name, name)
		return exitUsage
	}
	return carryOut(flags.Args())
}

// verbs returns the built-in commands and the service's.
func (c *cli) verbs() ([]verb, error) {
	verbs := builtins()
	cmdr, ok := c.svc.(Commander)
	if !ok {
		return verbs, nil
	}
	for _, cmd := range cmdr.Commands() {
		if err := checkCommand(cmd, verbs); err != nil {
			return nil, err
		}
		verbs = append(verbs, verb{name: cmd.Name, summary: cmd.Summary, define: serviceCommand(cmd)})
	}
	return verbs, nil
}

// checkCommand refuses a service's command that the command line could not
// select: a bad or taken name, or no Run.
func checkCommand(cmd Command, taken []verb) error {
	valid := cmd.Name != "" && cmd.Name[0] >= 'a' && cmd.Name[0] <= 'z' &&
		!strings.ContainsFunc(cmd.Name, func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-')
		})
	switch {
	case !valid:
		return fmt.Errorf("the service's command %q: use lowercase letters, digits and '-', starting with a letter", cmd.Name)
	case slices.ContainsFunc(taken, func(v verb) bool { return v.name == cmd.Name }):
		return fmt.Errorf("the service's command %q: a command of that name exists already", cmd.Name)
	case cmd.Run == nil:
		return fmt.Errorf("the service's command %q has no Run function", cmd.Name)
	}
	return nil
}

// serviceCommand turns a service's command into a verb.
func serviceCommand(cmd Command) func(*cli, *flag.FlagSet) func([]string) int {
	return func(c *cli, flags *flag.FlagSet) func([]string) int {
		if cmd.DefineFlags != nil {
			cmd.DefineFlags(flags)
		}
		return func(args []string) int {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := cmd.Run(ctx, args); err != nil {
				return c.fail(cmd.Name, err)
			}
			return exitOK
		}
	}
}

// flagSet returns the flag set of v, with its flags defined, and what
// carries v out. A service's flag that clashes with one the command has
// is an error, not a panic.
func (c *cli) flagSet(v verb) (flags *flag.FlagSet, carryOut func([]string) int, err error) {
	flags = flag.NewFlagSet(c.cfg.Name+" "+v.name, flag.ContinueOnError)
	flags.Usage = func() {} // run prints usage where it belongs
	// A clash makes flag print and panic; the panic says it all.
	flags.SetOutput(io.Discard)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("defining the flags: %s", strings.TrimPrefix(fmt.Sprint(p), flags.Name()+" "))
		}
	}()
	carryOut = v.define(c, flags)
	flags.SetOutput(c.stderr)
	return flags, carryOut, nil
}

// pidFileFlag adds --pidfile, which overrides Config.PIDFile.
func (c *cli) pidFileFlag(flags *flag.FlagSet) {
	flags.StringVar(&c.cfg.PIDFile, "pidfile", c.cfg.PIDFile, "`path` of the pidfile")
}

// serviceFlags adds the service's own flags, if it has any.
func (c *cli) serviceFlags(flags *flag.FlagSet) {
	if fd, ok := c.svc.(FlagDefiner); ok {
		fd.DefineFlags(flags)
	}
}

func (c *cli) startTimeoutFlag(flags *flag.FlagSet) {
	c.cfg.StartTimeout = DefaultStartTimeout
	flags.DurationVar(&c.cfg.StartTimeout, "start-timeout", DefaultStartTimeout,
		"how long start waits for the daemon to be ready before it kills it (0: no limit)")
}

func stopTimeoutFlag(flags *flag.FlagSet) *time.Duration {
	return flags.Duration("timeout", DefaultStopTimeout, "how long stop waits after SIGTERM before it sends SIGKILL")
}

// noArguments wraps a command that takes no arguments after its flags.
func (c *cli) noArguments(name string, carryOut func() int) func([]string) int {
	return func(args []string) int {
		if len(args) > 0 {
			fmt.Fprintf(c.stderr, "%s %s: unexpected argument %q\n", c.cfg.Name, name, args[0])
			return exitUsage
		}
		return carryOut()
	}
}

func (c *cli) defineStart(flags *flag.FlagSet) func([]string) int {
	c.pidFileFlag(flags)
	c.startTimeoutFlag(flags)
	c.serviceFlags(flags)
	return c.noArguments("start", c.start)
}

func (c *cli) defineRestart(flags *flag.FlagSet) func([]string) int {
	c.pidFileFlag(flags)
	c.startTimeoutFlag(flags)
	timeout := stopTimeoutFlag(flags)
	c.serviceFlags(flags)
	return c.noArguments("restart", func() int {
		// The processes that Start re-executes run this command again;
		// only the one the user ran stops the old daemon.
		if !reexecuted() {
			c.keepServiceFlags(flags)
			if code := c.stop(*timeout); code != exitOK {
				return code
			}
		}
		return c.start()
	})
}

// keepServiceFlags makes a restart that names none of the service's flags
// start the new daemon with those of the running one, as an operator
// expects: start --config X, then restart, keeps --config X. It reads the
// running daemon's command line, takes the service's flags from it, and
// adds them to this program's arguments, which Start passes on to the
// daemon. Where that cannot be done it says why and changes nothing.
func (c *cli) keepServiceFlags(flags *flag.FlagSet) {
	// The old command line is parsed with the service's flags, bound to
	// its fields as they are here, and the command's own, discarded.
	old := flag.NewFlagSet(flags.Name(), flag.ContinueOnError)
	old.SetOutput(io.Discard)
	c.serviceFlags(old)
	own := map[string]bool{}
	flags.VisitAll(func(f *flag.Flag) {
		if old.Lookup(f.Name) == nil {
			own[f.Name] = true
			old.Var(discard{}, f.Name, "")
		}
	})
	given := false
	flags.Visit(func(f *flag.Flag) { given = given || !own[f.Name] })
	if given {
		return // the user chose the service's flags
	}
	pid, err := Status(c.cfg)
	if err != nil {
		return // nothing runs: nothing to keep
	}
	args, err := processArgs(pid)
	if err != nil || len(args) < 2 || args[1] != "start" && args[1] != "restart" {
		return
	}
	if err := old.Parse(args[2:]); err != nil {
		fmt.Fprintf(c.stderr, "%s restart: not keeping the running daemon's flags: %v\n", c.cfg.Name, err)
		return
	}
	var kept []string
	old.Visit(func(f *flag.Flag) {
		if !own[f.Name] {
			kept = append(kept, "--"+f.Name+"="+f.Value.String())
		}
	})
	if len(kept) > 0 {
		fmt.Fprintf(c.stdout, "%s restart: keeping the running daemon's %s\n", c.cfg.Name, strings.Join(kept, " "))
		os.Args = append(os.Args, kept...)
	}
}

// discard is a flag.Value that accepts and forgets any value.
type discard struct{}

func (discard) String() string   { return "" }
func (discard) Set(string) error { return nil }

func (c *cli) defineStop(flags *flag.FlagSet) func([]string) int {
	c.pidFileFlag(flags)
	timeout := stopTimeoutFlag(flags)
	return c.noArguments("stop", func() int { return c.stop(*timeout) })
}

func (c *cli) defineStatus(flags *flag.FlagSet) func([]string) int {
	c.pidFileFlag(flags)
	return c.noArguments("status", c.status)
}

func (c *cli) defineReload(flags *flag.FlagSet) func([]string) int {
	c.pidFileFlag(flags)
	pid := flags.Int("pid", 0, "reload the daemon with this pid, found without the pidfile (ExecReload=... --pid $MAINPID under systemd)")
	return c.noArguments("reload", func() int {
		if *pid != 0 {
			return c.reloadPID(*pid)
		}
		pid, waited, err := reload(c.cfg)
		if err != nil {
			return c.fail("reload", err)
		}
		if waited {
			fmt.Fprintf(c.stdout, "%s reloaded (pid %d)\n", c.cfg.Name, pid)
		} else {
			fmt.Fprintf(c.stdout, "%s reloading (pid %d)\n", c.cfg.Name, pid)
		}
		return exitOK
	})
}

// reloadPID reloads the daemon whose pid a service manager gave, and waits
// for the reload. Only a daemon's control socket is trusted: a pid is never
// signalled on its own word.
func (c *cli) reloadPID(pid int) int {
	err := requestReload(c.cfg.Name, pid)
	if errors.Is(err, errNoControl) {
		err = fmt.Errorf("pid %d has no control socket of %s, so it is not %s, or runs where reload cannot wait (%w); use reload with its pidfile", pid, c.cfg.Name, c.cfg.Name, err)
	}
	if err != nil {
		return c.fail("reload", err)
	}
	fmt.Fprintf(c.stdout, "%s reloaded (pid %d)\n", c.cfg.Name, pid)
	return exitOK
}

func (c *cli) defineRun(flags *flag.FlagSet) func([]string) int {
	c.pidFileFlag(flags)
	c.serviceFlags(flags)
	return c.noArguments("run", func() int {
		if err := c.setEnviron(); err != nil {
			return c.fail("run", err)
		}
		err := Run(c.cfg, c.svc)
		if errors.Is(err, ErrInit) {
			fmt.Fprintf(c.stderr, "%s run: %v\n", c.cfg.Name, err)
			return exitInitFailed
		}
		if err != nil {
			return c.fail("run", err)
		}
		return exitOK
	})
}

func (c *cli) defineVersion(flags *flag.FlagSet) func([]string) int {
	return c.noArguments("version", func() int {
		fmt.Fprint(c.stdout, versionText(c.cfg))
		return exitOK
	})
}

func (c *cli) defineHelp(flags *flag.FlagSet) func([]string) int {
	return func(args []string) int {
		if len(args) == 0 {
			c.usage(c.stdout)
			return exitOK
		}
		return c.run([]string{args[0], "-h"})
	}
}

// start detaches the daemon and reports how its start-up went.
func (c *cli) start() int {
	if env, ok := c.svc.(Environer); ok && !reexecuted() {
		c.cfg.Env = env.Environ(os.Environ())
	}
	pid, err := Start(c.cfg, c.svc)
	if errors.Is(err, ErrAlreadyRunning) {
		fmt.Fprintf(c.stdout, "%s is already running (pid %d)\n", c.cfg.Name, pid)
		return exitOK
	}
	if err != nil {
		return c.fail("start", err)
	}
	fmt.Fprintf(c.stdout, "%s started (pid %d)\n", c.cfg.Name, pid)
	return exitOK
}

// stop ends the daemon; stopping a daemon that is not running succeeds.
func (c *cli) stop(timeout time.Duration) int {
	pid, killed, err := Stop(c.cfg, timeout)
	switch {
	case errors.Is(err, ErrNotRunning), errors.Is(err, ErrDead):
		fmt.Fprintf(c.stdout, "%s is not running\n", c.cfg.Name)
		return exitOK
	case err != nil:
		return c.fail("stop", err)
	case killed:
		fmt.Fprintf(c.stdout, "%s killed (pid %d) after it ignored SIGTERM for %v\n", c.cfg.Name, pid, timeout)
	default:
		fmt.Fprintf(c.stdout, "%s stopped (pid %d)\n", c.cfg.Name, pid)
	}
	return exitOK
}

// status prints the daemon's state and returns the LSB status code.
func (c *cli) status() int {
	pid, err := Status(c.cfg)
	switch {
	case err == nil:
		fmt.Fprintf(c.stdout, "%s is running (pid %d)\n", c.cfg.Name, pid)
		return exitOK
	case errors.Is(err, ErrDead):
		fmt.Fprintf(c.stdout, "%s is not running, but its pidfile %s exists\n", c.cfg.Name, c.cfg.PIDFile)
		return exitFailure
	case errors.Is(err, ErrNotRunning):
		fmt.Fprintf(c.stdout, "%s is not running\n", c.cfg.Name)
		return exitNotRunning
	default:
		fmt.Fprintf(c.stderr, "%s status: %v\n", c.cfg.Name, err)
		return exitUnknown
	}
}

// setEnviron gives this process the environment the service chooses, for
// run. The variables a service manager passes to Run are kept: they are
// the runtime's, not the service's.
func (c *cli) setEnviron() error {
	env, ok := c.svc.(Environer)
	if !ok {
		return nil
	}
	keep := map[string]string{}
	for _, name := range managerVariables() {
		if v, ok := os.LookupEnv(name); ok {
			keep[name] = v
		}
	}
	chosen := env.Environ(os.Environ())
	os.Clearenv()
	for _, kv := range chosen {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return fmt.Errorf("environment entry %q is not NAME=value", kv)
		}
		if err := os.Setenv(name, value); err != nil {
			return err
		}
	}
	for name, value := range keep {
		if err := os.Setenv(name, value); err != nil {
			return err
		}
	}
	return nil
}

// managerVariables returns what systemd passes for sd_notify, the watchdog,
// socket activation and the journal.
func managerVariables() []string {
	return []string{
		"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
		"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "JOURNAL_STREAM",
	}
}

// fail prints the error of the command name and returns its exit status.
func (c *cli) fail(name string, err error) int {
	fmt.Fprintf(c.stderr, "%s %s: %v\n", c.cfg.Name, name, err)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return exitNoPrivilege
	case errors.Is(err, ErrNotRunning), errors.Is(err, ErrDead):
		return exitStopped
	default:
		return exitFailure
	}
}

// usage prints the commands.
func (c *cli) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s command [flags]\n\ncommands:\n", c.cfg.Name)
	verbs, err := c.verbs()
	if err != nil {
		verbs = builtins()
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, v := range verbs {
		fmt.Fprintf(tw, "  %s\t%s\n", v.name, v.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun '%s help COMMAND' for a command's flags.\n", c.cfg.Name)
}

// commandUsage prints one command's summary and flags.
func (c *cli) commandUsage(w io.Writer, v verb, flags *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s %s [flags]\n\n%s\n", c.cfg.Name, v.name, v.summary)
	hasFlags := false
	flags.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprint(w, "\nflags:\n")
		flags.SetOutput(w)
		flags.PrintDefaults()
		flags.SetOutput(c.stderr)
	}
}
