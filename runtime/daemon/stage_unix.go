//go:build unix

package daemon

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// beginStage is where a process that Start re-executed begins, before Main
// parses the command line. It protects the start's descriptors from the
// service's code. A session leader, which needs nothing of the command line
// (the daemon parses it again), starts the daemon there and exits, running
// none of the service's code; a daemon starts catching its signals, in the
// background, while it parses the command line and finishes detaching.
func beginStage(cfg Config) {
	stage := handoffStage()
	if stage == stageLauncher {
		return
	}
	protectStartDescriptors()
	switch stage {
	case stageSession, stageUpgrade:
		os.Exit(leadSession(cfg))
	case stageDaemon, stageReplace:
		earlySignals = catchSignals()
	}
}

// leadSession is the session leader of a start or of an upgrade, in a
// process that takeHandoff has not yet taken the stage of: it starts the
// daemon and returns the status to exit with.
func leadSession(cfg Config) int {
	if takeHandoff() == stageUpgrade {
		return startReplacement(cfg) // replacement_unix.go
	}
	return startDaemon(cfg)
}

// earlySignals is the daemon's signal catcher, started by beginStage, or
// nil where Main did not start the process (Run and Start called by the
// program itself, and run, which starts nothing).
var earlySignals *signalCatcher

// takeSignalCatcher returns the catcher beginStage started, once, or else
// starts one.
func takeSignalCatcher() *signalCatcher {
	s := earlySignals
	earlySignals = nil
	if s == nil {
		s = catchSignals()
	}
	return s
}

// A signalCatcher has the daemon's signals delivered to its channel. The
// Go runtime's first signal.Notify starts a thread of its own and makes a
// round trip to it per signal, 0.2-0.3 ms in all on the critical path of a
// start; so the daemon starts catching them as it begins, and waits only
// where it must: for the stop and reload signals before its pidfile exists,
// for SIGUSR2 before it says it is ready. Until Notify, the runtime's own
// handler takes SIGTERM, SIGINT and SIGHUP by their default action and
// drops SIGUSR2, so no upgrade can run before the daemon is ready.
type signalCatcher struct {
	signals  chan os.Signal
	stops    chan struct{} // closed once SIGTERM, SIGINT and SIGHUP are caught
	upgrades chan struct{} // closed once SIGUSR2 is caught too
}

// catchSignals starts catching the daemon's signals.
func catchSignals() *signalCatcher {
	s := &signalCatcher{signals: make(chan os.Signal, 4), stops: make(chan struct{}), upgrades: make(chan struct{})}
	go func() {
		signal.Notify(s.signals, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
		close(s.stops)
		signal.Notify(s.signals, unix.SIGUSR2)
		close(s.upgrades)
	}()
	return s
}

// channel is where every signal arrives, once it is caught.
func (s *signalCatcher) channel() <-chan os.Signal { return s.signals }

// stopsCaught waits until SIGTERM, SIGINT and SIGHUP are caught.
func (s *signalCatcher) stopsCaught() { <-s.stops }

// upgradesCaught waits until SIGUSR2 is caught.
func (s *signalCatcher) upgradesCaught() { <-s.upgrades }

// stop stops the delivery of every signal, once it has begun.
func (s *signalCatcher) stop() {
	<-s.upgrades
	signal.Stop(s.signals)
}
