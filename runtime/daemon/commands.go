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
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// builtins returns the commands every daemon has, in the order help lists
// them.
func builtins() []verb {
	return []verb{
		{name: "start", summary: "detach, wait until the daemon is ready (--start-timeout), print its pid", define: (*cli).defineStart},
		{name: "stop", summary: "send SIGTERM, wait for the daemon to exit, SIGKILL after --timeout", define: (*cli).defineStop},
		{name: "restart", summary: "stop the daemon if it is running, then start it, with its flags unless given others", define: (*cli).defineRestart},
		{name: "status", summary: "print whether the daemon runs (exit 0 running, 1 dead, 3 stopped)", define: (*cli).defineStatus},
		{name: "reload", summary: "reopen the log file and call the reload hook; wait for it and report its error", define: (*cli).defineReload},
		{name: "upgrade", summary: "replace the daemon with the program now at its path, keeping its listening sockets; wait until the new one serves", define: (*cli).defineUpgrade},
		{name: "run", summary: "run in the foreground, without detaching (debugging, containers, systemd)", define: (*cli).defineRun},
		{name: "install", summary: "install the binary and its service definition, enable it; --now starts the daemon, --user installs it for you alone", define: (*cli).defineInstall},
		{name: "uninstall", summary: "stop and disable the daemon, remove what install wrote", define: (*cli).defineUninstall},
		{name: "version", summary: "print the program's version, its build and the tool that generated it", define: (*cli).defineVersion},
		{name: "help", args: "[COMMAND]", summary: "print this help, or a command's flags", define: (*cli).defineHelp},
	}
}

// builtinFlags are the names of the built-in commands' flags. A service's
// flag may have none of them, whichever command it is given to, so that a
// flag start accepts is never refused by restart.
func builtinFlags() []string { return []string{"pidfile", "timeout", "start-timeout", "pid"} }

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

// pidFileFlag adds --pidfile, which overrides Config.PIDFile.
func (c *cli) pidFileFlag(flags *flag.FlagSet) {
	flags.StringVar(&c.cfg.PIDFile, "pidfile", c.cfg.PIDFile, "`path` of the pidfile")
}

// serviceFlags adds the service's own flags, if it has any. It panics, as
// flag does for a clash, if one has the name of a built-in flag.
func (c *cli) serviceFlags(flags *flag.FlagSet) {
	fd, ok := c.svc.(FlagDefiner)
	if !ok {
		return
	}
	own := flag.NewFlagSet(flags.Name(), flag.ContinueOnError)
	own.SetOutput(io.Discard)
	fd.DefineFlags(own)
	own.VisitAll(func(f *flag.Flag) {
		for _, name := range builtinFlags() {
			if f.Name == name {
				panic(fmt.Sprintf("the service's flag -%s has the name of a built-in flag of start, stop, restart or reload; rename it", name))
			}
		}
		flags.Var(f.Value, f.Name, f.Usage)
	})
}

// startTimeoutFlag adds --start-timeout, whose default is
// Config.StartTimeout, or DefaultStartTimeout if that is zero.
func (c *cli) startTimeoutFlag(flags *flag.FlagSet) {
	if c.cfg.StartTimeout == 0 {
		c.cfg.StartTimeout = DefaultStartTimeout
	}
	flags.DurationVar(&c.cfg.StartTimeout, "start-timeout", c.cfg.StartTimeout,
		"how long start waits for the daemon to be ready before it kills it (0: no limit)")
}

func stopTimeoutFlag(flags *flag.FlagSet) *time.Duration {
	return flags.Duration("timeout", DefaultStopTimeout, "how long stop waits after SIGTERM before it sends SIGKILL (0: at once)")
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
	return c.noArguments("start", func() int { return c.start("start") })
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
		return c.start("restart")
	})
}

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
	timeout := flags.Duration("timeout", DefaultStartTimeout, "how long reload waits for the daemon to finish reloading (0: no limit)")
	return c.noArguments("reload", func() int {
		switch {
		case *pid < 0:
			fmt.Fprintf(c.stderr, "%s reload: --pid %d is not a pid\n", c.cfg.Name, *pid)
			return exitUsage
		case *pid > 0:
			return c.reloadPID(*pid, *timeout)
		}
		pid, waited, err := reload(c.cfg, *timeout)
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
func (c *cli) reloadPID(pid int, timeout time.Duration) int {
	err := requestReload(c.cfg.Name, pid, timeout)
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
			c.errorf("%s run: %v\n", c.cfg.Name, err)
			return exitInitFailed
		}
		if err != nil {
			return c.fail("run", err)
		}
		return exitOK
	})
}

func (c *cli) defineInstall(flags *flag.FlagSet) func([]string) int {
	var opts installOptions
	flags.BoolVar(&opts.now, "now", false, "start the daemon (or listen on its socket) at once, too")
	flags.BoolVar(&opts.user, "user", false, "install it for you alone, under your own service manager (systemd --user)")
	return c.noArguments("install", func() int {
		if err := installService(c.cfg, opts, c.stdout); err != nil {
			return c.fail("install", err)
		}
		return exitOK
	})
}

func (c *cli) defineUninstall(flags *flag.FlagSet) func([]string) int {
	var opts installOptions
	flags.BoolVar(&opts.user, "user", false, "uninstall what install --user installed")
	return c.noArguments("uninstall", func() int {
		if err := uninstallService(c.cfg, opts, c.stdout); err != nil {
			return c.fail("uninstall", err)
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
		switch len(args) {
		case 0:
			c.usage(c.stdout)
			return exitOK
		case 1:
			return c.run([]string{args[0], "-h"})
		}
		fmt.Fprintf(c.stderr, "%s help: name one command, not %d\n", c.cfg.Name, len(args))
		return exitUsage
	}
}

// start detaches the daemon and reports how its start-up went; name is the
// command the user ran.
func (c *cli) start(name string) int {
	if !reexecuted() {
		env, err := c.environ()
		if err != nil {
			return c.fail(name, err)
		}
		c.cfg.Env = env
	}
	// The flags are recorded for restart while the daemon, ready, finishes
	// its start-up (start_unix.go).
	var recordErr error
	record := func(pid int) {
		if c.cfg.PIDFile != "" {
			recordErr = writeStartRecord(c.cfg.PIDFile, pid, os.Args)
		}
	}
	pid, err := start(c.cfg, c.svc, record)
	if errors.Is(err, ErrAlreadyRunning) {
		fmt.Fprintf(c.stdout, "%s is already running (pid %d)\n", c.cfg.Name, pid)
		return exitOK
	}
	if err != nil {
		return c.fail(name, err)
	}
	if recordErr != nil {
		fmt.Fprintf(c.stderr, "%s %s: not recording the flags for restart: %v\n", c.cfg.Name, name, recordErr)
	}
	fmt.Fprintf(c.stdout, "%s started (pid %d)\n", c.cfg.Name, pid)
	return exitOK
}

// stop ends the daemon; stopping a daemon that is not running succeeds.
func (c *cli) stop(timeout time.Duration) int {
	if timeout < 0 {
		fmt.Fprintf(c.stderr, "%s stop: --timeout %v is negative; give 0 to send SIGKILL right after SIGTERM\n", c.cfg.Name, timeout)
		return exitUsage
	}
	pid, killed, err := Stop(c.cfg, timeout)
	if err == nil || errors.Is(err, ErrNotRunning) || errors.Is(err, ErrDead) {
		removeStartRecord(c.cfg.PIDFile)
	}
	switch {
	case errors.Is(err, ErrNotRunning), errors.Is(err, ErrDead):
		fmt.Fprintf(c.stdout, "%s is not running\n", c.cfg.Name)
		return exitOK
	case err != nil:
		return c.fail("stop", err)
	case killed && timeout == 0:
		fmt.Fprintf(c.stdout, "%s killed (pid %d): SIGKILL right after SIGTERM (--timeout 0)\n", c.cfg.Name, pid)
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

// environ returns the environment the service chooses (see Environer) from
// Config.Env, or from this one if Config.Env is nil; without an Environer,
// Config.Env, which is nil if the daemon is to inherit this environment. An
// entry that is not NAME=value is refused, whichever command asks.
func (c *cli) environ() ([]string, error) {
	env, ok := c.svc.(Environer)
	if !ok {
		return c.cfg.Env, nil
	}
	chosen := env.Environ(startEnviron(c.cfg))
	for _, kv := range chosen {
		if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
			return nil, fmt.Errorf("the service's Environ returned %q, which is not NAME=value", kv)
		}
	}
	if chosen == nil {
		chosen = []string{} // none, not "inherit"
	}
	return chosen, nil
}

// setEnviron gives this process the environment the service chooses, for
// run. The variables a service manager passes to Run are kept, and those
// by which an upgrade or the runtime's init hands files to Run: they are
// the runtime's, not the service's.
func (c *cli) setEnviron() error {
	chosen, err := c.environ()
	if err != nil || chosen == nil {
		return err
	}
	keep := map[string]string{}
	for _, name := range append(managerVariables(), handoverVariables()...) {
		if v, ok := os.LookupEnv(name); ok {
			keep[name] = v
		}
	}
	os.Clearenv()
	for _, kv := range chosen {
		name, value, _ := strings.Cut(kv, "=")
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
// socket activation and the journal, and what it tells the service of
// itself: the directories it made for the unit (RuntimeDirectory= and the
// like, which the unit options name), its credentials and its invocation.
func managerVariables() []string {
	return []string{
		"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
		"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "JOURNAL_STREAM",
		"RUNTIME_DIRECTORY", "STATE_DIRECTORY", "CACHE_DIRECTORY", "LOGS_DIRECTORY",
		"CONFIGURATION_DIRECTORY", "CREDENTIALS_DIRECTORY", "INVOCATION_ID",
	}
}

// errorf prints an error message, at priority err when standard error is
// the journal.
func (c *cli) errorf(format string, args ...any) {
	if c.stderr == os.Stderr && stderrIsJournal() {
		format = "<3>" + format
	}
	fmt.Fprintf(c.stderr, format, args...)
}

// fail prints the error of the command name and returns its exit status.
func (c *cli) fail(name string, err error) int {
	c.errorf("%s %s: %v\n", c.cfg.Name, name, err)
	switch {
	case errors.Is(err, fs.ErrPermission):
		var pathErr *fs.PathError
		switch {
		case errors.As(err, &pathErr) && c.cfg.PIDFile != "" && filepath.Dir(pathErr.Path) == filepath.Dir(c.cfg.PIDFile):
			fmt.Fprintf(c.stderr, "(run it as root, or with a --pidfile in a directory you may write to)\n")
		case name == "stop" || name == "reload" || name == "restart":
			fmt.Fprintf(c.stderr, "(the daemon runs as another user: run it as root, or as that user)\n")
		}
		return exitNoPrivilege
	case errors.Is(err, errNoServiceManager):
		return exitNoPrivilege
	case errors.Is(err, ErrNotRunning), errors.Is(err, ErrDead):
		return exitStopped
	default:
		return exitFailure
	}
}
