package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// service is the daemon's own code. main.go hands a new(service) to the
// runtime in internal/daemon, which calls Serve and, where service has
// them, the other methods below: Init, Reload and DefineFlags, and also
// Commands (commands of its own) and Environ (the daemon's environment);
// README.md shows how. Keep the daemon's state in its fields.
type service struct {
	// configPath is set by --config, which start, restart and run accept.
	configPath string
}

// DefineFlags adds the daemon's own flags to start, restart and run. Values
// given to start reach the detached daemon before Init runs. A path is made
// absolute here, against the directory the command runs in: the daemon
// itself runs in its working directory.
func (s *service) DefineFlags(flags *flag.FlagSet) {
	flags.Func("config", "`path` of the configuration file", func(path string) (err error) {
		s.configPath, err = filepath.Abs(path)
		return err
	})
}

// Init runs in the detached daemon before `unitopts start` returns. Open
// listeners, read the configuration and check dependencies here: an error
// stops the start-up and is shown to whoever ran `unitopts start`.
func (s *service) Init(ctx context.Context) error {
	if s.configPath != "" {
		if _, err := os.ReadFile(s.configPath); err != nil {
			return fmt.Errorf("reading the configuration: %w", err)
		}
	}
	slog.Info("starting", "config", s.configPath)
	return nil
}

// Serve is the daemon's work. It runs until ctx is cancelled, on SIGTERM or
// SIGINT (`unitopts stop`), and should then return promptly.
func (s *service) Serve(ctx context.Context) error {
	slog.Info("serving")
	<-ctx.Done()
	slog.Info("stopping")
	return nil
}

// Reload runs on SIGHUP (`unitopts reload`): re-read the configuration, reopen
// files. An error is logged and the daemon keeps running.
func (s *service) Reload(ctx context.Context) error {
	slog.Info("reloading", "config", s.configPath)
	return nil
}
