package generator

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// The scaffold of a daemon with listen addresses drains without losing a
// request: http.Server.Shutdown alone drops a request that it reads once
// shutting down (golang/go#75591), and a client that sent it as the first
// request of a new connection sees EOF, which it does not retry. The
// functions below emit service.drain, which lets no connection be busy
// when Shutdown runs, and busyConns, which tells when none is.

// emitDrain adds service.drain to f.
//
//	// drain answers every request that reaches a connection the daemon ...
//	func (s *service) drain(ctx context.Context, srv *http.Server, conns *busyConns, served <-chan error) error {
//		ctx, cancel := context.WithTimeout(ctx, daemon.DefaultStopTimeout/2)
//		defer cancel()
//		for _, l := range s.listeners {
//			l.Close()
//		}
//		for range s.listeners {
//			if err := <-served; !errors.Is(err, net.ErrClosed) {
//				srv.Close()
//				return err
//			}
//		}
//		srv.SetKeepAlivesEnabled(false)
//		if err := conns.wait(ctx); err != nil {
//			srv.Close()
//			return fmt.Errorf("draining: %w", err)
//		}
//		return srv.Shutdown(ctx)
//	}
func emitDrain(f *jen.File, o Options) {
	srv := jen.Id("srv")
	f.Add(comment(fmt.Sprintf("drain answers every request that reaches a connection the daemon has\n"+
		"accepted, then closes the connections, within half the time that\n"+
		"`%s stop` waits before it sends SIGKILL. Shutdown alone would lose\n"+
		"requests: it drops one that it reads once shutting down\n"+
		"(golang/go#75591), and a client that sent it as the first request of a\n"+
		"new connection sees EOF, which it does not retry. So drain closes the\n"+
		"listeners (after an upgrade, the new daemon accepts on the same sockets)\n"+
		"and waits until every srv.Serve has returned: conns then knows every\n"+
		"connection accepted. Turning keep-alives off closes the idle ones (a\n"+
		"client retries a request on a connection that has answered before) and\n"+
		"each busy one after its next answer. Once none is busy, Shutdown has\n"+
		"nothing left to drop.", o.Name)))
	f.Func().Add(serviceRecv()).Id("drain").Params(
		ctxParam(), srv.Clone().Op("*").Qual("net/http", "Server"), jen.Id("conns").Op("*").Id("busyConns"),
		jen.Id("served").Op("<-").Chan().Error(),
	).Error().Block(
		jen.List(jen.Id("ctx"), jen.Id("cancel")).Op(":=").Qual("context", "WithTimeout").Call(
			jen.Id("ctx"), jen.Qual(daemonImportPath(o.Module), "DefaultStopTimeout").Op("/").Lit(2)),
		jen.Defer().Id("cancel").Call(),
		jen.For(jen.List(jen.Id("_"), jen.Id("l")).Op(":=").Range().Id("s").Dot("listeners")).Block(
			jen.Id("l").Dot("Close").Call(),
		),
		jen.For(jen.Range().Id("s").Dot("listeners")).Block(
			jen.If(
				jen.Err().Op(":=").Op("<-").Id("served"),
				jen.Op("!").Qual("errors", "Is").Call(jen.Err(), jen.Qual("net", "ErrClosed")),
			).Block(
				srv.Clone().Dot("Close").Call(),
				jen.Return(jen.Err()),
			),
		),
		srv.Clone().Dot("SetKeepAlivesEnabled").Call(jen.False()),
		jen.If(jen.Err().Op(":=").Id("conns").Dot("wait").Call(jen.Id("ctx")), jen.Err().Op("!=").Nil()).Block(
			srv.Clone().Dot("Close").Call(),
			jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit("draining: %w"), jen.Err())),
		),
		jen.Return(srv.Clone().Dot("Shutdown").Call(jen.Id("ctx"))),
	)
}

// emitBusyConns adds to f the type busyConns, which drain waits on, with
// its constructor and methods.
//
//	// busyConns follows the connections of an http.Server, as its ConnState ...
//	type busyConns struct {
//		mu sync.Mutex
//		// busy holds the connections that are new or active.
//		busy map[net.Conn]bool
//		// quiet holds a token once busy has become empty.
//		quiet chan struct{}
//	}
//
//	// newBusyConns returns a busyConns that knows no connection yet.
//	func newBusyConns() *busyConns {
//		return &busyConns{busy: make(map[net.Conn]bool), quiet: make(chan struct{}, 1)}
//	}
func emitBusyConns(f *jen.File) {
	f.Add(comment("busyConns follows the connections of an http.Server, as its ConnState\n" +
		"hook, and tells when none of them is busy: new (accepted, its first\n" +
		"request not read yet) or active (a request under way)."))
	f.Type().Id("busyConns").Struct(
		jen.Id("mu").Qual("sync", "Mutex"),
		jen.Comment("busy holds the connections that are new or active."),
		jen.Id("busy").Map(jen.Qual("net", "Conn")).Bool(),
		jen.Comment("quiet holds a token once busy has become empty."),
		jen.Id("quiet").Chan().Struct(),
	)
	f.Comment("newBusyConns returns a busyConns that knows no connection yet.")
	f.Func().Id("newBusyConns").Params().Op("*").Id("busyConns").Block(
		jen.Return(jen.Op("&").Id("busyConns").Values(jen.Dict{
			jen.Id("busy"):  jen.Make(jen.Map(jen.Qual("net", "Conn")).Bool()),
			jen.Id("quiet"): jen.Make(jen.Chan().Struct(), jen.Lit(1)),
		})),
	)
	emitBusyConnsTrack(f)
	emitBusyConnsWait(f)
}

// busyRecv is the receiver of busyConns's methods: (b *busyConns).
func busyRecv() *jen.Statement { return jen.Params(jen.Id("b").Op("*").Id("busyConns")) }

// lockBusy are the statements that hold b.mu until the function returns.
func lockBusy() []jen.Code {
	return []jen.Code{
		jen.Id("b").Dot("mu").Dot("Lock").Call(),
		jen.Defer().Id("b").Dot("mu").Dot("Unlock").Call(),
	}
}

// emitBusyConnsTrack adds busyConns.track, the server's ConnState hook.
//
//	// track is the server's ConnState hook: it records whether c is busy, ...
//	func (b *busyConns) track(c net.Conn, state http.ConnState) {
//		b.mu.Lock()
//		defer b.mu.Unlock()
//		if state == http.StateNew || state == http.StateActive {
//			b.busy[c] = true
//			return
//		}
//		delete(b.busy, c)
//		if len(b.busy) == 0 {
//			select {
//			case b.quiet <- struct{}{}:
//			default: // a token is there already
//			}
//		}
//	}
func emitBusyConnsTrack(f *jen.File) {
	f.Add(comment("track is the server's ConnState hook: it records whether c is busy,\n" +
		"and leaves a token in quiet when no connection is. The server calls it\n" +
		"with StateNew before srv.Serve accepts the next connection."))
	body := append(lockBusy(),
		jen.If(jen.Id("state").Op("==").Qual("net/http", "StateNew").Op("||").Id("state").Op("==").Qual("net/http", "StateActive")).Block(
			jen.Id("b").Dot("busy").Index(jen.Id("c")).Op("=").True(),
			jen.Return(),
		),
		jen.Delete(jen.Id("b").Dot("busy"), jen.Id("c")),
		jen.If(jen.Len(jen.Id("b").Dot("busy")).Op("==").Lit(0)).Block(
			jen.Select().Block(
				jen.Case(jen.Id("b").Dot("quiet").Op("<-").Struct().Values()),
				jen.Default().Comment("a token is there already"),
			),
		),
	)
	f.Func().Add(busyRecv()).Id("track").Params(
		jen.Id("c").Qual("net", "Conn"), jen.Id("state").Qual("net/http", "ConnState"),
	).Block(body...)
}

// emitBusyConnsWait adds busyConns.wait, which drain calls.
//
//	// wait returns nil once no connection is busy, or an error once ctx is done.
//	func (b *busyConns) wait(ctx context.Context) error {
//		for {
//			b.mu.Lock()
//			n := len(b.busy)
//			b.mu.Unlock()
//			if n == 0 {
//				return nil
//			}
//			select {
//			case <-b.quiet:
//			case <-ctx.Done():
//				return fmt.Errorf("%d connections still busy: %w", n, ctx.Err())
//			}
//		}
//	}
func emitBusyConnsWait(f *jen.File) {
	f.Add(comment("wait returns nil once no connection is busy, or an error once ctx is\n" +
		"done. A token in quiet may be stale; each one makes it count again."))
	f.Func().Add(busyRecv()).Id("wait").Params(ctxParam()).Error().Block(
		jen.For().Block(
			jen.Id("b").Dot("mu").Dot("Lock").Call(),
			jen.Id("n").Op(":=").Len(jen.Id("b").Dot("busy")),
			jen.Id("b").Dot("mu").Dot("Unlock").Call(),
			jen.If(jen.Id("n").Op("==").Lit(0)).Block(jen.Return(jen.Nil())),
			jen.Select().Block(
				jen.Case(jen.Op("<-").Id("b").Dot("quiet")),
				jen.Case(jen.Op("<-").Id("ctx").Dot("Done").Call()).Block(
					jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit("%d connections still busy: %w"), jen.Id("n"),
						jen.Id("ctx").Dot("Err").Call())),
				),
			),
		),
	)
}
