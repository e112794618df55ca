package daemon

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

func (c *cli) defineUpgrade(flags *flag.FlagSet) func([]string) int {
	c.pidFileFlag(flags)
	pid := flags.Int("pid", 0, "upgrade the daemon with this pid, found without the pidfile (under systemd: --pid $MAINPID)")
	timeout := flags.Duration("timeout", DefaultStartTimeout+time.Second, "how long upgrade waits for the new binary to be ready and the old one to drain and exit (0: no limit); the daemon gives the new binary its start timeout")
	return c.noArguments("upgrade", func() int {
		if *pid < 0 {
			fmt.Fprintf(c.stderr, "%s upgrade: --pid %d is not a pid\n", c.cfg.Name, *pid)
			return exitUsage
		}
		old, replacement, drained, err := upgradeDaemon(c.cfg, *pid, *timeout)
		if errors.Is(err, errNoControl) && *pid > 0 {
			err = fmt.Errorf("pid %d has no control socket of %s, so it is not %s, or runs where upgrade cannot wait (%w); use upgrade with its pidfile", old, c.cfg.Name, c.cfg.Name, err)
		}
		if err != nil {
			return c.fail("upgrade", err)
		}
		if replacement == 0 {
			fmt.Fprintf(c.stdout, "%s upgrading (pid %d, SIGUSR2): its log says how it went\n", c.cfg.Name, old)
			return exitOK
		}
		if !drained {
			fmt.Fprintf(c.stdout, "%s upgraded (pid %d, replacing pid %d); pid %d may still drain\n", c.cfg.Name, replacement, old, old)
			return exitOK
		}
		fmt.Fprintf(c.stdout, "%s upgraded (pid %d, replacing pid %d)\n", c.cfg.Name, replacement, old)
		return exitOK
	})
}
