package generator

import (
	"errors"
	"strings"
	"testing"
)

// TestLimits checks the values that each option's own check accepts but
// the runtime or systemd would refuse on the target: each is refused with
// ErrInvalidOption and one line that names it, and its neighbours pass.
func TestLimits(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string // "" if valid
	}{
		{"user 65535", func(o *Options) { o.User, o.Group = "65535", "100" }, `invalid user "65535": 65535 is the 16-bit -1`},
		{"user 65534", func(o *Options) { o.User, o.Group = "65534", "65534" }, ""},
		{"user 007", func(o *Options) { o.User, o.Group = "007", "100" }, `invalid user "007": write the numeric id without leading zeros (7)`},
		{"user 0", func(o *Options) { o.User, o.Group = "0", "0" }, ""},
		{"group 65535", func(o *Options) { o.Group = "65535" }, `invalid group "65535"`},
		{"numeric user without group", func(o *Options) { o.User = "4242" }, `invalid user "4242": a numeric user may have no entry in /etc/passwd, so no group; give --group too`},
		{"named user without group", func(o *Options) { o.User = "nobody" }, ""},
		{"workdir component of 256 bytes", func(o *Options) { o.WorkDir = "/srv/" + long }, `invalid workdir "/srv/xxx`},
		{"workdir component of 255 bytes", func(o *Options) { o.WorkDir = "/srv/" + long[1:] }, ""},
		{"log file component of 256 bytes", func(o *Options) { o.LogFile = "/var/log/" + long }, `invalid log file`},
		{"socket path of 108 bytes", func(o *Options) { o.Listen = []string{"/run/" + strings.Repeat("s", 98) + ".sock"} }, "a Unix socket path has at most 107 bytes, this one 108"},
		{"socket path of 107 bytes", func(o *Options) { o.Listen = []string{"/run/" + strings.Repeat("s", 97) + ".sock"} }, ""},
		{"maxfd over int32", func(o *Options) { o.MaxFD = 1 << 31 }, "invalid maxfd 2147483648: use a number of at most 2147483647"},
		{"maxfd int32", func(o *Options) { o.MaxFD = 1<<31 - 1 }, ""},
		{"pidfile is the log file", func(o *Options) { o.LogFile = "/var/log/x"; o.PIDFile = "/var/log/x" }, `invalid pidfile "/var/log/x": it is also the log file`},
		{"pidfile is stdio", func(o *Options) { o.Stdio = "/run/x.pid"; o.PIDFile = "/run/x.pid" }, `invalid pidfile "/run/x.pid": it is also the stdio`},
		{"duplicate listen", func(o *Options) { o.Listen = []string{"8080", "9090", "8080"} }, `invalid listen address "8080": given twice`},
		{"distinct listen", func(o *Options) { o.Listen = []string{"8080", "127.0.0.1:8080"} }, ""},
		{"log file pattern", func(o *Options) { o.LogFile = "/var/log/x*.log" }, "logrotate reads it as a pattern"},
		{"log file quote", func(o *Options) { o.LogFile = `/var/log/x".log` }, "logrotate reads it as a pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions("myd")
			tc.edit(&o)
			err := o.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate(%s) = %v, want nil", tc.name, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate(%s) = %v, want an error containing %q", tc.name, err, tc.want)
			case tc.want != "" && (!errors.Is(err, ErrInvalidOption) || strings.Contains(err.Error(), "\n")):
				t.Errorf("Validate(%s) = %v: want one line wrapping ErrInvalidOption", tc.name, err)
			}
		})
	}
}
