package daemon

import "io"

// installService installs the daemon as an rc.d service; see rcdPlan.
func installService(cfg Config, opts installOptions, out io.Writer) error {
	pl, err := rcdPlan(cfg, opts, "")
	if err != nil {
		return err
	}
	return pl.installFiles(opts.now, out)
}

// uninstallService removes what installService installed.
func uninstallService(cfg Config, opts installOptions, out io.Writer) error {
	pl, err := rcdPlan(cfg, opts, "")
	if err != nil {
		return err
	}
	return pl.uninstallFiles(out)
}
