package daemon

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// keepServiceFlags makes a restart that names none of the service's flags
// start the new daemon with those of the running one, as an operator
// expects: start --config X, then restart, keeps --config X. It takes the
// service's flags, as they were written, from the record the start left
// beside the pidfile (see writeStartRecord), or, for a daemon that run
// started, from its command line, and puts them before this program's own
// arguments, which Start passes on to the new daemon. It trusts a command
// line only if the daemon runs this program as this user: a process's
// command line is its own memory, which a daemon that dropped privileges,
// or a stranger's process holding the pidfile's lock, could have
// rewritten. Where it keeps nothing, it says why.
func (c *cli) keepServiceFlags(flags *flag.FlagSet) {
	service := flag.NewFlagSet(flags.Name(), flag.ContinueOnError)
	service.SetOutput(io.Discard)
	c.serviceFlags(service)
	isService := func(f *flag.Flag) bool { return service.Lookup(f.Name) != nil }
	given := false
	flags.Visit(func(f *flag.Flag) { given = given || isService(f) })
	if given || !hasFlags(service) {
		return // the user chose the service's flags, or it has none
	}
	pid, err := Status(c.cfg)
	if err != nil {
		return // nothing runs: nothing to keep
	}
	notKept := func(why string) {
		fmt.Fprintf(c.stderr, "%s restart: not keeping the flags the running daemon was started with: %s; give them to restart\n", c.cfg.Name, why)
	}
	args, err := readStartRecord(c.cfg.PIDFile, pid)
	if errors.Is(err, fs.ErrNotExist) {
		// Not started by start (run, or an older runtime): its own
		// command line, if it can be trusted.
		args, err = trustedArgs(pid)
	}
	if err != nil {
		notKept(err.Error())
		return
	}
	if len(args) < 2 || !slices.Contains([]string{"start", "restart", "run"}, args[1]) {
		notKept(fmt.Sprintf("pid %d was not started by start, restart or run", pid))
		return
	}
	kept, names, err := serviceArgs(flags, service, args[2:])
	if err != nil {
		notKept(err.Error())
		return
	}
	if len(kept) == 0 {
		return
	}
	fmt.Fprintf(c.stdout, "%s restart: keeping the running daemon's %s\n", c.cfg.Name, strings.Join(names, " "))
	// The re-executed processes parse the service's flags first, then what
	// the user gave.
	os.Args = slices.Concat(os.Args[:2], kept, os.Args[2:])
}

// serviceArgs parses args, a command line of start, restart or run, and
// returns the service's flags in it as "--name=value", in their order, each
// value as it was written (a repeated flag, or one whose value does not
// print back as it was given, is kept as it was), and their names.
func serviceArgs(command, service *flag.FlagSet, args []string) (kept, names []string, err error) {
	record := flag.NewFlagSet(command.Name(), flag.ContinueOnError)
	record.SetOutput(io.Discard)
	command.VisitAll(func(f *flag.Flag) {
		r := recorder{isBool: isBoolFlag(f)}
		if service.Lookup(f.Name) != nil {
			r.set = func(v string) {
				kept = append(kept, "--"+f.Name+"="+v)
				if !slices.Contains(names, "--"+f.Name) {
					names = append(names, "--"+f.Name)
				}
			}
		}
		record.Var(r, f.Name, "")
	})
	if err := record.Parse(args); err != nil {
		return nil, nil, err
	}
	return kept, names, nil
}

// hasFlags reports whether flags defines any flag.
func hasFlags(flags *flag.FlagSet) bool {
	found := false
	flags.VisitAll(func(*flag.Flag) { found = true })
	return found
}

// isBoolFlag reports whether f takes no value, as flag's boolean flags do.
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// A recorder is a flag.Value that hands each value it is given to set.
type recorder struct {
	isBool bool
	set    func(string)
}

func (r recorder) String() string   { return "" }
func (r recorder) IsBoolFlag() bool { return r.isBool }
func (r recorder) Set(v string) error {
	if r.set != nil {
		r.set(v)
	}
	return nil
}
