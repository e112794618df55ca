package generator

import (
	"fmt"
	"strconv"
)

// An OptionSpec is one option as the command line, the manifest and the
// templates know it: the one place that maps a field of Options to the flag
// of new, regen and diff, to its key and comment in gendaemon.yaml, and to
// the values that show every file it can add. Adding an option is a field
// of Options (and Validate), a field of Manifest with the key as its yaml
// tag, a row here, and its use in an emitter or template.
type OptionSpec struct {
	Flag     string // the flag, --Flag
	Key      string // the key in gendaemon.yaml (a yaml tag of Manifest)
	Usage    string // the flag's help; `WORD` names its value
	Default  string // the default, as the help shows it
	Repeated bool   // the flag may be given more than once: a list
	Bool     bool   // the flag takes no value: "true" or "false"

	comment func(name string) string // the comment above the key
	get     func(Options) []string
	set     func(*Options, []string) error
	example []string // a value that is not the default, for optionVariants; nil: none needed
}

// Get returns the option's value in o, as the flag would give it.
func (s OptionSpec) Get(o Options) []string { return s.get(o) }

// Set sets the option in o to values (one, unless Repeated), as given on
// the command line or in the manifest. It checks what Validate cannot
// (that maxfd is a number, say); Validate checks the rest.
func (s OptionSpec) Set(o *Options, values []string) error {
	if !s.Repeated && len(values) != 1 {
		return invalidf("%s: want one value, got %d", s.Flag, len(values))
	}
	if s.Bool {
		if _, err := strconv.ParseBool(values[0]); err != nil {
			return invalidf("invalid %s %q: use true or false", s.Key, values[0])
		}
	}
	return s.set(o, values)
}

// OptionSpecs returns the options in the order of the manifest and the
// help.
func OptionSpecs() []OptionSpec {
	str := func(field func(*Options) *string) (func(Options) []string, func(*Options, []string) error) {
		return func(o Options) []string { return []string{*field(&o)} },
			func(o *Options, v []string) error { *field(o) = v[0]; return nil }
	}
	spec := func(s OptionSpec, field func(*Options) *string) OptionSpec {
		s.get, s.set = str(field)
		return s
	}
	return append([]OptionSpec{
		spec(OptionSpec{Flag: "module", Key: "module", Default: "NAME",
			Usage:   "Go module `PATH` of the project, such as example.com/you/NAME",
			comment: fixed("module is the Go module path, ending in the name (default: the name); change go.mod's first."),
		}, func(o *Options) *string { return &o.Module }),
		spec(OptionSpec{Flag: "workdir", Key: "workdir", Default: strconv.Quote(DefaultWorkDir),
			Usage:   "the daemon's working directory, an absolute `DIR`",
			comment: fixed(fmt.Sprintf("workdir is the daemon's working directory, an absolute path (default %q).", DefaultWorkDir)),
		}, func(o *Options) *string { return &o.WorkDir }),
		{Flag: "umask", Key: "umask", Default: `"0"`,
			Usage:   "the daemon's umask, in `OCTAL` from 0 to 0777 (0 is honoured)",
			comment: fixed(fmt.Sprintf("umask is the daemon's file mode creation mask, in octal (default %q).", FormatUmask(DefaultUmask))),
			get:     func(o Options) []string { return []string{FormatUmask(o.Umask)} },
			set: func(o *Options, v []string) (err error) {
				o.Umask, err = ParseUmask(v[0])
				return err
			},
		},
		{Flag: "maxfd", Key: "maxfd", Default: strconv.Itoa(DefaultMaxFD),
			Usage:   "bound `N` (at least 3) of the last-resort loop that closes inherited descriptors",
			comment: fixed(fmt.Sprintf("maxfd bounds the last-resort loop that closes inherited descriptors (default %d).", DefaultMaxFD)),
			get:     func(o Options) []string { return []string{strconv.Itoa(o.MaxFD)} },
			set: func(o *Options, v []string) error {
				n, err := strconv.Atoi(v[0])
				if err != nil {
					return invalidf("invalid maxfd %q: use a whole number of at least 3", v[0])
				}
				o.MaxFD = n
				return nil
			},
		},
		spec(OptionSpec{Flag: "stdio", Key: "stdio", Default: strconv.Quote(DefaultStdio),
			Usage:   "absolute `PATH` for the daemon's standard input, output and error",
			comment: fixed(fmt.Sprintf("stdio is where standard input, output and error go (default %q).", DefaultStdio)),
		}, func(o *Options) *string { return &o.Stdio }),
		spec(OptionSpec{Flag: "log-file", Key: "log_file", Default: "none",
			Usage:   "absolute `PATH` that receives standard output and error instead of --stdio",
			comment: fixed(`log_file, if set, receives standard output and error instead of stdio (default "": none).`),
			example: []string{"/var/log/gendaemon.log"},
		}, func(o *Options) *string { return &o.LogFile }),
		spec(OptionSpec{Flag: "pidfile", Key: "pidfile", Default: DefaultPIDFile("NAME"),
			Usage: "absolute `PATH` of the pidfile; the binary's --pidfile overrides it",
			comment: func(name string) string {
				return "pidfile is the daemon's pidfile; `" + name + ` start --pidfile PATH` + "` overrides it (default \"/run/NAME.pid\")."
			},
		}, func(o *Options) *string { return &o.PIDFile }),
		spec(OptionSpec{Flag: "user", Key: "user", Default: "none",
			Usage:   "`USER` (name or id) the daemon switches to after writing its pidfile",
			comment: fixed(`user, if set, is the user the daemon switches to after start-up (default "": stay).`),
			example: []string{"nobody"},
		}, func(o *Options) *string { return &o.User }),
		spec(OptionSpec{Flag: "group", Key: "group", Default: "none",
			Usage:   "`GROUP` (name or id) the daemon switches to after writing its pidfile",
			comment: fixed(`group, if set, is the group the daemon switches to after start-up (default "": stay).`),
			example: []string{"nogroup"},
		}, func(o *Options) *string { return &o.Group }),
		{Flag: "listen", Key: "listen", Default: "none", Repeated: true,
			Usage: "`ADDR` (port, IP:port or socket path) that systemd listens on for the daemon: writes NAME.socket; repeatable",
			comment: func(name string) string {
				return "listen lists the addresses of " + name + ".socket, for socket activation by systemd (default []: no socket unit)."
			},
			example: []string{"8080", "/run/gendaemon.sock"},
			get:     func(o Options) []string { return o.Listen },
			set: func(o *Options, v []string) error {
				o.Listen = nil
				if len(v) > 0 {
					o.Listen = v
				}
				return nil
			},
		},
	}, unitOptionSpecs()...)
}

// fixed returns a comment that does not depend on the name.
func fixed(text string) func(string) string { return func(string) string { return text } }

// optionVariants returns options for the daemon name that together render
// every file gendaemon can write for it: the defaults, and every option
// that has an example set to it.
func optionVariants(name string) []Options {
	all := NewOptions(name)
	for _, s := range OptionSpecs() {
		if s.example != nil {
			if err := s.set(&all, s.example); err != nil {
				panic(fmt.Sprintf("generator: example of %s: %v", s.Key, err))
			}
		}
	}
	return []Options{NewOptions(name), all}
}
