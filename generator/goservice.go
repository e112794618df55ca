package generator

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// emitService returns service.go (scaffold): the user's type, whose methods
// the runtime calls. It carries no generated-code header: it is the user's
// from the moment it is written. It shows a flag used in Init, the one
// extension nearly every daemon needs first.
func emitService(o Options) *jen.File {
	f := jen.NewFile("main")
	ctx := jen.Id("ctx").Qual("context", "Context")
	recv := jen.Id("s").Op("*").Id("service")
	slog := func(msg string, args ...jen.Code) jen.Code {
		return jen.Qual("log/slog", "Info").Call(append([]jen.Code{jen.Lit(msg)}, args...)...)
	}

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
	f.Type().Id("service").Struct(
		jen.Comment("configPath is set by --config, which start, restart and run accept."),
		jen.Id("configPath").String(),
	)

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
	f.Func().Params(recv.Clone()).Id("DefineFlags").Params(jen.Id("flags").Op("*").Qual("flag", "FlagSet")).Block(
		jen.Id("flags").Dot("Func").Call(jen.Lit("config"), jen.Lit("`path` of the configuration file"),
			jen.Func().Params(jen.Id("path").String()).Params(jen.Err().Error()).Block(
				jen.List(jen.Id("s").Dot("configPath"), jen.Err()).Op("=").Qual("path/filepath", "Abs").Call(jen.Id("path")),
				jen.Return(jen.Err()),
			)),
	)

	// // Init runs in the detached daemon before `myservice start` returns. ...
	// func (s *service) Init(ctx context.Context) error {
	//	if s.configPath != "" {
	//		if _, err := os.ReadFile(s.configPath); err != nil {
	//			return fmt.Errorf("reading the configuration: %w", err)
	//		}
	//	}
	//	slog.Info("starting", "config", s.configPath)
	//	return nil
	// }
	f.Add(comment(fmt.Sprintf("Init runs in the detached daemon before `%[1]s start` returns. Open\n"+
		"listeners, read the configuration and check dependencies here: an error\n"+
		"stops the start-up and is shown to whoever ran `%[1]s start`.", o.Name)))
	f.Func().Params(recv.Clone()).Id("Init").Params(ctx.Clone()).Error().Block(
		jen.If(jen.Id("s").Dot("configPath").Op("!=").Lit("")).Block(
			jen.If(
				jen.List(jen.Id("_"), jen.Err()).Op(":=").Qual("os", "ReadFile").Call(jen.Id("s").Dot("configPath")),
				jen.Err().Op("!=").Nil(),
			).Block(
				jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit("reading the configuration: %w"), jen.Err())),
			),
		),
		slog("starting", jen.Lit("config"), jen.Id("s").Dot("configPath")),
		jen.Return(jen.Nil()),
	)

	// // Serve is the daemon's work. It runs until ctx is cancelled, ...
	// func (s *service) Serve(ctx context.Context) error {
	//	slog.Info("serving")
	//	<-ctx.Done()
	//	slog.Info("stopping")
	//	return nil
	// }
	f.Add(comment(fmt.Sprintf("Serve is the daemon's work. It runs until ctx is cancelled, on SIGTERM or\n"+
		"SIGINT (`%s stop`), and should then return promptly.", o.Name)))
	f.Func().Params(recv.Clone()).Id("Serve").Params(ctx.Clone()).Error().Block(
		slog("serving"),
		jen.Op("<-").Id("ctx").Dot("Done").Call(),
		slog("stopping"),
		jen.Return(jen.Nil()),
	)

	// // Reload runs on SIGHUP (`myservice reload`): ...
	// func (s *service) Reload(ctx context.Context) error {
	//	slog.Info("reloading", "config", s.configPath)
	//	return nil
	// }
	f.Add(comment(fmt.Sprintf("Reload runs on SIGHUP (`%s reload`): re-read the configuration, reopen\n"+
		"files. An error is logged and the daemon keeps running.", o.Name)))
	f.Func().Params(recv.Clone()).Id("Reload").Params(ctx.Clone()).Error().Block(
		slog("reloading", jen.Lit("config"), jen.Id("s").Dot("configPath")),
		jen.Return(jen.Nil()),
	)
	return f
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
	f.Add(comment(fmt.Sprintf("TestServeReturnsWhenCancelled checks what `%s stop` relies on: Serve\n"+
		"returns, without error, once its context is cancelled.", o.Name)))
	f.Func().Id("TestServeReturnsWhenCancelled").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		jen.List(jen.Id("ctx"), jen.Id("cancel")).Op(":=").Qual("context", "WithCancel").Call(jen.Qual("context", "Background").Call()),
		jen.Defer().Id("cancel").Call(),
		jen.Id("s").Op(":=").New(jen.Id("service")),
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
	)
	return f
}
