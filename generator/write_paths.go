package generator

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// A pathSet is the set of paths that gendaemon can write in a project: the
// only paths it will ever remove, or name in a journal.
type pathSet struct {
	exact    map[string]bool // paths that do not depend on the name
	patterns [][]string      // paths that do, split around the name
}

// has reports whether gendaemon can write p: the manifest, a path that
// some options render for some name, or a file in the folder gendaemon
// owns.
func (s pathSet) has(p string) bool {
	if path.Clean(p) != p || !filepath.IsLocal(filepath.FromSlash(p)) || strings.Contains(p, `\`) {
		return false
	}
	if p == ManifestName || p == BaseName || s.exact[p] || path.Dir(p) == daemonDir || retired(p) {
		return true
	}
	if orig, ok := debrisOf(p); ok {
		return s.has(orig)
	}
	for _, parts := range s.patterns {
		if matchName(p, parts) {
			return true
		}
	}
	return false
}

// retired reports whether p is a file that an earlier gendaemon generated
// and this one does not: regen removes it from a project that still lists
// it, if it is as gendaemon wrote it. Render cannot produce these, so they
// are listed by hand, one line per release that retires a file.
func retired(p string) bool {
	switch p {
	case "defaults.go": // 0.1.0's constants, now main.go's daemon.Config
		return true
	}
	return false
}

// matchName reports whether p is parts joined by one valid daemon name.
func matchName(p string, parts []string) bool {
	if !strings.HasPrefix(p, parts[0]) || !strings.HasSuffix(p, parts[len(parts)-1]) {
		return false
	}
	rest := p[len(parts[0]):]
	end := strings.Index(rest, parts[1])
	if end <= 0 {
		return false
	}
	name := rest[:end]
	return checkName(name) == nil && strings.Join(parts, name) == p
}

// probeName is the name producible renders with: no path of a project
// holds it but where the name goes.
const probeName = "gendaemonprobe"

// producible returns the paths that gendaemon renders for any name with
// any options: the union of what the defaults render and what every
// optional option set renders, with the name left open. It is derived from
// Render, not listed by hand, so a file that a new option adds is covered.
func producible() (pathSet, error) {
	s := pathSet{exact: map[string]bool{}}
	seen := map[string]bool{}
	for _, opts := range optionVariants(probeName) {
		files, err := Render(opts)
		if err != nil {
			return pathSet{}, fmt.Errorf("render the paths gendaemon writes: %w", err)
		}
		for _, f := range files {
			switch {
			case seen[f.Path]:
			case strings.Contains(f.Path, probeName):
				s.patterns = append(s.patterns, strings.Split(f.Path, probeName))
			default:
				s.exact[f.Path] = true
			}
			seen[f.Path] = true
		}
	}
	return s, nil
}

// debrisName matches the temporary names that gendaemon 0.1.0 wrote a
// file under before renaming it into place: "." + name + ".gendaemon-"
// and 8 characters of rand.Text.
var debrisName = regexp.MustCompile(`^\.(.+)\.gendaemon-[A-Z2-7]{8}$`)

// debrisOf returns the file whose temporary name p is, if it is one.
func debrisOf(p string) (string, bool) {
	m := debrisName.FindStringSubmatch(path.Base(p))
	if m == nil {
		return "", false
	}
	return path.Join(path.Dir(p), m[1]), true
}
