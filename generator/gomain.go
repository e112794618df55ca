package generator

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// emitMain returns main.go (generated): the command line of the daemon's
// binary, which wires the verbs start, stop, restart, status, reload and run
// to the vendored runtime.
func emitMain(o Options) *jen.File {
	d := daemonImportPath(o.Module)
	f := jen.NewFile("main")
	f.HeaderComment(generatedHeader)
	f.ImportName(d, "daemon")
	f.PackageComment(commentLines(fmt.Sprintf(`Command %[1]s is a Unix daemon.

Usage:

	%[1]s start|stop|restart|status|reload|run [flags]

start detaches the daemon and waits until it is ready; run keeps it in the
foreground, for debugging, containers and service managers.`, o.Name)))

	// // Exit statuses, following the LSB conventions for init scripts.
	// const (
	//	exitOK          = 0 // success; for status: running
	//	exitFailure     = 1 // failure; for status: dead, but the pidfile exists
	//	exitUsage       = 2 // bad command line
	//	exitNotRunning  = 3 // for status: not running
	//	exitUnknown     = 4 // for status: the state cannot be determined
	//	exitNoPrivilege = 4 // for the other commands: permission denied
	//	exitStopped     = 7 // for reload: the daemon is not running
	// )
	f.Comment("Exit statuses, following the LSB conventions for init scripts.")
	f.Const().Defs(
		jen.Id("exitOK").Op("=").Lit(0).Comment("success; for status: running"),
		jen.Id("exitFailure").Op("=").Lit(1).Comment("failure; for status: dead, but the pidfile exists"),
		jen.Id("exitUsage").Op("=").Lit(2).Comment("bad command line"),
		jen.Id("exitNotRunning").Op("=").Lit(3).Comment("for status: not running"),
		jen.Id("exitUnknown").Op("=").Lit(4).Comment("for status: the state cannot be determined"),
		jen.Id("exitNoPrivilege").Op("=").Lit(4).Comment("for the other commands: permission denied"),
		jen.Id("exitStopped").Op("=").Lit(7).Comment("for reload: the daemon is not running"),
	)

	// func main() {
	//	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	// }
	f.Func().Id("main").Params().Block(
		jen.Qual("os", "Exit").Call(jen.Id("run").Call(
			jen.Qual("os", "Args").Index(jen.Lit(1), jen.Empty()),
			jen.Qual("os", "Stdout"),
			jen.Qual("os", "Stderr"),
		)),
	)

	// // usage is printed for help and for a bad command line.
	// const usage = `usage: ` + name + ` command [flags]
	//
	// commands:
	//   start    detach, wait until the daemon is ready (--start-timeout), print its pid
	//   ...
	// flags:
	// `
	f.Comment("usage is printed for help and for a bad command line.")
	f.Const().Id("usage").Op("=").Add(rawString("usage: ")).Op("+").Id("name").Op("+").Add(rawString(` command [flags]

commands:
  start    detach, wait until the daemon is ready (--start-timeout), print its pid
  stop     send SIGTERM, wait for the daemon to exit, SIGKILL after --timeout
  restart  stop the daemon if it is running, then start it
  status   print whether the daemon runs (exit 0 running, 1 dead, 3 stopped)
  reload   send SIGHUP: the daemon calls its reload hook
  run      run in the foreground, without detaching

flags:
`))

	// // run carries out one command and returns the process's exit status.
	// func run(args []string, stdout, stderr io.Writer) int {
	//	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	//	...
	//	cfg := config(*pidFile)
	//	cfg.StartTimeout = *startTimeout
	//	svc := daemon.Service{Init: initService, Serve: serve, Reload: reload}
	//	switch command {
	//	case "start":
	//		return start(cfg, svc, stdout, stderr)
	//	...
	//	}
	// }
	flags := jen.Id("flags")
	fprintf := func(w string, args ...jen.Code) jen.Code {
		return jen.Qual("fmt", "Fprintf").Call(append([]jen.Code{jen.Id(w)}, args...)...)
	}
	f.Comment("run carries out one command and returns the process's exit status.")
	f.Func().Id("run").Params(
		jen.Id("args").Index().String(),
		jen.List(jen.Id("stdout"), jen.Id("stderr")).Qual("io", "Writer"),
	).Int().Block(
		flags.Clone().Op(":=").Qual("flag", "NewFlagSet").Call(jen.Id("name"), jen.Qual("flag", "ContinueOnError")),
		flags.Clone().Dot("SetOutput").Call(jen.Id("stderr")),
		flags.Clone().Dot("Usage").Op("=").Func().Params().Block(
			jen.Qual("fmt", "Fprint").Call(flags.Clone().Dot("Output").Call(), jen.Id("usage")),
			flags.Clone().Dot("PrintDefaults").Call(),
		),
		jen.Id("pidFile").Op(":=").Add(flags.Clone()).Dot("String").Call(
			jen.Lit("pidfile"), jen.Id("defaultPIDFile"), jen.Lit("`path` of the pidfile"),
		),
		jen.Id("timeout").Op(":=").Add(flags.Clone()).Dot("Duration").Call(
			jen.Lit("timeout"), jen.Qual(d, "DefaultStopTimeout"), jen.Lit("how long stop waits before it sends SIGKILL"),
		),
		jen.Id("startTimeout").Op(":=").Add(flags.Clone()).Dot("Duration").Call(
			jen.Lit("start-timeout"), jen.Qual(d, "DefaultStartTimeout"), jen.Lit("how long start waits for the daemon to be ready before it kills it (0: no limit)"),
		),
		jen.If(jen.Len(jen.Id("args")).Op("==").Lit(0)).Block(
			flags.Clone().Dot("Usage").Call(),
			jen.Return(jen.Id("exitUsage")),
		),
		jen.Id("command").Op(":=").Id("args").Index(jen.Lit(0)),
		jen.If(
			jen.Id("command").Op("==").Lit("help").Op("||").
				Id("command").Op("==").Lit("-h").Op("||").
				Id("command").Op("==").Lit("--help"),
		).Block(
			flags.Clone().Dot("SetOutput").Call(jen.Id("stdout")),
			flags.Clone().Dot("Usage").Call(),
			jen.Return(jen.Id("exitOK")),
		),
		jen.If(
			jen.Err().Op(":=").Add(flags.Clone()).Dot("Parse").Call(jen.Id("args").Index(jen.Lit(1), jen.Empty())),
			jen.Err().Op("!=").Nil(),
		).Block(
			jen.If(jen.Qual("errors", "Is").Call(jen.Err(), jen.Qual("flag", "ErrHelp"))).Block(
				jen.Return(jen.Id("exitOK")),
			),
			jen.Return(jen.Id("exitUsage")),
		),
		jen.If(flags.Clone().Dot("NArg").Call().Op(">").Lit(0)).Block(
			fprintf("stderr", jen.Lit("%s %s: unexpected argument %q\n"), jen.Id("name"), jen.Id("command"), flags.Clone().Dot("Arg").Call(jen.Lit(0))),
			jen.Return(jen.Id("exitUsage")),
		),
		jen.Line(),
		jen.Id("cfg").Op(":=").Id("config").Call(jen.Op("*").Id("pidFile")),
		jen.Id("cfg").Dot("StartTimeout").Op("=").Op("*").Id("startTimeout"),
		jen.Id("svc").Op(":=").Qual(d, "Service").Values(
			jen.Id("Init").Op(":").Id("initService"),
			jen.Id("Serve").Op(":").Id("serve"),
			jen.Id("Reload").Op(":").Id("reload"),
		),
		jen.Switch(jen.Id("command")).Block(
			jen.Case(jen.Lit("start")).Block(
				jen.Return(jen.Id("start").Call(jen.Id("cfg"), jen.Id("svc"), jen.Id("stdout"), jen.Id("stderr"))),
			),
			jen.Case(jen.Lit("stop")).Block(
				jen.Return(jen.Id("stop").Call(jen.Id("cfg"), jen.Op("*").Id("timeout"), jen.Id("stdout"), jen.Id("stderr"))),
			),
			// case "restart":
			//	// Start re-executes this program with the same arguments; only the
			//	// process the user ran stops the old daemon.
			//	if !daemon.Reexecuted() {
			//		if code := stop(cfg, *timeout, stdout, stderr); code != exitOK {
			//			return code
			//		}
			//	}
			//	return start(cfg, svc, stdout, stderr)
			jen.Case(jen.Lit("restart")).Block(
				jen.Comment("Start re-executes this program with the same arguments; only the"),
				jen.Comment("process the user ran stops the old daemon."),
				jen.If(jen.Op("!").Qual(d, "Reexecuted").Call()).Block(
					jen.If(
						jen.Id("code").Op(":=").Id("stop").Call(jen.Id("cfg"), jen.Op("*").Id("timeout"), jen.Id("stdout"), jen.Id("stderr")),
						jen.Id("code").Op("!=").Id("exitOK"),
					).Block(
						jen.Return(jen.Id("code")),
					),
				),
				jen.Return(jen.Id("start").Call(jen.Id("cfg"), jen.Id("svc"), jen.Id("stdout"), jen.Id("stderr"))),
			),
			jen.Case(jen.Lit("status")).Block(
				jen.Return(jen.Id("status").Call(jen.Id("cfg"), jen.Id("stdout"), jen.Id("stderr"))),
			),
			jen.Case(jen.Lit("reload")).Block(
				jen.List(jen.Id("pid"), jen.Err()).Op(":=").Qual(d, "Reload").Call(jen.Id("cfg")),
				jen.If(jen.Err().Op("!=").Nil()).Block(
					fprintf("stderr", jen.Lit("%s: reload: %v\n"), jen.Id("name"), jen.Err()),
					jen.Return(jen.Id("failed").Call(jen.Err())),
				),
				fprintf("stdout", jen.Lit("%s reloading (pid %d)\n"), jen.Id("name"), jen.Id("pid")),
				jen.Return(jen.Id("exitOK")),
			),
			jen.Case(jen.Lit("run")).Block(
				jen.If(
					jen.Err().Op(":=").Qual(d, "Run").Call(jen.Id("cfg"), jen.Id("svc")),
					jen.Err().Op("!=").Nil(),
				).Block(
					fprintf("stderr", jen.Lit("%s: %v\n"), jen.Id("name"), jen.Err()),
					jen.Return(jen.Id("failed").Call(jen.Err())),
				),
				jen.Return(jen.Id("exitOK")),
			),
			jen.Default().Block(
				fprintf("stderr", jen.Lit("%s: unknown command %q\n"), jen.Id("name"), jen.Id("command")),
				flags.Clone().Dot("Usage").Call(),
				jen.Return(jen.Id("exitUsage")),
			),
		),
	)

	// // start detaches the daemon and reports how its start-up went.
	// func start(cfg daemon.Config, svc daemon.Service, stdout, stderr io.Writer) int {
	//	pid, err := daemon.Start(cfg, svc)
	//	if errors.Is(err, daemon.ErrAlreadyRunning) {
	//		fmt.Fprintf(stdout, "%s is already running (pid %d)\n", name, pid)
	//		return exitOK
	//	}
	//	if err != nil {
	//		fmt.Fprintf(stderr, "%s: start: %v\n", name, err)
	//		return failed(err)
	//	}
	//	fmt.Fprintf(stdout, "%s started (pid %d)\n", name, pid)
	//	return exitOK
	// }
	f.Comment("start detaches the daemon and reports how its start-up went.")
	f.Func().Id("start").Params(
		jen.Id("cfg").Qual(d, "Config"),
		jen.Id("svc").Qual(d, "Service"),
		jen.List(jen.Id("stdout"), jen.Id("stderr")).Qual("io", "Writer"),
	).Int().Block(
		jen.List(jen.Id("pid"), jen.Err()).Op(":=").Qual(d, "Start").Call(jen.Id("cfg"), jen.Id("svc")),
		jen.If(jen.Qual("errors", "Is").Call(jen.Err(), jen.Qual(d, "ErrAlreadyRunning"))).Block(
			fprintf("stdout", jen.Lit("%s is already running (pid %d)\n"), jen.Id("name"), jen.Id("pid")),
			jen.Return(jen.Id("exitOK")),
		),
		jen.If(jen.Err().Op("!=").Nil()).Block(
			fprintf("stderr", jen.Lit("%s: start: %v\n"), jen.Id("name"), jen.Err()),
			jen.Return(jen.Id("failed").Call(jen.Err())),
		),
		fprintf("stdout", jen.Lit("%s started (pid %d)\n"), jen.Id("name"), jen.Id("pid")),
		jen.Return(jen.Id("exitOK")),
	)

	// // stop ends the daemon; stopping a daemon that is not running succeeds.
	// func stop(cfg daemon.Config, timeout time.Duration, stdout, stderr io.Writer) int {
	//	pid, killed, err := daemon.Stop(cfg, timeout)
	//	switch {
	//	case errors.Is(err, daemon.ErrNotRunning), errors.Is(err, daemon.ErrDead):
	//		fmt.Fprintf(stdout, "%s is not running\n", name)
	//		return exitOK
	//	case err != nil:
	//		fmt.Fprintf(stderr, "%s: stop: %v\n", name, err)
	//		return failed(err)
	//	case killed:
	//		fmt.Fprintf(stdout, "%s killed (pid %d) after it ignored SIGTERM for %v\n", name, pid, timeout)
	//	default:
	//		fmt.Fprintf(stdout, "%s stopped (pid %d)\n", name, pid)
	//	}
	//	return exitOK
	// }
	f.Comment("stop ends the daemon; stopping a daemon that is not running succeeds.")
	f.Func().Id("stop").Params(
		jen.Id("cfg").Qual(d, "Config"),
		jen.Id("timeout").Qual("time", "Duration"),
		jen.List(jen.Id("stdout"), jen.Id("stderr")).Qual("io", "Writer"),
	).Int().Block(
		jen.List(jen.Id("pid"), jen.Id("killed"), jen.Err()).Op(":=").Qual(d, "Stop").Call(jen.Id("cfg"), jen.Id("timeout")),
		jen.Switch().Block(
			jen.Case(
				jen.Qual("errors", "Is").Call(jen.Err(), jen.Qual(d, "ErrNotRunning")),
				jen.Qual("errors", "Is").Call(jen.Err(), jen.Qual(d, "ErrDead")),
			).Block(
				fprintf("stdout", jen.Lit("%s is not running\n"), jen.Id("name")),
				jen.Return(jen.Id("exitOK")),
			),
			jen.Case(jen.Err().Op("!=").Nil()).Block(
				fprintf("stderr", jen.Lit("%s: stop: %v\n"), jen.Id("name"), jen.Err()),
				jen.Return(jen.Id("failed").Call(jen.Err())),
			),
			jen.Case(jen.Id("killed")).Block(
				fprintf("stdout", jen.Lit("%s killed (pid %d) after it ignored SIGTERM for %v\n"), jen.Id("name"), jen.Id("pid"), jen.Id("timeout")),
			),
			jen.Default().Block(
				fprintf("stdout", jen.Lit("%s stopped (pid %d)\n"), jen.Id("name"), jen.Id("pid")),
			),
		),
		jen.Return(jen.Id("exitOK")),
	)

	// // failed returns the exit status of a command that failed with err.
	// func failed(err error) int {
	//	switch {
	//	case errors.Is(err, fs.ErrPermission):
	//		return exitNoPrivilege
	//	case errors.Is(err, daemon.ErrNotRunning), errors.Is(err, daemon.ErrDead):
	//		return exitStopped
	//	default:
	//		return exitFailure
	//	}
	// }
	f.Comment("failed returns the exit status of a command that failed with err.")
	f.Func().Id("failed").Params(jen.Err().Error()).Int().Block(
		jen.Switch().Block(
			jen.Case(jen.Qual("errors", "Is").Call(jen.Err(), jen.Qual("io/fs", "ErrPermission"))).Block(
				jen.Return(jen.Id("exitNoPrivilege")),
			),
			jen.Case(
				jen.Qual("errors", "Is").Call(jen.Err(), jen.Qual(d, "ErrNotRunning")),
				jen.Qual("errors", "Is").Call(jen.Err(), jen.Qual(d, "ErrDead")),
			).Block(
				jen.Return(jen.Id("exitStopped")),
			),
			jen.Default().Block(
				jen.Return(jen.Id("exitFailure")),
			),
		),
	)

	// // status prints the daemon's state and returns the LSB status code.
	// func status(cfg daemon.Config, stdout, stderr io.Writer) int {
	//	pid, err := daemon.Status(cfg)
	//	switch {
	//	case err == nil:
	//		fmt.Fprintf(stdout, "%s is running (pid %d)\n", name, pid)
	//		return exitOK
	//	case errors.Is(err, daemon.ErrDead):
	//		fmt.Fprintf(stdout, "%s is not running, but its pidfile %s exists\n", name, cfg.PIDFile)
	//		return exitFailure
	//	case errors.Is(err, daemon.ErrNotRunning):
	//		fmt.Fprintf(stdout, "%s is not running\n", name)
	//		return exitNotRunning
	//	default:
	//		fmt.Fprintf(stderr, "%s: status: %v\n", name, err)
	//		return exitUnknown
	//	}
	// }
	f.Comment("status prints the daemon's state and returns the LSB status code.")
	f.Func().Id("status").Params(
		jen.Id("cfg").Qual(d, "Config"),
		jen.List(jen.Id("stdout"), jen.Id("stderr")).Qual("io", "Writer"),
	).Int().Block(
		jen.List(jen.Id("pid"), jen.Err()).Op(":=").Qual(d, "Status").Call(jen.Id("cfg")),
		jen.Switch().Block(
			jen.Case(jen.Err().Op("==").Nil()).Block(
				fprintf("stdout", jen.Lit("%s is running (pid %d)\n"), jen.Id("name"), jen.Id("pid")),
				jen.Return(jen.Id("exitOK")),
			),
			jen.Case(jen.Qual("errors", "Is").Call(jen.Err(), jen.Qual(d, "ErrDead"))).Block(
				fprintf("stdout", jen.Lit("%s is not running, but its pidfile %s exists\n"), jen.Id("name"), jen.Id("cfg").Dot("PIDFile")),
				jen.Return(jen.Id("exitFailure")),
			),
			jen.Case(jen.Qual("errors", "Is").Call(jen.Err(), jen.Qual(d, "ErrNotRunning"))).Block(
				fprintf("stdout", jen.Lit("%s is not running\n"), jen.Id("name")),
				jen.Return(jen.Id("exitNotRunning")),
			),
			jen.Default().Block(
				fprintf("stderr", jen.Lit("%s: status: %v\n"), jen.Id("name"), jen.Err()),
				jen.Return(jen.Id("exitUnknown")),
			),
		),
	)

	// // config is the runtime configuration: the generated defaults, with the
	// // pidfile chosen on the command line.
	// func config(pidFile string) daemon.Config {
	//	return daemon.Config{
	//		Name:    name,
	//		PIDFile: pidFile,
	//		...
	//	}
	// }
	f.Add(comment("config is the runtime configuration: the generated defaults, with the\npidfile chosen on the command line."))
	f.Func().Id("config").Params(jen.Id("pidFile").String()).Qual(d, "Config").Block(
		jen.Return(jen.Qual(d, "Config").Custom(multiline(),
			jen.Id("Name").Op(":").Id("name"),
			jen.Id("PIDFile").Op(":").Id("pidFile"),
			jen.Id("WorkDir").Op(":").Id("workDir"),
			jen.Id("Umask").Op(":").Id("umask"),
			jen.Id("MaxFD").Op(":").Id("maxFD"),
			jen.Id("Stdio").Op(":").Id("stdio"),
			jen.Id("LogFile").Op(":").Id("logFile"),
			jen.Id("User").Op(":").Id("user"),
			jen.Id("Group").Op(":").Id("group"),
		)),
	)
	return f
}
