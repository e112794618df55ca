package generator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FileSum returns the checksum that the manifest records for a generated
// file with the given bytes: "sha256:" and the hex digest.
func FileSum(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

var sumPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// A ManifestError is a problem with a manifest: its file, the line (0 when
// the problem has none, such as a missing key) and what is wrong, with the
// form that is expected. It wraps ErrInvalidOption: a command line tool
// should exit with status 2.
type ManifestError struct {
	File string
	Line int
	Msg  string
}

func (e *ManifestError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Is reports whether target is ErrInvalidOption.
func (e *ManifestError) Is(target error) bool { return target == ErrInvalidOption }

// ParseManifest parses the content of gendaemon.yaml strictly and returns it
// migrated to ManifestVersion. An unknown key, a value of the wrong type, an
// invalid option, a malformed files list and a version newer than
// ManifestVersion are each a *ManifestError naming the line and the
// expected form. A manifest that parses records valid options.
func ParseManifest(data []byte) (Manifest, error) {
	return parseManifest(ManifestName, data)
}

// parseManifest is ParseManifest for a manifest called file in errors.
func parseManifest(file string, data []byte) (Manifest, error) {
	fail := func(line int, format string, args ...any) (Manifest, error) {
		return Manifest{}, &ManifestError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}

	// The node tree gives the line of every key; the decoder below checks
	// the keys and types against Manifest.
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return fail(0, "empty manifest: want the keys that `gendaemon new` writes, starting with version: %d", ManifestVersion)
		}
		line, msg := yamlErrorLine(err.Error())
		return fail(line, "invalid YAML: %s", msg)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fail(extra.Line, "more than one YAML document: want one mapping")
	}
	top := &doc
	if top.Kind == yaml.DocumentNode && len(top.Content) == 1 {
		top = top.Content[0]
	}
	if top.Kind != yaml.MappingNode {
		return fail(top.Line, "want a mapping of keys, such as version: %d", ManifestVersion)
	}
	keys := map[string]*yaml.Node{} // key -> value node
	for i := 0; i+1 < len(top.Content); i += 2 {
		keys[top.Content[i].Value] = top.Content[i+1]
	}
	lineOf := func(key string) int {
		for i := 0; i+1 < len(top.Content); i += 2 {
			if top.Content[i].Value == key {
				return top.Content[i].Line
			}
		}
		return 0
	}

	// The version decides how the rest is read.
	v, ok := keys["version"]
	if !ok {
		return fail(0, "no version key: want version: %d at the top", ManifestVersion)
	}
	version, err := strconv.Atoi(v.Value)
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || err != nil || version < 1 {
		return fail(v.Line, "version: want a whole number from 1 to %d, such as version: %d", ManifestVersion, ManifestVersion)
	}
	if version > ManifestVersion {
		return fail(v.Line, "manifest version %d is newer than this gendaemon %s understands (up to %d): upgrade gendaemon", version, Version, ManifestVersion)
	}

	var m Manifest
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&m); err != nil {
		line, msg := yamlErrorLine(err.Error())
		return fail(line, "%s", explainDecodeError(msg, top, line))
	}

	files, ok := keys["files"]
	if !ok {
		return fail(0, "no files key: want the list of files that gendaemon wrote")
	}
	if err := checkManifestFiles(m, files, version); err != nil {
		line, msg := yamlErrorLine(err.Error())
		return fail(line, "%s", msg)
	}

	if _, err := m.Options(); err != nil {
		key := invalidKey(m, err)
		line := lineOf(key)
		if line == 0 {
			return fail(0, "no %s key: %v", key, err)
		}
		return fail(line, "%s: %v", key, err)
	}

	for m.Version < ManifestVersion {
		from := m.Version
		if err := migrate(&m); err != nil {
			return fail(v.Line, "migrate from version %d: %v", from, err)
		}
		if m.Version != from+1 {
			panic(fmt.Sprintf("generator: migration from manifest version %d made version %d", from, m.Version))
		}
	}
	return m, nil
}

// errNoMigration is returned by migrate for a version it cannot migrate.
var errNoMigration = errors.New("no migration")

// migrate migrates m, a manifest of version m.Version as parsed, one step:
// to version m.Version+1. There is one case per step, so that a manifest of
// any older version reaches ManifestVersion; a new manifest version adds
// one here.
func migrate(m *Manifest) error {
	switch m.Version {
	case 1:
		return migrate1to2(m)
	default:
		return fmt.Errorf("%w from manifest version %d", errNoMigration, m.Version)
	}
}

// migrate1to2 adds the checksums that version 2 records. gendaemon 0.1.0,
// which wrote version 1, recorded none, so the best account of what it
// wrote is what Render produces from the manifest's options: a generated
// file whose bytes still match is unedited. If the options were edited
// before this first regen, the stale files do not match and regen reports
// them as edited by hand, which errs on the side of the user's code: it
// shows the diff and asks for --force.
func migrate1to2(m *Manifest) error {
	opts, err := m.Options()
	if err != nil {
		return err
	}
	files, err := Render(opts)
	if err != nil {
		return err
	}
	sums := map[string]string{}
	for _, f := range files {
		sums[f.Path] = FileSum(f.Data)
	}
	for i, f := range m.Files {
		if f.Owner == Generated {
			m.Files[i].Sum = sums[f.Path] // "" if Render no longer makes it
		}
	}
	m.Version = 2
	return nil
}

// checkManifestFiles checks the files list: local clean paths, each once,
// not the manifest, a known owner, and a sum on every generated file
// (from version 2) and on no scaffold file. files is the list's node, for
// line numbers; errors start with "line N: ".
func checkManifestFiles(m Manifest, files *yaml.Node, version int) error {
	if files.Kind != yaml.SequenceNode || len(files.Content) != len(m.Files) {
		return fmt.Errorf("line %d: files: want a list of entries with path, owner and sum", files.Line)
	}
	seen := map[string]bool{}
	for i, f := range m.Files {
		line := files.Content[i].Line
		switch {
		case f.Path == "" || !filepath.IsLocal(filepath.FromSlash(f.Path)) || path.Clean(f.Path) != f.Path || strings.Contains(f.Path, `\`):
			return fmt.Errorf("line %d: file path %q: want a clean relative path inside the project, such as main.go", line, f.Path)
		case f.Path == ManifestName:
			return fmt.Errorf("line %d: file path %q: the manifest does not list itself", line, f.Path)
		case seen[f.Path]:
			return fmt.Errorf("line %d: file path %q: listed twice", line, f.Path)
		case f.Owner != Generated && f.Owner != Scaffold:
			return fmt.Errorf("line %d: file %s: no owner: want owner: generated or owner: scaffold", line, f.Path)
		case version < 2 && f.Sum != "":
			return fmt.Errorf("line %d: file %s: sum: manifest version %d has no sums; want version: %d", line, f.Path, version, ManifestVersion)
		case version >= 2 && f.Owner == Generated && !sumPattern.MatchString(f.Sum):
			return fmt.Errorf("line %d: file %s: sum %q: want \"sha256:\" and 64 lowercase hex digits, as gendaemon wrote it", line, f.Path, f.Sum)
		case f.Owner == Scaffold && f.Sum != "":
			return fmt.Errorf("line %d: file %s: sum: scaffold files are yours and have no sum", line, f.Path)
		}
		seen[f.Path] = true
	}
	return nil
}

// invalidKey returns the key of the first option in m that is invalid on
// its own: it sets one option at a time in the defaults for m's name and
// validates the result. Options that are only invalid together are
// reported at the key that err, Validate's error, names ("invalid
// dynamic_user: ..."), or else at "name".
func invalidKey(m Manifest, err error) string {
	if checkName(m.Name) != nil {
		return "name"
	}
	for _, s := range OptionSpecs() {
		probe := NewOptions(m.Name)
		if s.Set(&probe, manifestValues(&m, s.Key)) != nil || probe.Validate() != nil {
			return s.Key
		}
	}
	for _, s := range OptionSpecs() {
		if strings.HasPrefix(err.Error(), "invalid "+s.Key+" ") || strings.HasPrefix(err.Error(), "invalid "+s.Key+":") {
			return s.Key
		}
	}
	return "name"
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?(?:unmarshal errors:\n\s*)?line (\d+): `)

// yamlErrorLine splits the line number off an error message of the yaml
// package, or of checkManifestFiles.
func yamlErrorLine(msg string) (int, string) {
	loc := yamlLine.FindStringSubmatchIndex(msg)
	if loc == nil {
		return 0, strings.TrimPrefix(msg, "yaml: ")
	}
	line, _ := strconv.Atoi(msg[loc[2]:loc[3]])
	rest := msg[loc[1]:]
	// Only the first of several unmarshal errors: one line, one problem.
	rest, _, _ = strings.Cut(rest, "\n")
	return line, rest
}

var (
	unknownField = regexp.MustCompile(`^field (\S+) not found in type generator\.(\w+)$`)
	cannotDecode = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (\\S+)$")
)

// explainDecodeError rewrites a decoding error of the yaml package, msg at
// line, as the key and the form that is expected there.
func explainDecodeError(msg string, top *yaml.Node, line int) string {
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		var t reflect.Type
		if m[2] == "ManifestFile" {
			t = reflect.TypeFor[ManifestFile]()
		} else {
			t = reflect.TypeFor[Manifest]()
		}
		return fmt.Sprintf("unknown key %q: want one of %s", m[1], strings.Join(yamlKeys(t), ", "))
	}
	if m := cannotDecode.FindStringSubmatch(msg); m != nil {
		key := keyAt(top, line)
		got := m[1]
		if m[2] != "" {
			got = strconv.Quote(m[2])
		}
		return fmt.Sprintf("%s: got %s, want %s", key, got, expectedForm(m[3]))
	}
	return msg
}

// yamlKeys lists the keys of a struct decoded from YAML, in order.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); key != "" && key != "-" {
			keys = append(keys, key)
		}
	}
	return keys
}

// expectedForm describes the Go type that a YAML value decodes into.
func expectedForm(goType string) string {
	switch goType {
	case "int":
		return "a whole number, such as 1024"
	case "bool":
		return "true or false"
	case "string":
		return `a quoted string, such as "/run/NAME.pid"`
	case "[]string":
		return `a list of quoted strings, such as ["8080"]`
	case "[]generator.ManifestFile":
		return "a list of entries with path, owner and sum"
	case "generator.ManifestFile", "generator.Manifest":
		return "a mapping of keys"
	case "generator.Owner":
		return "generated or scaffold"
	}
	return "a value of type " + goType
}

// keyAt returns the key, such as "maxfd" or "files[3].owner", whose key or
// value is on line, or "value" if there is none.
func keyAt(top *yaml.Node, line int) string {
	best := "value"
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				name := k.Value
				if prefix != "" {
					name = prefix + "." + k.Value
				}
				if best == "value" && (k.Line == line || v.Line == line) {
					best = name
				}
				walk(v, name)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				name := fmt.Sprintf("%s[%d]", prefix, i)
				if best == "value" && c.Line == line && c.Kind == yaml.ScalarNode {
					best = name
				}
				walk(c, name)
			}
		}
	}
	walk(top, "")
	return best
}

// UnmarshalYAML decodes an owner, so that a wrong one is reported with its
// line like every other decoding error.
func (o *Owner) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || o.UnmarshalText([]byte(n.Value)) != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: owner %q: want generated or scaffold", n.Line, n.Value)}}
	}
	return nil
}
