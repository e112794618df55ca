package generator

import (
	"errors"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// FuzzOptions feeds arbitrary names, module paths, paths and accounts to
// Validate and Render. Validate must never panic and must reject with an
// error wrapping ErrInvalidOption; whatever it accepts must render Go that
// parses, with every hostile string kept inside its literal, and units that
// parseUnit reads back.
func FuzzOptions(f *testing.F) {
	f.Add("myservice", "example.com/x/myservice", "/var/lib/x", "/var/log/x.log", "daemon", "8080")
	f.Add("a", "a", "/", "", "", "")
	f.Add("x", "x", "/tmp/\"; panic(1) //", "/a`b`/*c*/", "nobody", "/run/x%i.sock")
	f.Add("../etc", "x/../y", "relative", "/a\nb", "Root", "example.com:80")
	f.Fuzz(func(t *testing.T, name, module, workdir, logFile, user, listen string) {
		o := NewOptions(name)
		o.Module, o.WorkDir, o.LogFile, o.User = module, workdir, logFile, user
		if listen != "" {
			o.Listen = []string{listen}
		}
		files, err := Render(o)
		if err != nil {
			if !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("Render rejected %+v with %v, which does not wrap ErrInvalidOption", o, err)
			}
			return
		}
		for _, file := range files {
			switch {
			case strings.HasSuffix(file.Path, ".go"):
				if _, err := parser.ParseFile(token.NewFileSet(), file.Path, file.Data, parser.SkipObjectResolution); err != nil {
					t.Fatalf("%s does not parse for %+v: %v", file.Path, o, err)
				}
			case strings.HasSuffix(file.Path, ".service"), strings.HasSuffix(file.Path, ".socket"):
				if _, err := parseUnit(file.Data); err != nil {
					t.Fatalf("%s for %+v: %v", file.Path, o, err)
				}
			}
		}
	})
}
