package generator

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"
)

// emitMain returns main.go (generated): the defaults chosen for the daemon,
// as one daemon.Config, handed with the user's service to the runtime's
// Main, which carries out the command line. Strings are Go literals
// (jen.Lit), so no option value can inject code; the umask is written in
// octal, as people read umasks. Optional settings that are unset are left
// out, as a person would leave them out; so is FDStore unless fdstore is
// set.
func emitMain(o Options) *jen.File {
	f := jen.NewFile("main")
	f.HeaderComment(generatedHeader)
	f.ImportName(daemonImportPath(o.Module), "daemon")

	// // Command myservice is a Unix daemon: `myservice help` lists its commands.
	// // ...
	// package main
	f.PackageComment(commentLines(fmt.Sprintf("Command %[1]s is a Unix daemon: `%[1]s help` lists its commands.\n"+
		"Its code is in service.go. The defaults below are those of\n"+
		"%[2]s: to change one, edit that file and run gendaemon regen.", o.Name, ManifestName)))

	field := func(name string, value jen.Code) jen.Code { return jen.Id(name).Op(":").Add(value) }
	config := []jen.Code{
		field("Name", jen.Lit(o.Name)),
		field("PIDFile", jen.Lit(o.PIDFile)),
		field("WorkDir", jen.Lit(o.WorkDir)),
		field("Umask", jen.Op(fmt.Sprintf("0o%03o", o.Umask))),
		field("MaxFD", jen.Lit(o.MaxFD)),
		field("Stdio", jen.Lit(o.Stdio)),
	}
	for _, opt := range []struct{ name, value string }{{"LogFile", o.LogFile}, {"User", o.User}, {"Group", o.Group}} {
		if opt.value != "" {
			config = append(config, field(opt.name, jen.Lit(opt.value)))
		}
	}
	if o.FDStore {
		config = append(config, field("FDStore", jen.True()))
	}
	config = append(config,
		field("Generator", jen.Lit("gendaemon "+Version)),
		field("ServiceFiles", jen.Id("serviceFiles")),
	)

	// // serviceFiles are the systemd units beside this file, built into the
	// // binary for its install command.
	// //
	// //go:embed myservice.service
	// var serviceFiles embed.FS
	units := []string{o.Name + ".service"}
	if len(o.Listen) > 0 {
		units = append(units, o.Name+".socket")
	}
	f.Add(comment("serviceFiles are the systemd units beside this file, built into the\nbinary for its install command.\n"))
	f.Comment("//go:embed " + strings.Join(units, " "))
	f.Var().Id("serviceFiles").Qual("embed", "FS")

	// func main() {
	//	daemon.Main(daemon.Config{
	//		Name:      "myservice",
	//		PIDFile:   "/run/myservice.pid",
	//		...
	//		FDStore:      true, // with fdstore: true only
	//		Generator:    "gendaemon 0.2.0",
	//		ServiceFiles: serviceFiles,
	//	}, new(service))
	// }
	f.Func().Id("main").Params().Block(
		jen.Qual(daemonImportPath(o.Module), "Main").Call(
			jen.Qual(daemonImportPath(o.Module), "Config").Custom(multiline(), config...),
			jen.New(jen.Id("service")),
		),
	)
	return f
}
