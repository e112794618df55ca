package generator

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// emitService returns service.go (scaffold): the user's code, the three
// hooks that main.go hands to the runtime. It carries no generated-code
// header: it is the user's from the moment it is written.
func emitService(o Options) *jen.File {
	f := jen.NewFile("main")
	ctx := jen.Id("ctx").Qual("context", "Context")

	// // initService runs in the detached daemon before `myservice start` returns.
	// // ...
	// func initService(ctx context.Context) error {
	//	return nil
	// }
	f.Add(comment(fmt.Sprintf("initService runs in the detached daemon before `%[1]s start` returns.\n"+
		"Open listeners, read configuration and check dependencies here: an error\n"+
		"stops the start-up and is shown to whoever ran `%[1]s start`.", o.Name)))
	f.Func().Id("initService").Params(ctx.Clone()).Error().Block(
		jen.Return(jen.Nil()),
	)

	// // serve is the daemon's work. It runs until ctx is cancelled, on SIGTERM or
	// // SIGINT (`myservice stop`), and should then return promptly.
	// func serve(ctx context.Context) error {
	//	log.Printf("%s: serving", name)
	//	<-ctx.Done()
	//	log.Printf("%s: stopping", name)
	//	return nil
	// }
	f.Add(comment(fmt.Sprintf("serve is the daemon's work. It runs until ctx is cancelled, on SIGTERM or\n"+
		"SIGINT (`%s stop`), and should then return promptly.", o.Name)))
	f.Func().Id("serve").Params(ctx.Clone()).Error().Block(
		jen.Qual("log", "Printf").Call(jen.Lit("%s: serving"), jen.Id("name")),
		jen.Op("<-").Id("ctx").Dot("Done").Call(),
		jen.Qual("log", "Printf").Call(jen.Lit("%s: stopping"), jen.Id("name")),
		jen.Return(jen.Nil()),
	)

	// // reload runs on SIGHUP (`myservice reload`): re-read configuration, reopen
	// // files. An error is logged and the daemon keeps running.
	// func reload(ctx context.Context) error {
	//	log.Printf("%s: reloading", name)
	//	return nil
	// }
	f.Add(comment(fmt.Sprintf("reload runs on SIGHUP (`%s reload`): re-read configuration, reopen\n"+
		"files. An error is logged and the daemon keeps running.", o.Name)))
	f.Func().Id("reload").Params(ctx.Clone()).Error().Block(
		jen.Qual("log", "Printf").Call(jen.Lit("%s: reloading"), jen.Id("name")),
		jen.Return(jen.Nil()),
	)
	return f
}

// emitServiceTest returns service_test.go (scaffold): a first test of the
// user's hooks, which `go test ./...` runs right after `gendaemon new`.
func emitServiceTest(o Options) *jen.File {
	f := jen.NewFile("main")

	// // TestServeReturnsWhenCancelled checks what `myservice stop` relies on: serve
	// // returns, without error, once its context is cancelled.
	// func TestServeReturnsWhenCancelled(t *testing.T) {
	//	ctx, cancel := context.WithCancel(context.Background())
	//	defer cancel()
	//	if err := initService(ctx); err != nil {
	//		t.Fatalf("initService: %v", err)
	//	}
	//	done := make(chan error, 1)
	//	go func() { done <- serve(ctx) }()
	//	cancel()
	//	select {
	//	case err := <-done:
	//		if err != nil {
	//			t.Fatalf("serve returned %v after its context was cancelled, want nil", err)
	//		}
	//	case <-time.After(10 * time.Second):
	//		t.Fatal("serve did not return within 10s of its context being cancelled")
	//	}
	// }
	f.Add(comment(fmt.Sprintf("TestServeReturnsWhenCancelled checks what `%s stop` relies on: serve\n"+
		"returns, without error, once its context is cancelled.", o.Name)))
	f.Func().Id("TestServeReturnsWhenCancelled").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		jen.List(jen.Id("ctx"), jen.Id("cancel")).Op(":=").Qual("context", "WithCancel").Call(jen.Qual("context", "Background").Call()),
		jen.Defer().Id("cancel").Call(),
		jen.If(
			jen.Err().Op(":=").Id("initService").Call(jen.Id("ctx")),
			jen.Err().Op("!=").Nil(),
		).Block(
			jen.Id("t").Dot("Fatalf").Call(jen.Lit("initService: %v"), jen.Err()),
		),
		jen.Id("done").Op(":=").Make(jen.Chan().Error(), jen.Lit(1)),
		jen.Go().Func().Params().Custom(oneLineBlock(),
			jen.Id("done").Op("<-").Id("serve").Call(jen.Id("ctx")),
		).Call(),
		jen.Id("cancel").Call(),
		jen.Select().Block(
			jen.Case(jen.Err().Op(":=").Op("<-").Id("done")).Block(
				jen.If(jen.Err().Op("!=").Nil()).Block(
					jen.Id("t").Dot("Fatalf").Call(jen.Lit("serve returned %v after its context was cancelled, want nil"), jen.Err()),
				),
			),
			jen.Case(jen.Op("<-").Qual("time", "After").Call(jen.Lit(10).Op("*").Qual("time", "Second"))).Block(
				jen.Id("t").Dot("Fatal").Call(jen.Lit("serve did not return within 10s of its context being cancelled")),
			),
		),
	)
	return f
}
