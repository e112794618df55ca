package generator

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"
)

// The scaffold of a daemon with listen addresses serves HTTP on them, in
// the shape a zero-downtime upgrade needs: Init obtains the sockets
// through the runtime (activated, handed over by the daemon being
// replaced, or newly bound with daemon.Listen), and the cancellation of
// Serve's context means "drain" (goservice_drain.go). The functions below
// are the parts of emitService and emitServiceTest that differ.

// defaultAddr is the address, as net.Listen takes it, that the scaffold
// listens on where no socket is passed to it (off systemd): the first TCP
// address of listen, "8080" being ":8080", or 127.0.0.1:8080 if listen
// has only Unix sockets.
func defaultAddr(o Options) string {
	for _, addr := range o.Listen {
		switch {
		case strings.HasPrefix(addr, "/"):
			continue
		case !strings.Contains(addr, ":"):
			return ":" + addr
		}
		return addr
	}
	return "127.0.0.1:8080"
}

// listenFields are the fields of service that hold its sockets.
//
//	// addr is set by --addr: where Init listens when no socket is passed on.
//	addr string
//	// listeners are the sockets that Serve serves on, from Init.
//	listeners []net.Listener
func listenFields() []jen.Code {
	return []jen.Code{
		jen.Comment("addr is set by --addr: where Init listens when no socket is passed on."),
		jen.Id("addr").String(),
		jen.Comment("listeners are the sockets that Serve serves on, from Init."),
		jen.Id("listeners").Index().Qual("net", "Listener"),
	}
}

// addrFlag defines --addr in DefineFlags.
//
//	flags.StringVar(&s.addr, "addr", ":8080", "`address` (host:port) to listen on where systemd passes no socket")
func addrFlag(o Options) jen.Code {
	return jen.Id("flags").Dot("StringVar").Call(jen.Op("&").Id("s").Dot("addr"), jen.Lit("addr"), jen.Lit(defaultAddr(o)),
		jen.Lit("`address` (host:port) to listen on where systemd passes no socket"))
}

// listenInit are the statements of Init that obtain the sockets.
//
//	// The sockets to serve on, named "webd". Under systemd, webd.socket ...
//	files := daemon.Activation(ctx).Named("webd")
//	if len(files) == 0 {
//		f, err := daemon.Listen(ctx, "webd", func() (net.Listener, error) {
//			return net.Listen("tcp", s.addr)
//		})
//		if err != nil {
//			return err
//		}
//		files = append(files, f)
//	}
//	for _, f := range files {
//		l, err := net.FileListener(f)
//		if err != nil {
//			return err
//		}
//		s.listeners = append(s.listeners, l)
//	}
func listenInit(o Options) []jen.Code {
	daemon := daemonImportPath(o.Module)
	ifErr := jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
	return []jen.Code{
		comment(fmt.Sprintf("The sockets to serve on, named %[1]q. Under systemd, %[1]s.socket\n"+
			"passes one for each address of listen in %[2]s. Elsewhere\n"+
			"daemon.Listen returns the one that the daemon being replaced by\n"+
			"`%[1]s upgrade` hands over, or else opens one on --addr (a single\n"+
			"address: by default listen's first TCP one). The daemon keeps these\n"+
			"files and hands them on at its next upgrade, so that no connection\n"+
			"is refused: do not close them.", o.Name, ManifestName)),
		jen.Id("files").Op(":=").Qual(daemon, "Activation").Call(jen.Id("ctx")).Dot("Named").Call(jen.Lit(o.Name)),
		jen.If(jen.Len(jen.Id("files")).Op("==").Lit(0)).Block(
			jen.List(jen.Id("f"), jen.Err()).Op(":=").Qual(daemon, "Listen").Call(jen.Id("ctx"), jen.Lit(o.Name),
				jen.Func().Params().Params(jen.Qual("net", "Listener"), jen.Error()).Block(
					jen.Return(jen.Qual("net", "Listen").Call(jen.Lit("tcp"), jen.Id("s").Dot("addr"))),
				)),
			ifErr.Clone(),
			jen.Id("files").Op("=").Append(jen.Id("files"), jen.Id("f")),
		),
		jen.For(jen.List(jen.Id("_"), jen.Id("f")).Op(":=").Range().Id("files")).Block(
			jen.List(jen.Id("l"), jen.Err()).Op(":=").Qual("net", "FileListener").Call(jen.Id("f")),
			ifErr.Clone(),
			jen.Id("s").Dot("listeners").Op("=").Append(jen.Id("s").Dot("listeners"), jen.Id("l")),
		),
	}
}

// emitServeHTTP adds to f the Serve of a daemon with listen addresses,
// which serves HTTP on its sockets and drains (emitDrain, in
// goservice_drain.go) when its context is cancelled, and its handler.
//
//	func (s *service) Serve(ctx context.Context) error {
//		conns := newBusyConns()
//		srv := &http.Server{ConnState: conns.track, Handler: http.HandlerFunc(s.hello), ReadHeaderTimeout: 10 * time.Second}
//		served := make(chan error, len(s.listeners))
//		for _, l := range s.listeners {
//			go func() { served <- srv.Serve(l) }()
//		}
//		slog.Info("serving")
//		select {
//		case err := <-served:
//			srv.Close()
//			return err
//		case <-ctx.Done():
//		}
//		slog.Info("draining")
//		return s.drain(context.WithoutCancel(ctx), srv, conns, served)
//	}
func emitServeHTTP(f *jen.File, o Options) {
	srv := jen.Id("srv")
	f.Add(comment(fmt.Sprintf("Serve is the daemon's work: it answers HTTP requests on the sockets from\n"+
		"Init until ctx is cancelled, on SIGTERM or SIGINT (`%[1]s stop`), or once\n"+
		"`%[1]s upgrade` (or SIGUSR2) has a new binary ready, serving on the same\n"+
		"sockets. Either way, cancellation means \"drain\": stop accepting, answer\n"+
		"the requests under way and those that reach a connection already\n"+
		"accepted, for at most half the time that `%[1]s stop` waits before it\n"+
		"sends SIGKILL, and return.", o.Name)))
	f.Func().Add(serviceRecv()).Id("Serve").Params(ctxParam()).Error().Block(
		jen.Id("conns").Op(":=").Id("newBusyConns").Call(),
		srv.Clone().Op(":=").Op("&").Qual("net/http", "Server").Values(jen.Dict{ // jennifer sorts the keys
			jen.Id("ConnState"):         jen.Id("conns").Dot("track"),
			jen.Id("Handler"):           jen.Qual("net/http", "HandlerFunc").Call(jen.Id("s").Dot("hello")),
			jen.Id("ReadHeaderTimeout"): jen.Lit(10).Op("*").Qual("time", "Second"),
		}),
		jen.Id("served").Op(":=").Make(jen.Chan().Error(), jen.Len(jen.Id("s").Dot("listeners"))),
		jen.For(jen.List(jen.Id("_"), jen.Id("l")).Op(":=").Range().Id("s").Dot("listeners")).Block(
			jen.Go().Func().Params().Custom(oneLineBlock(),
				jen.Id("served").Op("<-").Add(srv.Clone()).Dot("Serve").Call(jen.Id("l")),
			).Call(),
		),
		jen.Qual("log/slog", "Info").Call(jen.Lit("serving")),
		jen.Select().Block(
			jen.Case(jen.Err().Op(":=").Op("<-").Id("served")).Block(
				srv.Clone().Dot("Close").Call(),
				jen.Return(jen.Err()),
			),
			jen.Case(jen.Op("<-").Id("ctx").Dot("Done").Call()),
		),
		jen.Qual("log/slog", "Info").Call(jen.Lit("draining")),
		jen.Return(jen.Id("s").Dot("drain").Call(
			jen.Qual("context", "WithoutCancel").Call(jen.Id("ctx")), srv.Clone(), jen.Id("conns"), jen.Id("served"))),
	)
	emitDrain(f, o)

	//	// hello answers every request with the daemon's name, version and pid ...
	//	func (s *service) hello(w http.ResponseWriter, r *http.Request) {
	//		version := "(unknown)"
	//		if info, ok := debug.ReadBuildInfo(); ok {
	//			version = info.Main.Version
	//		}
	//		fmt.Fprintf(w, "webd %s, pid %d\n", version, os.Getpid())
	//	}
	f.Add(comment("hello answers every request with the daemon's name, version and pid,\n" +
		"which tell the binary that answered: after an upgrade, the new one."))
	f.Func().Add(serviceRecv()).Id("hello").Params(
		jen.Id("w").Qual("net/http", "ResponseWriter"), jen.Id("r").Op("*").Qual("net/http", "Request"),
	).Block(
		jen.Id("version").Op(":=").Lit("(unknown)"),
		jen.If(jen.List(jen.Id("info"), jen.Id("ok")).Op(":=").Qual("runtime/debug", "ReadBuildInfo").Call(), jen.Id("ok")).Block(
			jen.Id("version").Op("=").Id("info").Dot("Main").Dot("Version"),
		),
		jen.Qual("fmt", "Fprintf").Call(jen.Id("w"), jen.Lit(o.Name+" %s, pid %d\n"), jen.Id("version"), jen.Qual("os", "Getpid").Call()),
	)
}

// listenTestRequest are the statements of the scaffold's test, run while
// Serve runs, that check that it answers on the socket Init opened.
//
//	client := &http.Client{Timeout: 10 * time.Second}
//	resp, err := client.Get("http://" + s.listeners[0].Addr().String() + "/")
//	if err != nil {
//		t.Fatalf("GET: %v", err)
//	}
//	resp.Body.Close()
//	if resp.StatusCode != http.StatusOK {
//		t.Errorf("GET: %s, want 200 OK", resp.Status)
//	}
func listenTestRequest() []jen.Code {
	return []jen.Code{
		jen.Id("client").Op(":=").Op("&").Qual("net/http", "Client").Values(jen.Dict{
			jen.Id("Timeout"): jen.Lit(10).Op("*").Qual("time", "Second"),
		}),
		jen.List(jen.Id("resp"), jen.Err()).Op(":=").Id("client").Dot("Get").Call(
			jen.Lit("http://").Op("+").Id("s").Dot("listeners").Index(jen.Lit(0)).Dot("Addr").Call().Dot("String").Call().Op("+").Lit("/")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Id("t").Dot("Fatalf").Call(jen.Lit("GET: %v"), jen.Err())),
		jen.Id("resp").Dot("Body").Dot("Close").Call(),
		jen.If(jen.Id("resp").Dot("StatusCode").Op("!=").Qual("net/http", "StatusOK")).Block(
			jen.Id("t").Dot("Errorf").Call(jen.Lit("GET: %s, want 200 OK"), jen.Id("resp").Dot("Status")),
		),
	}
}
