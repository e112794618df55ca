//go:build !unix

package daemon_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gendaemon/gendaemon/runtime/daemon"
)

// TestUnixOnlyCommands checks that the commands that need Unix say so, in
// a way a caller can test.
func TestUnixOnlyCommands(t *testing.T) {
	cfg := daemon.Config{Name: "testd", PIDFile: "/run/testd.pid"}
	_, startErr := daemon.Start(cfg, initServe{})
	_, _, stopErr := daemon.Stop(cfg, time.Second)
	_, statusErr := daemon.Status(cfg)
	_, reloadErr := daemon.Reload(cfg)
	for name, err := range map[string]error{"start": startErr, "stop": stopErr, "status": statusErr, "reload": reloadErr} {
		if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "needs Unix") {
			t.Errorf("%s: %v, want an error wrapping errors.ErrUnsupported that says it needs Unix", name, err)
		}
	}
}

// TestRunForeground runs a service whose Serve returns on its own, and one
// whose Init fails: Run returns what they return.
func TestRunForeground(t *testing.T) {
	served := errors.New("served")
	err := daemon.Run(daemon.Config{Name: "testd", PIDFile: "/run/testd.pid"}, initServe{
		serve: func(ctx context.Context) error { return served },
	})
	if !errors.Is(err, served) {
		t.Errorf("Run = %v, want Serve's error", err)
	}
	failed := errors.New("no config")
	err = daemon.Run(daemon.Config{Name: "testd"}, initServe{
		init:  func(ctx context.Context) error { return failed },
		serve: func(ctx context.Context) error { t.Error("Serve ran after Init failed"); return nil },
	})
	if !errors.Is(err, failed) || !errors.Is(err, daemon.ErrInit) {
		t.Errorf("Run = %v, want Init's error, wrapping ErrInit", err)
	}
}

// initServe is a daemon.Service made of two functions, each of which may be
// nil.
type initServe struct {
	init, serve func(ctx context.Context) error
}

func (s initServe) Init(ctx context.Context) error {
	if s.init == nil {
		return nil
	}
	return s.init(ctx)
}

func (s initServe) Serve(ctx context.Context) error {
	if s.serve == nil {
		<-ctx.Done()
		return nil
	}
	return s.serve(ctx)
}
