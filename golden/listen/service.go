package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"example.com/acme/webd/internal/daemon"
)

// service is the daemon's own code. main.go hands a new(service) to the
// runtime in internal/daemon, which calls Serve and, where service has
// them, the other methods below: Init, Reload and DefineFlags, and also
// Commands (commands of its own) and Environ (the daemon's environment);
// README.md shows how. Keep the daemon's state in its fields.
type service struct {
	// configPath is set by --config, which start, restart and run accept.
	configPath string
	// addr is set by --addr: where Init listens when no socket is passed on.
	addr string
	// listeners are the sockets that Serve serves on, from Init.
	listeners []net.Listener
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
	flags.StringVar(&s.addr, "addr", ":8080", "`address` (host:port) to listen on where systemd passes no socket")
}

// Init runs in the detached daemon before `webd start` returns. Open
// listeners, read the configuration and check dependencies here: an error
// stops the start-up and is shown to whoever ran `webd start`.
func (s *service) Init(ctx context.Context) error {
	if s.configPath != "" {
		if _, err := os.ReadFile(s.configPath); err != nil {
			return fmt.Errorf("reading the configuration: %w", err)
		}
	}
	// The sockets to serve on, named "webd". Under systemd, webd.socket
	// passes one for each address of listen in gendaemon.yaml. Elsewhere
	// daemon.Listen returns the one that the daemon being replaced by
	// `webd upgrade` hands over, or else opens one on --addr (a single
	// address: by default listen's first TCP one). The daemon keeps these
	// files and hands them on at its next upgrade, so that no connection
	// is refused: do not close them.
	files := daemon.Activation(ctx).Named("webd")
	if len(files) == 0 {
		f, err := daemon.Listen(ctx, "webd", func() (net.Listener, error) {
			return net.Listen("tcp", s.addr)
		})
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	for _, f := range files {
		l, err := net.FileListener(f)
		if err != nil {
			return err
		}
		s.listeners = append(s.listeners, l)
	}
	slog.Info("starting", "config", s.configPath, "addr", s.listeners[0].Addr().String())
	return nil
}

// Serve is the daemon's work: it answers HTTP requests on the sockets from
// Init until ctx is cancelled, on SIGTERM or SIGINT (`webd stop`), or once
// `webd upgrade` (or SIGUSR2) has a new binary ready, serving on the same
// sockets. Either way, cancellation means "drain": stop accepting, answer
// the requests under way and those that reach a connection already
// accepted, for at most half the time that `webd stop` waits before it
// sends SIGKILL, and return.
func (s *service) Serve(ctx context.Context) error {
	conns := newBusyConns()
	srv := &http.Server{
		ConnState:         conns.track,
		Handler:           http.HandlerFunc(s.hello),
		ReadHeaderTimeout: 10 * time.Second,
	}
	served := make(chan error, len(s.listeners))
	for _, l := range s.listeners {
		go func() { served <- srv.Serve(l) }()
	}
	slog.Info("serving")
	select {
	case err := <-served:
		srv.Close()
		return err
	case <-ctx.Done():
	}
	slog.Info("draining")
	return s.drain(context.WithoutCancel(ctx), srv, conns, served)
}

// drain answers every request that reaches a connection the daemon has
// accepted, then closes the connections, within half the time that
// `webd stop` waits before it sends SIGKILL. Shutdown alone would lose
// requests: it drops one that it reads once shutting down
// (golang/go#75591), and a client that sent it as the first request of a
// new connection sees EOF, which it does not retry. So drain closes the
// listeners (after an upgrade, the new daemon accepts on the same sockets)
// and waits until every srv.Serve has returned: conns then knows every
// connection accepted. Turning keep-alives off closes the idle ones (a
// client retries a request on a connection that has answered before) and
// each busy one after its next answer. Once none is busy, Shutdown has
// nothing left to drop.
func (s *service) drain(ctx context.Context, srv *http.Server, conns *busyConns, served <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, daemon.DefaultStopTimeout/2)
	defer cancel()
	for _, l := range s.listeners {
		l.Close()
	}
	for range s.listeners {
		if err := <-served; !errors.Is(err, net.ErrClosed) {
			srv.Close()
			return err
		}
	}
	srv.SetKeepAlivesEnabled(false)
	if err := conns.wait(ctx); err != nil {
		srv.Close()
		return fmt.Errorf("draining: %w", err)
	}
	return srv.Shutdown(ctx)
}

// hello answers every request with the daemon's name, version and pid,
// which tell the binary that answered: after an upgrade, the new one.
func (s *service) hello(w http.ResponseWriter, r *http.Request) {
	version := "(unknown)"
	if info, ok := debug.ReadBuildInfo(); ok {
		version = info.Main.Version
	}
	fmt.Fprintf(w, "webd %s, pid %d\n", version, os.Getpid())
}

// Reload runs on SIGHUP (`webd reload`): re-read the configuration, reopen
// files. An error is logged and the daemon keeps running.
func (s *service) Reload(ctx context.Context) error {
	slog.Info("reloading", "config", s.configPath)
	return nil
}

// busyConns follows the connections of an http.Server, as its ConnState
// hook, and tells when none of them is busy: new (accepted, its first
// request not read yet) or active (a request under way).
type busyConns struct {
	mu sync.Mutex
	// busy holds the connections that are new or active.
	busy map[net.Conn]bool
	// quiet holds a token once busy has become empty.
	quiet chan struct{}
}

// newBusyConns returns a busyConns that knows no connection yet.
func newBusyConns() *busyConns {
	return &busyConns{
		busy:  make(map[net.Conn]bool),
		quiet: make(chan struct{}, 1),
	}
}

// track is the server's ConnState hook: it records whether c is busy,
// and leaves a token in quiet when no connection is. The server calls it
// with StateNew before srv.Serve accepts the next connection.
func (b *busyConns) track(c net.Conn, state http.ConnState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if state == http.StateNew || state == http.StateActive {
		b.busy[c] = true
		return
	}
	delete(b.busy, c)
	if len(b.busy) == 0 {
		select {
		case b.quiet <- struct{}{}:
		default: // a token is there already
		}
	}
}

// wait returns nil once no connection is busy, or an error once ctx is
// done. A token in quiet may be stale; each one makes it count again.
func (b *busyConns) wait(ctx context.Context) error {
	for {
		b.mu.Lock()
		n := len(b.busy)
		b.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-b.quiet:
		case <-ctx.Done():
			return fmt.Errorf("%d connections still busy: %w", n, ctx.Err())
		}
	}
}
