package generator

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	with := func(change func(*Options)) Options {
		o := NewOptions("myservice")
		change(&o)
		return o
	}
	tests := []struct {
		name string
		in   string // the input under test, for the failure message
		opts Options
		want string // a part of the error; "" for none
	}{
		{name: "defaults", in: "myservice", opts: NewOptions("myservice")},
		{name: "name with digits, dash and underscore", in: "my-svc_2", opts: NewOptions("my-svc_2")},
		{name: "name of 64 characters", in: strings.Repeat("a", 64), opts: NewOptions(strings.Repeat("a", 64))},
		{name: "empty name", in: "", opts: NewOptions(""), want: `invalid name "": the name must not be empty`},
		{name: "uppercase name", in: "My Service", opts: NewOptions("My Service"), want: `invalid name "My Service": use lowercase letters, digits, '-' and '_', starting with a letter`},
		{name: "name with space", in: "my service", opts: NewOptions("my service"), want: `invalid name "my service"`},
		{name: "name with slash", in: "a/b", opts: NewOptions("a/b"), want: `invalid name "a/b"`},
		{name: "name with dot dot", in: "a..b", opts: NewOptions("a..b"), want: `invalid name "a..b"`},
		{name: "dot dot", in: "..", opts: NewOptions(".."), want: `invalid name ".."`},
		{name: "leading dot", in: ".svc", opts: NewOptions(".svc"), want: `invalid name ".svc"`},
		{name: "leading dash", in: "-svc", opts: NewOptions("-svc"), want: `invalid name "-svc"`},
		{name: "leading digit", in: "1svc", opts: NewOptions("1svc"), want: `invalid name "1svc"`},
		{name: "non-ASCII name", in: "dæmon", opts: NewOptions("dæmon"), want: `invalid name "dæmon"`},
		{name: "name too long", in: strings.Repeat("a", 65), opts: NewOptions(strings.Repeat("a", 65)), want: "use at most 64 characters"},

		{name: "module with domain", in: "example.com/acme/myservice", opts: with(func(o *Options) { o.Module = "example.com/acme/myservice" })},
		{name: "module without slash", in: "myservice", opts: with(func(o *Options) { o.Module = "myservice" })},
		{name: "module with major version", in: "example.com/acme/myservice/v2", opts: with(func(o *Options) { o.Module = "example.com/acme/myservice/v2" })},
		{name: "module with major version 10", in: "local/myservice/v10", opts: with(func(o *Options) { o.Module = "local/myservice/v10" })},
		{name: "module named otherwise", in: "example.com/me/tool", opts: with(func(o *Options) { o.Module = "example.com/me/tool" }),
			want: `invalid module path "example.com/me/tool": its last element must be the name, myservice, so that go build names the binary myservice; use a path such as example.com/me/myservice`},
		{name: "module without slash named otherwise", in: "tool", opts: with(func(o *Options) { o.Module = "tool" }), want: `invalid module path "tool": its last element must be the name, myservice, so that go build names the binary myservice; use a path such as myservice`},
		{name: "module named otherwise with major version", in: "example.com/me/tool/v2", opts: with(func(o *Options) { o.Module = "example.com/me/tool/v2" }), want: `use a path such as example.com/me/myservice/v2`},
		{name: "module ending in v1", in: "local/myservice/v1", opts: with(func(o *Options) { o.Module = "local/myservice/v1" }), want: `use a path such as local/myservice/myservice`},
		{name: "module ending in the name as a prefix", in: "example.com/myservice2", opts: with(func(o *Options) { o.Module = "example.com/myservice2" }), want: `its last element must be the name, myservice`},
		{name: "module that is only a version", in: "v2", opts: with(func(o *Options) { o.Module = "v2" }), want: `use a path such as myservice`},
		{name: "module with space", in: "example.com/a b", opts: with(func(o *Options) { o.Module = "example.com/a b" }), want: `invalid module path "example.com/a b"`},
		{name: "module with uppercase domain", in: "Example.com/x", opts: with(func(o *Options) { o.Module = "Example.com/x" }), want: `invalid module path "Example.com/x"`},
		{name: "module with double slash", in: "example.com//x", opts: with(func(o *Options) { o.Module = "example.com//x" }), want: `invalid module path "example.com//x"`},
		{name: "module with dot dot", in: "example.com/../x", opts: with(func(o *Options) { o.Module = "example.com/../x" }), want: `invalid module path "example.com/../x"`},
		{name: "empty module", in: "", opts: with(func(o *Options) { o.Module = "" }), want: `invalid module path ""`},
		{name: "module std", in: "std", opts: with(func(o *Options) { o.Module = "std" }), want: "reserved"},

		{name: "relative workdir", in: "var/lib", opts: with(func(o *Options) { o.WorkDir = "var/lib" }), want: `invalid workdir "var/lib": use an absolute path, such as /var/lib`},
		{name: "unclean workdir", in: "/var/lib/", opts: with(func(o *Options) { o.WorkDir = "/var/lib/" }), want: `invalid workdir "/var/lib/": use a clean path, such as /var/lib`},
		{name: "workdir with dot dot", in: "/var/../lib", opts: with(func(o *Options) { o.WorkDir = "/var/../lib" }), want: `invalid workdir "/var/../lib"`},
		{name: "workdir with newline", in: "/var\nlib", opts: with(func(o *Options) { o.WorkDir = "/var\nlib" }), want: "control characters"},
		{name: "stdio with NUL", in: "/dev/null\x00", opts: with(func(o *Options) { o.Stdio = "/dev/null\x00" }), want: "control characters"},
		{name: "empty stdio", in: "", opts: with(func(o *Options) { o.Stdio = "" }), want: `invalid stdio "": use an absolute path`},
		{name: "log file", in: "/var/log/x.log", opts: with(func(o *Options) { o.LogFile = "/var/log/x.log" })},
		{name: "relative log file", in: "x.log", opts: with(func(o *Options) { o.LogFile = "x.log" }), want: `invalid log file "x.log"`},
		{name: "pidfile root", in: "/", opts: with(func(o *Options) { o.PIDFile = "/" }), want: `invalid pidfile "/": use the path of a file`},
		{name: "relative pidfile", in: "run/x.pid", opts: with(func(o *Options) { o.PIDFile = "run/x.pid" }), want: `invalid pidfile "run/x.pid"`},
		{name: "hostile but valid pidfile", in: `/run/a"b\c.pid`, opts: with(func(o *Options) { o.PIDFile = `/run/a"b\c.pid` })},
		{name: "workdir with inner space", in: "/var/lib/my dir", opts: with(func(o *Options) { o.WorkDir = "/var/lib/my dir" })},
		{name: "workdir with trailing space", in: "/var/lib/x ", opts: with(func(o *Options) { o.WorkDir = "/var/lib/x " }),
			want: `invalid workdir "/var/lib/x ": remove the white space at its start or end; systemd would strip it`},
		{name: "workdir with leading space", in: " /var/lib/x", opts: with(func(o *Options) { o.WorkDir = " /var/lib/x" }),
			want: `invalid workdir " /var/lib/x": remove the white space at its start or end`},
		{name: "workdir with trailing no-break space", in: "/var/lib/x\u00a0", opts: with(func(o *Options) { o.WorkDir = "/var/lib/x\u00a0" }),
			want: `invalid workdir "/var/lib/x\u00a0": remove the white space`},
		{name: "workdir with trailing backslash", in: `/var/lib/x\`, opts: with(func(o *Options) { o.WorkDir = `/var/lib/x\` }),
			want: `invalid workdir "/var/lib/x\\": remove the backslash at its end; systemd would read it as a line continuation`},
		{name: "workdir with inner backslash", in: `/var/lib/x\y`, opts: with(func(o *Options) { o.WorkDir = `/var/lib/x\y` })},
		{name: "stdio with trailing space", in: "/dev/null ", opts: with(func(o *Options) { o.Stdio = "/dev/null " }), want: `invalid stdio "/dev/null ": remove the white space`},
		{name: "stdio with trailing backslash", in: `/dev/null\`, opts: with(func(o *Options) { o.Stdio = `/dev/null\` }), want: `invalid stdio "/dev/null\\": remove the backslash`},
		{name: "log file with trailing space", in: "/var/log/x.log ", opts: with(func(o *Options) { o.LogFile = "/var/log/x.log " }), want: `invalid log file "/var/log/x.log ": remove the white space`},
		{name: "log file with trailing backslash", in: `/var/log/x.log\`, opts: with(func(o *Options) { o.LogFile = `/var/log/x.log\` }), want: `invalid log file "/var/log/x.log\\": remove the backslash`},
		{name: "pidfile with trailing space", in: "/run/x.pid ", opts: with(func(o *Options) { o.PIDFile = "/run/x.pid " }), want: `invalid pidfile "/run/x.pid ": remove the white space`},
		{name: "pidfile with leading space", in: " /run/x.pid", opts: with(func(o *Options) { o.PIDFile = " /run/x.pid" }), want: `invalid pidfile " /run/x.pid": remove the white space`},
		{name: "pidfile with trailing backslash", in: `/run/x.pid\`, opts: with(func(o *Options) { o.PIDFile = `/run/x.pid\` }), want: `invalid pidfile "/run/x.pid\\": remove the backslash`},
		{name: "listen socket with trailing backslash", in: `/run/x.sock\`, opts: with(func(o *Options) { o.Listen = []string{`/run/x.sock\`} }), want: `invalid listen address "/run/x.sock\\"`},
		{name: "listen socket with trailing space", in: "/run/x.sock ", opts: with(func(o *Options) { o.Listen = []string{"/run/x.sock "} }), want: `invalid listen address "/run/x.sock "`},

		{name: "umask zero", in: "0", opts: with(func(o *Options) { o.Umask = 0 })},
		{name: "umask 0777", in: "0777", opts: with(func(o *Options) { o.Umask = 0o777 })},
		{name: "umask 01000", in: "01000", opts: with(func(o *Options) { o.Umask = 0o1000 }), want: "invalid umask 01000: use an octal number from 0 to 0777"},
		{name: "negative umask", in: "-1", opts: with(func(o *Options) { o.Umask = -1 }), want: "invalid umask"},

		{name: "maxfd 3", in: "3", opts: with(func(o *Options) { o.MaxFD = 3 })},
		{name: "maxfd 2", in: "2", opts: with(func(o *Options) { o.MaxFD = 2 }), want: "invalid maxfd 2: use a number of at least 3"},

		{name: "user name", in: "daemon", opts: with(func(o *Options) { o.User = "daemon" })},
		{name: "user starting with underscore", in: "_svc", opts: with(func(o *Options) { o.User = "_svc" })},
		{name: "numeric user", in: "1000", opts: with(func(o *Options) { o.User, o.Group = "1000", "1000" })},
		{name: "numeric group", in: "0", opts: with(func(o *Options) { o.Group = "0" })},
		{name: "user uppercase", in: "Daemon", opts: with(func(o *Options) { o.User = "Daemon" }), want: `invalid user "Daemon"`},
		{name: "user with colon", in: "a:b", opts: with(func(o *Options) { o.User = "a:b" }), want: `invalid user "a:b"`},
		{name: "user too long", in: strings.Repeat("u", 33), opts: with(func(o *Options) { o.User = strings.Repeat("u", 33) }), want: "use at most 32 characters"},
		{name: "user id -1", in: "4294967295", opts: with(func(o *Options) { o.User = "4294967295" }), want: `invalid user "4294967295"`},
		{name: "group with space", in: "a b", opts: with(func(o *Options) { o.Group = "a b" }), want: `invalid group "a b"`},
		{name: "mixed digits and letters", in: "1abc", opts: with(func(o *Options) { o.Group = "1abc" }), want: `invalid group "1abc"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("Validate(%q) = %v, want nil", tc.in, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate(%q) = %v, want %v", tc.in, err, tc.want)
			}
			if !errors.Is(err, ErrInvalidOption) {
				t.Errorf("Validate(%q) = %v, which does not wrap ErrInvalidOption", tc.in, err)
			}
		})
	}
}

func TestParseUmask(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
		ok   bool
	}{
		{name: "zero", in: "0", want: 0, ok: true},
		{name: "three digits", in: "027", want: 0o027, ok: true},
		{name: "four digits", in: "0027", want: 0o027, ok: true},
		{name: "0o prefix", in: "0o027", want: 0o027, ok: true},
		{name: "no leading zero", in: "22", want: 0o022, ok: true},
		{name: "largest", in: "777", want: 0o777, ok: true},
		{name: "zeros", in: "000", want: 0, ok: true},
		{name: "eight", in: "8"},
		{name: "too large", in: "01000"},
		{name: "letters", in: "abc"},
		{name: "empty", in: ""},
		{name: "prefix only", in: "0o"},
		{name: "negative", in: "-1"},
		{name: "plus", in: "+7"},
		{name: "underscore", in: "0_7"},
		{name: "hex", in: "0x1f"},
		{name: "space", in: " 027"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseUmask(tc.in)
			if tc.ok {
				if err != nil || got != tc.want {
					t.Errorf("ParseUmask(%q) = %#o, %v, want %#o, nil", tc.in, got, err, tc.want)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidOption) {
				t.Errorf("ParseUmask(%q) = %#o, %v, want an error wrapping ErrInvalidOption", tc.in, got, err)
			}
		})
	}
}

func TestFormatUmask(t *testing.T) {
	for u, want := range map[int]string{0: "000", 0o027: "027", 0o777: "777", 0o7: "007"} {
		if got := FormatUmask(u); got != want {
			t.Errorf("FormatUmask(%#o) = %q, want %q", u, got, want)
		}
		if back, err := ParseUmask(want); err != nil || back != u {
			t.Errorf("ParseUmask(%q) = %#o, %v, want %#o, nil", want, back, err, u)
		}
	}
}
