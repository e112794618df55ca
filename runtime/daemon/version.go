package daemon

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// versionText describes the program for the version command: its module's
// version, the VCS revision it was built from, the Go toolchain, and the
// tool that generated it (Config.Generator).
func versionText(cfg Config) string {
	var b strings.Builder
	info, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintf(&b, "%s: no build information (built without module support)\n", cfg.Name)
	} else {
		fmt.Fprintf(&b, "%s %s\n", cfg.Name, info.Main.Version)
		fmt.Fprintf(&b, "module:    %s\n", info.Main.Path)
		fmt.Fprintf(&b, "revision:  %s\n", revision(info.Settings))
		fmt.Fprintf(&b, "go:        %s\n", info.GoVersion)
	}
	if cfg.Generator != "" {
		fmt.Fprintf(&b, "generator: %s\n", cfg.Generator)
	}
	return b.String()
}

// revision describes the VCS revision in a build's settings, as the go
// command records it when it builds inside a repository.
func revision(settings []debug.BuildSetting) string {
	vcs := map[string]string{}
	for _, s := range settings {
		vcs[s.Key] = s.Value
	}
	rev := vcs["vcs.revision"]
	if rev == "" {
		return "unknown (not built in a VCS checkout, or with -buildvcs=false)"
	}
	if vcs["vcs.modified"] == "true" {
		rev += " (modified)"
	}
	if t := vcs["vcs.time"]; t != "" {
		rev += ", " + t
	}
	return rev
}
