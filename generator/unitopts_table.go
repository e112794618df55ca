package generator

import "strconv"

// unitOptionSpecs are the rows of OptionSpecs for the settings of the
// service unit (UnitSettings), in the manifest's order.
func unitOptionSpecs() []OptionSpec {
	// str is a string option whose empty value is def: a manifest that
	// gendaemon 0.2.0 wrote has no such key.
	str := func(s OptionSpec, def string, field func(*UnitSettings) *string) OptionSpec {
		s.get = func(o Options) []string { return []string{*field(&o.UnitSettings)} }
		s.set = func(o *Options, v []string) error {
			*field(&o.UnitSettings) = v[0]
			if v[0] == "" {
				*field(&o.UnitSettings) = def
			}
			return nil
		}
		return s
	}
	list := func(s OptionSpec, field func(*UnitSettings) *[]string) OptionSpec {
		s.Repeated = true
		s.get = func(o Options) []string { return *field(&o.UnitSettings) }
		s.set = func(o *Options, v []string) error {
			*field(&o.UnitSettings) = nil
			if len(v) > 0 {
				*field(&o.UnitSettings) = v
			}
			return nil
		}
		return s
	}
	boolean := func(s OptionSpec, field func(*UnitSettings) *bool) OptionSpec {
		s.Bool = true
		s.get = func(o Options) []string { return []string{strconv.FormatBool(*field(&o.UnitSettings))} }
		s.set = func(o *Options, v []string) (err error) {
			*field(&o.UnitSettings), err = strconv.ParseBool(v[0])
			return err
		}
		return s
	}
	unit := func(text string) func(string) string {
		return func(name string) string { return "(" + name + ".service) " + text }
	}
	return []OptionSpec{
		str(OptionSpec{Flag: "restart", Key: "restart", Default: DefaultRestart,
			Usage:   "the unit's Restart= `POLICY`: no, on-success, on-failure, on-abnormal, on-watchdog, on-abort or always",
			comment: unit(`restart is when systemd restarts the daemon: no, on-success, on-failure, on-abnormal, on-watchdog, on-abort or always (default "on-failure").`),
		}, DefaultRestart, func(u *UnitSettings) *string { return &u.Restart }),
		str(OptionSpec{Flag: "restart-sec", Key: "restart_sec", Default: "systemd's 100ms",
			Usage:   "the unit's RestartSec=: how long systemd waits before a restart, a time `SPAN` such as 5s",
			comment: unit(`restart_sec is how long systemd waits before it restarts the daemon, such as "5s" (default "": systemd's 100ms).`),
		}, "", func(u *UnitSettings) *string { return &u.RestartSec }),
		str(OptionSpec{Flag: "timeout-start", Key: "timeout_start", Default: "systemd's 90s",
			Usage:   "the unit's TimeoutStartSec=: how long the daemon's init may take, a time `SPAN` or infinity",
			comment: unit(`timeout_start is how long init may take before systemd gives up, a time span or "infinity" (default "": systemd's 90s).`),
		}, "", func(u *UnitSettings) *string { return &u.TimeoutStart }),
		str(OptionSpec{Flag: "timeout-stop", Key: "timeout_stop", Default: "systemd's 90s",
			Usage:   "the unit's TimeoutStopSec=: how long the daemon may take to stop before SIGKILL, a time `SPAN` or infinity",
			comment: unit(`timeout_stop is how long the daemon may take to stop before systemd kills it (default "": systemd's 90s).`),
		}, "", func(u *UnitSettings) *string { return &u.TimeoutStop }),
		str(OptionSpec{Flag: "watchdog", Key: "watchdog", Default: "none",
			Usage:   "the unit's WatchdogSec=: systemd restarts the daemon if it sends no keep-alive for this time `SPAN`",
			comment: unit(`watchdog, if set, is how long the daemon may go without a keep-alive before systemd kills it, such as "30s" (default "": none).`),
		}, "", func(u *UnitSettings) *string { return &u.Watchdog }),
		str(OptionSpec{Flag: "limit-nofile", Key: "limit_nofile", Default: "systemd's 1024:524288",
			Usage:   "the unit's LimitNOFILE=: the limit on open files, a `NUMBER`, infinity or SOFT:HARD",
			comment: unit(`limit_nofile is the limit on open files: a number, "infinity" or "SOFT:HARD" (default "": systemd's 1024:524288).`),
		}, "", func(u *UnitSettings) *string { return &u.LimitNOFILE }),
		list(OptionSpec{Flag: "environment", Key: "environment", Default: "none",
			Usage:   "a `NAME=VALUE` of the daemon's environment under systemd (Environment=); repeatable",
			comment: unit(`environment lists NAME=VALUE variables that systemd sets for the daemon (default []).`),
		}, func(u *UnitSettings) *[]string { return &u.Environment }),
		list(OptionSpec{Flag: "environment-file", Key: "environment_file", Default: "none",
			Usage:   "absolute `PATH` of a file of NAME=VALUE lines for the daemon's environment (EnvironmentFile=; -PATH: if it exists); repeatable",
			comment: unit(`environment_file lists files of NAME=VALUE lines that systemd reads into the environment; "-/path" if optional (default []).`),
		}, func(u *UnitSettings) *[]string { return &u.EnvironmentFile }),
		boolean(OptionSpec{Flag: "dynamic-user", Key: "dynamic_user", Default: "false",
			Usage:   "run the daemon as a user that systemd allocates (DynamicUser=yes); excludes --user and --group",
			comment: unit(`dynamic_user runs the daemon as a user that systemd allocates; it excludes user and group (default false).`),
		}, func(u *UnitSettings) *bool { return &u.DynamicUser }),
		list(OptionSpec{Flag: "state-directory", Key: "state_directory", Default: "none",
			Usage:   "`DIR` below /var/lib that systemd creates for the daemon, writable despite the sandbox; repeatable",
			comment: unit(`state_directory lists directories below /var/lib that systemd creates for the daemon ($STATE_DIRECTORY) (default []).`),
		}, func(u *UnitSettings) *[]string { return &u.StateDirectory }),
		list(OptionSpec{Flag: "logs-directory", Key: "logs_directory", Default: "none",
			Usage:   "`DIR` below /var/log that systemd creates for the daemon; repeatable",
			comment: unit(`logs_directory lists directories below /var/log that systemd creates for the daemon ($LOGS_DIRECTORY) (default []).`),
		}, func(u *UnitSettings) *[]string { return &u.LogsDirectory }),
		list(OptionSpec{Flag: "runtime-directory", Key: "runtime_directory", Default: "none",
			Usage:   "`DIR` below /run that systemd creates for the daemon and removes when it stops; repeatable",
			comment: unit(`runtime_directory lists directories below /run that systemd creates while the daemon runs ($RUNTIME_DIRECTORY) (default []).`),
		}, func(u *UnitSettings) *[]string { return &u.RuntimeDirectory }),
		str(OptionSpec{Flag: "sandbox", Key: "sandbox", Default: DefaultSandbox,
			Usage:   "the unit's sandboxing `LEVEL`: strict, relaxed (file system and privileges only) or none",
			comment: unit(`sandbox is how much the unit confines the daemon: strict, relaxed (file system and privileges only) or none (default "strict").`),
		}, DefaultSandbox, func(u *UnitSettings) *string { return &u.Sandbox }),
		list(OptionSpec{Flag: "capability", Key: "capabilities", Default: "none",
			Usage:   "a `CAPABILITY` the daemon keeps, even as a user other than root, such as CAP_NET_BIND_SERVICE; repeatable",
			comment: unit(`capabilities lists capabilities the daemon keeps, such as "CAP_NET_BIND_SERVICE" to bind ports below 1024 (default []).`),
		}, func(u *UnitSettings) *[]string { return &u.Capabilities }),
		list(OptionSpec{Flag: "address-family", Key: "address_families", Default: "none",
			Usage:   "a socket address `FAMILY` the strict sandbox allows besides AF_UNIX, AF_INET and AF_INET6, such as AF_NETLINK; repeatable",
			comment: unit(`address_families lists socket families allowed besides AF_UNIX, AF_INET and AF_INET6, such as "AF_NETLINK" (default []).`),
		}, func(u *UnitSettings) *[]string { return &u.AddressFamilies }),
		boolean(OptionSpec{Flag: "private-network", Key: "private_network", Default: "false",
			Usage:   "give the daemon no network but its own loopback device (PrivateNetwork=yes)",
			comment: unit(`private_network gives the daemon no network but a loopback device of its own (default false).`),
		}, func(u *UnitSettings) *bool { return &u.PrivateNetwork }),
		boolean(OptionSpec{Flag: "fdstore", Key: "fdstore", Default: "false",
			Usage:   "keep the listeners the daemon opens with daemon.Listen in systemd's file descriptor store, so that systemctl restart refuses no connection",
			comment: unit("fdstore keeps the listeners the daemon opens with daemon.Listen in systemd's file descriptor store, so that `systemctl restart` refuses no connection (default false)."),
		}, func(u *UnitSettings) *bool { return &u.FDStore }),
		list(OptionSpec{Flag: "unit-extra", Key: "unit_extra", Default: "none",
			Usage:   "a `KEY=VALUE` line for the unit, placed in the section of its key, such as LimitCORE=0; repeatable",
			comment: unit(`unit_extra lists further KEY=VALUE lines, each placed in the section of its key (default []).`),
		}, func(u *UnitSettings) *[]string { return &u.UnitExtra }),
	}
}
