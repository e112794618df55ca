package generator

import "strings"

// reservedName says why the go command cannot build a daemon called name,
// whatever its module path, or returns "" if it can. The name is the
// binary's, which go build writes into the project's directory.
func reservedName(name string) string {
	switch name {
	case "internal":
		return "go build would write the binary over the project's internal directory"
	case "vendor":
		return "the go command reads a package path ending in vendor as a vendor directory"
	}
	return ""
}

// reservedModuleRoot says why the go command cannot build a main module
// whose path is elem, one element without a dot, or returns "" if it can.
func reservedModuleRoot(elem string) string {
	switch elem {
	case "main":
		return "go test cannot import a package called main"
	case "go", "toolchain":
		return "go.mod reads it as a directive, not a module path"
	case "all", "std", "cmd", "tool", "work":
		return "the go command reads it as a package pattern"
	case "type":
		return "the compiler reserves the package path type"
	}
	if stdRoot(elem) {
		return "it is a standard-library package, so the go command looks for the project's packages in the standard library"
	}
	return ""
}

// stdRoot reports whether elem is the first element of a standard-library
// import path (go list std). TestStdRootsAreCurrent keeps the list in step
// with the go command.
func stdRoot(elem string) bool {
	switch elem {
	case "archive", "bufio", "builtin", "bytes", "cmp", "compress", "container", "context",
		"crypto", "database", "debug", "embed", "encoding", "errors", "expvar", "flag",
		"fmt", "go", "hash", "html", "image", "index", "internal", "io", "iter", "log",
		"maps", "math", "mime", "net", "os", "path", "plugin", "reflect", "regexp",
		"runtime", "slices", "sort", "strconv", "strings", "structs", "sync", "syscall",
		"testing", "text", "time", "unicode", "unique", "unsafe", "vendor", "weak":
		return true
	}
	return false
}

// checkReservedName refuses a name, or a module path, that the go command
// cannot build a project of: the default module path is the name, so
// gendaemon new fmt would make a module fmt, which the standard library's
// fmt shadows.
func checkReservedName(name, module string) error {
	if why := reservedName(name); why != "" {
		return invalidf("invalid name %q: %s; choose another name", name, why)
	}
	// A path of several elements builds whatever its first: the go command
	// finds the main module's packages before the standard library's.
	if strings.Contains(module, "/") || strings.Contains(module, ".") {
		return nil
	}
	why := reservedModuleRoot(module)
	switch {
	case why == "":
		return nil
	case module == name:
		return invalidf("invalid name %q as a module path: %s; keep the name with a module path of your own, such as --module example.com/you/%s", name, why, name)
	default:
		return invalidf("invalid module path %q: %s; use a path such as example.com/you/%s", module, why, lastElem(module))
	}
}
