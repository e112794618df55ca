package generator

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// emitService returns service.go (scaffold): the user's type, whose methods
// the runtime calls. It carries no generated-code header: it is the user's
// from the moment it is written. It shows a flag used in Init, the one
// extension nearly every daemon needs first; with listen addresses, it
// serves HTTP on them, ready for an upgrade (goservice_listen.go).
func emitService(o Options) *jen.File {
	f := jen.NewFile("main")
	f.ImportName(daemonImportPath(o.Module), "daemon")

	// // service is the daemon's own code. main.go hands a new(service) to the ...
	// type service struct {
	//	// configPath is set by --config, which start, restart and run accept.
	//	configPath string
	// }
	f.Add(comment("service is the daemon's own code. main.go hands a new(service) to the\n" +
		"runtime in internal/daemon, which calls Serve and, where service has\n" +
		"them, the other methods below: Init, Reload and DefineFlags, and also\n" +
		"Commands (commands of its own) and Environ (the daemon's environment);\n" +
		"README.md shows how. Keep the daemon's state in its fields."))
	fields := []jen.Code{
		jen.Comment("configPath is set by --config, which start, restart and run accept."),
		jen.Id("configPath").String(),
	}
	if len(o.Listen) > 0 {
		fields = append(fields, listenFields()...)
	}
	f.Type().Id("service").Struct(fields...)

	// // DefineFlags adds the daemon's own flags to start, restart and run. ...
	// func (s *service) DefineFlags(flags *flag.FlagSet) {
	//	flags.Func("config", "`path` of the configuration file", func(path string) (err error) {
	//		s.configPath, err = filepath.Abs(path)
	//		return err
	//	})
	// }
	f.Add(comment("DefineFlags adds the daemon's own flags to start, restart and run. Values\n" +
		"given to start reach the detached daemon before Init runs. A path is made\n" +
		"absolute here, against the directory the command runs in: the daemon\n" +
		"itself runs in its working directory."))
	flags := []jen.Code{
		jen.Id("flags").Dot("Func").Call(jen.Lit("config"), jen.Lit("`path` of the configuration file"),
			jen.Func().Params(jen.Id("path").String()).Params(jen.Err().Error()).Block(
				jen.List(jen.Id("s").Dot("configPath"), jen.Err()).Op("=").Qual("path/filepath", "Abs").Call(jen.Id("path")),
				jen.Return(jen.Err()),
			)),
	}
	if len(o.Listen) > 0 {
		flags = append(flags, addrFlag(o))
	}
	f.Func().Add(serviceRecv()).Id("DefineFlags").Params(jen.Id("flags").Op("*").Qual("flag", "FlagSet")).Block(flags...)

	emitInit(f, o)
	if len(o.Listen) > 0 {
		emitServeHTTP(f, o)
	} else {
		emitServeWait(f, o)
	}

	// // Reload runs on SIGHUP (`myservice reload`): ...
	// func (s *service) Reload(ctx context.Context) error {
	//	slog.Info("reloading", "config", s.configPath)
	//	return nil
	// }
	f.Add(comment(fmt.Sprintf("Reload runs on SIGHUP (`%s reload`): re-read the configuration, reopen\n"+
		"files. An error is logged and the daemon keeps running.", o.Name)))
	f.Func().Add(serviceRecv()).Id("Reload").Params(ctxParam()).Error().Block(
		jen.Qual("log/slog", "Info").Call(jen.Lit("reloading"), jen.Lit("config"), jen.Id("s").Dot("configPath")),
		jen.Return(jen.Nil()),
	)
	if len(o.Listen) > 0 {
		emitBusyConns(f) // goservice_drain.go: the helper type of drain, last
	}
	return f
}

// serviceRecv is the receiver of service's methods: (s *service).
func serviceRecv() *jen.Statement { return jen.Params(jen.Id("s").Op("*").Id("service")) }

// ctxParam is the parameter of the hooks: ctx context.Context.
func ctxParam() *jen.Statement { return jen.Id("ctx").Qual("context", "Context") }

// emitInit adds Init to f: it checks the configuration file, and with
// listen addresses obtains the sockets (listenInit).
//
//	// Init runs in the detached daemon before `myservice start` returns. ...
//	func (s *service) Init(ctx context.Context) error {
//		if s.configPath != "" {
//			if _, err := os.ReadFile(s.configPath); err != nil {
//				return fmt.Errorf("reading the configuration: %w", err)
//			}
//		}
//		slog.Info("starting", "config", s.configPath)
//		return nil
//	}
func emitInit(f *jen.File, o Options) {
	f.Add(comment(fmt.Sprintf("Init runs in the detached daemon before `%[1]s start` returns. Open\n"+
		"listeners, read the configuration and check dependencies here: an error\n"+
		"stops the start-up and is shown to whoever ran `%[1]s start`.", o.Name)))
	body := []jen.Code{
		jen.If(jen.Id("s").Dot("configPath").Op("!=").Lit("")).Block(
			jen.If(
				jen.List(jen.Id("_"), jen.Err()).Op(":=").Qual("os", "ReadFile").Call(jen.Id("s").Dot("configPath")),
				jen.Err().Op("!=").Nil(),
			).Block(
				jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit("reading the configuration: %w"), jen.Err())),
			),
		),
	}
	started := []jen.Code{jen.Lit("starting"), jen.Lit("config"), jen.Id("s").Dot("configPath")}
	if len(o.Listen) > 0 {
		body = append(body, listenInit(o)...)
		started = append(started, jen.Lit("addr"), jen.Id("s").Dot("listeners").Index(jen.Lit(0)).Dot("Addr").Call().Dot("String").Call())
	}
	body = append(body, jen.Qual("log/slog", "Info").Call(started...), jen.Return(jen.Nil()))
	f.Func().Add(serviceRecv()).Id("Init").Params(ctxParam()).Error().Block(body...)
}

// emitServeWait adds to f the Serve of a daemon that listens on nothing:
// it waits for its context's cancellation.
//
//	// Serve is the daemon's work. It runs until ctx is cancelled, ...
//	func (s *service) Serve(ctx context.Context) error {
//		slog.Info("serving")
//		<-ctx.Done()
//		slog.Info("stopping")
//		return nil
//	}
func emitServeWait(f *jen.File, o Options) {
	f.Add(comment(fmt.Sprintf("Serve is the daemon's work. It runs until ctx is cancelled, on SIGTERM or\n"+
		"SIGINT (`%s stop`), and should then return promptly.", o.Name)))
	f.Func().Add(serviceRecv()).Id("Serve").Params(ctxParam()).Error().Block(
		jen.Qual("log/slog", "Info").Call(jen.Lit("serving")),
		jen.Op("<-").Id("ctx").Dot("Done").Call(),
		jen.Qual("log/slog", "Info").Call(jen.Lit("stopping")),
		jen.Return(jen.Nil()),
	)
}

// emitServiceTest returns service_test.go (scaffold): a first test of the
// user's service, which `go test ./...` runs right after `gendaemon new`,
// and the checks that make a mistyped hook a compile error.
func emitServiceTest(o Options) *jen.File {
	f := jen.NewFile("main")
	f.ImportName(daemonImportPath(o.Module), "daemon")
	isA := func(iface string) jen.Code {
		return jen.Id("_").Qual(daemonImportPath(o.Module), iface).Op("=").Parens(jen.Op("*").Id("service")).Parens(jen.Nil())
	}

	// // The runtime finds service's hooks when it runs; these lines turn a
	// // mistyped signature into a compile error. ...
	// var (
	//	_ daemon.Initializer = (*service)(nil)
	//	...
	// )
	f.Add(comment("The runtime finds service's hooks when it runs; these lines turn a\n" +
		"mistyped signature into a compile error. Remove one with its method, and\n" +
		"add one when you add a hook: daemon.Commander for Commands, daemon.Environer\n" +
		"for Environ."))
	f.Var().Defs(isA("Initializer"), isA("Reloader"), isA("FlagDefiner"))

	// // TestServeReturnsWhenCancelled checks what `myservice stop` relies on: ...
	// func TestServeReturnsWhenCancelled(t *testing.T) {
	//	ctx, cancel := context.WithCancel(context.Background())
	//	defer cancel()
	//	s := new(service)
	//	if err := s.Init(ctx); err != nil {
	//		t.Fatalf("Init: %v", err)
	//	}
	//	done := make(chan error, 1)
	//	go func() { done <- s.Serve(ctx) }()
	//	cancel()
	//	select {
	//	case err := <-done:
	//		...
	//	case <-time.After(10 * time.Second):
	//		t.Fatal("Serve did not return within 10s of its context being cancelled")
	//	}
	// }
	doc := fmt.Sprintf("TestServeReturnsWhenCancelled checks what `%s stop` relies on: Serve\n"+
		"returns, without error, once its context is cancelled.", o.Name)
	newService := jen.New(jen.Id("service"))
	var request []jen.Code
	if len(o.Listen) > 0 {
		// s := &service{addr: "127.0.0.1:0"}, and a request while Serve runs.
		doc = fmt.Sprintf("TestServeReturnsWhenCancelled checks what `%[1]s stop` and `%[1]s upgrade`\n"+
			"rely on: Serve answers on the socket that Init opened, and returns,\n"+
			"without error, once its context is cancelled.", o.Name)
		newService = jen.Op("&").Id("service").Values(jen.Dict{jen.Id("addr"): jen.Lit("127.0.0.1:0")})
		request = listenTestRequest() // goservice_listen.go
	}
	f.Add(comment(doc))
	body := []jen.Code{
		jen.List(jen.Id("ctx"), jen.Id("cancel")).Op(":=").Qual("context", "WithCancel").Call(jen.Qual("context", "Background").Call()),
		jen.Defer().Id("cancel").Call(),
		jen.Id("s").Op(":=").Add(newService),
		jen.If(
			jen.Err().Op(":=").Id("s").Dot("Init").Call(jen.Id("ctx")),
			jen.Err().Op("!=").Nil(),
		).Block(
			jen.Id("t").Dot("Fatalf").Call(jen.Lit("Init: %v"), jen.Err()),
		),
		jen.Id("done").Op(":=").Make(jen.Chan().Error(), jen.Lit(1)),
		jen.Go().Func().Params().Custom(oneLineBlock(),
			jen.Id("done").Op("<-").Id("s").Dot("Serve").Call(jen.Id("ctx")),
		).Call(),
	}
	body = append(body, request...)
	f.Func().Id("TestServeReturnsWhenCancelled").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(append(body,
		jen.Id("cancel").Call(),
		jen.Select().Block(
			jen.Case(jen.Err().Op(":=").Op("<-").Id("done")).Block(
				jen.If(jen.Err().Op("!=").Nil()).Block(
					jen.Id("t").Dot("Fatalf").Call(jen.Lit("Serve returned %v after its context was cancelled, want nil"), jen.Err()),
				),
			),
			jen.Case(jen.Op("<-").Qual("time", "After").Call(jen.Lit(10).Op("*").Qual("time", "Second"))).Block(
				jen.Id("t").Dot("Fatal").Call(jen.Lit("Serve did not return within 10s of its context being cancelled")),
			),
		),
	)...)
	return f
}
