package generator

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"text/template"

	"github.com/gendaemon/gendaemon/templates"
)

// legacyBase rebuilds, for a project written by a release that kept no
// merge base, the scaffold files as that release wrote them, from the
// templates in templates/legacy: enough for regen to show what the new
// release's scaffold changed as a patch the user can apply (git apply -3),
// as it does for later releases. It returns nil for other projects.
func legacyBase(m Manifest) map[string][]byte {
	version, ok := strings.CutPrefix(m.Generator, "gendaemon ")
	if !ok || strings.ContainsAny(version, "/*?[") {
		return nil
	}
	names, err := fs.Glob(templates.FS, "legacy/"+version+"-*.tmpl")
	if err != nil || len(names) == 0 {
		return nil
	}
	base := map[string][]byte{}
	for _, name := range names {
		file := strings.TrimSuffix(strings.TrimPrefix(path.Base(name), version+"-"), ".tmpl")
		data, err := executeLegacy(name, m.Name)
		if err != nil {
			return nil
		}
		base[file] = data
	}
	return base
}

// executeLegacy renders one legacy template, whose only datum is the name.
func executeLegacy(name, daemonName string) ([]byte, error) {
	t, err := template.New(path.Base(name)).Option("missingkey=error").ParseFS(templates.FS, name)
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, struct{ Name string }{daemonName}); err != nil {
		return nil, fmt.Errorf("execute template %s: %w", name, err)
	}
	return buf.Bytes(), nil
}
