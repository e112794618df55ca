package generator

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// emitDefaults returns defaults.go (generated): the options as typed
// constants. Strings are Go literals (jen.Lit), so no option value can
// inject code; the umask is written in octal, as people read umasks.
func emitDefaults(o Options) *jen.File {
	f := jen.NewFile("main")
	f.HeaderComment(generatedHeader)

	// // The defaults chosen when this project was generated. To change one, edit
	// // gendaemon.yaml and run gendaemon regen.
	// const (
	//	// name is the daemon's name, used in messages.
	//	name string = "myservice"
	//	...
	//	umask int = 0o027
	//	...
	// )
	f.Add(comment("The defaults chosen when this project was generated. To change one, edit\n" +
		ManifestName + " and run gendaemon regen."))
	f.Const().Defs(
		jen.Comment("name is the daemon's name, used in messages."),
		jen.Id("name").String().Op("=").Lit(o.Name),
		jen.Comment("defaultPIDFile is the pidfile; the --pidfile flag overrides it."),
		jen.Id("defaultPIDFile").String().Op("=").Lit(o.PIDFile),
		jen.Comment("workDir is the daemon's working directory."),
		jen.Id("workDir").String().Op("=").Lit(o.WorkDir),
		jen.Comment("umask is the daemon's file mode creation mask."),
		jen.Id("umask").Int().Op("=").Op(fmt.Sprintf("0o%03o", o.Umask)),
		comment("maxFD bounds the last-resort loop that keeps inherited descriptors\nfrom reaching the daemon."),
		jen.Id("maxFD").Int().Op("=").Lit(o.MaxFD),
		jen.Comment("stdio receives the daemon's standard input, output and error."),
		jen.Id("stdio").String().Op("=").Lit(o.Stdio),
		jen.Comment("logFile, if set, receives standard output and error instead of stdio."),
		jen.Id("logFile").String().Op("=").Lit(o.LogFile),
		jen.Comment("user, if set, is the user the daemon runs as after start-up."),
		jen.Id("user").String().Op("=").Lit(o.User),
		jen.Comment("group, if set, is the group the daemon runs as after start-up."),
		jen.Id("group").String().Op("=").Lit(o.Group),
	)
	return f
}
