package generator

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"golang.org/x/mod/semver"
)

// ManifestVersion is the version of the manifest's format that this
// gendaemon writes. Version 1 (gendaemon 0.1.0) had no checksums; version 2
// records the sha256 of every generated file. ParseManifest migrates older
// versions (see migrate) and refuses newer ones.
const ManifestVersion = 2

// A Manifest is the content of gendaemon.yaml: the options a project was
// generated with, in the form a person edits, and the files gendaemon wrote
// with their owners. The template gendaemon.yaml.tmpl writes it, with a
// comment on every field; ParseManifest reads it back.
type Manifest struct {
	Version   int    `yaml:"version"`
	Generator string `yaml:"generator"`

	Name    string `yaml:"name"`
	Module  string `yaml:"module"`
	WorkDir string `yaml:"workdir"`
	Umask   string `yaml:"umask"` // octal, as FormatUmask writes it
	MaxFD   int    `yaml:"maxfd"`
	Stdio   string `yaml:"stdio"`
	LogFile string `yaml:"log_file"`
	PIDFile string `yaml:"pidfile"`
	User    string `yaml:"user"`
	Group   string `yaml:"group"`

	Listen []string `yaml:"listen"`

	// The settings of the service unit (UnitSettings).
	Restart          string   `yaml:"restart"`
	RestartSec       string   `yaml:"restart_sec"`
	TimeoutStart     string   `yaml:"timeout_start"`
	TimeoutStop      string   `yaml:"timeout_stop"`
	Watchdog         string   `yaml:"watchdog"`
	LimitNOFILE      string   `yaml:"limit_nofile"`
	Environment      []string `yaml:"environment"`
	EnvironmentFile  []string `yaml:"environment_file"`
	DynamicUser      bool     `yaml:"dynamic_user"`
	StateDirectory   []string `yaml:"state_directory"`
	LogsDirectory    []string `yaml:"logs_directory"`
	RuntimeDirectory []string `yaml:"runtime_directory"`
	Sandbox          string   `yaml:"sandbox"`
	Capabilities     []string `yaml:"capabilities"`
	AddressFamilies  []string `yaml:"address_families"`
	PrivateNetwork   bool     `yaml:"private_network"`
	FDStore          bool     `yaml:"fdstore"`
	UnitExtra        []string `yaml:"unit_extra"`

	Files []ManifestFile `yaml:"files"`

	// raw is the manifest as read from disk, if it was: regen keeps its
	// comments and layout when it writes the new one.
	raw []byte
}

// A ManifestFile records one file that gendaemon wrote, other than the
// manifest itself.
type ManifestFile struct {
	Path  string `yaml:"path"`
	Owner Owner  `yaml:"owner"`

	// Sum is the checksum of a generated file as gendaemon wrote it,
	// "sha256:" and 64 lowercase hex digits (see FileSum): regen tells a
	// stale file (its bytes still have this sum) from a hand-edited one.
	// Scaffold files are the user's and have none.
	Sum string `yaml:"sum,omitempty"`
}

// newManifest returns the manifest of a project generated with opts, whose
// other files are files.
func newManifest(opts Options, files []File) Manifest {
	m := Manifest{
		Version:   ManifestVersion,
		Generator: "gendaemon " + Version,
		Name:      opts.Name,
	}
	for _, s := range OptionSpecs() {
		setManifestValues(&m, s.Key, s.get(opts))
	}
	for _, f := range files {
		mf := ManifestFile{Path: f.Path, Owner: f.Owner}
		if f.Owner == Generated {
			mf.Sum = FileSum(f.Data)
		}
		m.Files = append(m.Files, mf)
	}
	return m
}

// Options returns the options that m records, validated.
func (m Manifest) Options() (Options, error) {
	o := Options{Name: m.Name}
	for _, s := range OptionSpecs() {
		if err := s.Set(&o, manifestValues(&m, s.Key)); err != nil {
			return Options{}, err
		}
	}
	if err := o.Validate(); err != nil {
		return Options{}, err
	}
	return o, nil
}

// manifestField returns the field of m whose yaml key is key. Every
// OptionSpec's key has one (TestOptionSpecsMatchManifest).
func manifestField(m *Manifest, key string) reflect.Value {
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		if k, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ","); k == key {
			return v.Field(i)
		}
	}
	panic("generator: no manifest field for option " + key)
}

// manifestValues returns the value of the option key in m as strings, as
// OptionSpec.Set takes them.
func manifestValues(m *Manifest, key string) []string {
	f := manifestField(m, key)
	switch f.Kind() {
	case reflect.Int:
		return []string{strconv.Itoa(int(f.Int()))}
	case reflect.Bool:
		return []string{strconv.FormatBool(f.Bool())}
	case reflect.Slice:
		return f.Interface().([]string)
	}
	return []string{f.String()}
}

// setManifestValues sets the option key in m to values, as OptionSpec.Get
// returns them.
func setManifestValues(m *Manifest, key string, values []string) {
	f := manifestField(m, key)
	switch f.Kind() {
	case reflect.Int:
		n, _ := strconv.Atoi(values[0])
		f.SetInt(int64(n))
	case reflect.Bool:
		b, _ := strconv.ParseBool(values[0])
		f.SetBool(b)
	case reflect.Slice:
		f.Set(reflect.ValueOf(values))
	default:
		f.SetString(values[0])
	}
}

// A manifestLine is one option as the manifest's template writes it.
type manifestLine struct{ Comment, Key, Value string }

// OptionLines returns the options of the manifest, in the table's order,
// with their comments and their values in YAML, for gendaemon.yaml.tmpl.
func (d templateData) OptionLines() []manifestLine {
	var lines []manifestLine
	for _, s := range OptionSpecs() {
		values := manifestValues(&d.Manifest, s.Key)
		var value string
		switch manifestField(&d.Manifest, s.Key).Kind() {
		case reflect.Int, reflect.Bool:
			value = values[0]
		case reflect.Slice:
			quoted := make([]string, len(values))
			for i, v := range values {
				quoted[i] = strconv.Quote(v)
			}
			value = "[" + strings.Join(quoted, ", ") + "]"
		default:
			value = strconv.Quote(values[0])
		}
		lines = append(lines, manifestLine{Comment: s.comment(d.Manifest.Name), Key: s.Key, Value: value})
	}
	return lines
}

// checkGenerator refuses a manifest, read from file, that a newer
// gendaemon wrote: it may record options or files that this one does not
// know, and rewriting it would silently downgrade the project. The error
// names both versions and wraps ErrConflict (exit status 2).
func checkGenerator(file, generator string) error {
	v, ok := strings.CutPrefix(generator, "gendaemon ")
	if !ok || !semver.IsValid("v"+v) {
		return &ManifestError{File: file, Msg: fmt.Sprintf("generator: got %q, want \"gendaemon\" and a version, such as \"gendaemon %s\"", generator, Version)}
	}
	if semver.Compare("v"+v, "v"+Version) > 0 {
		return conflictf("%s was written by gendaemon %s, newer than this gendaemon %s: upgrade gendaemon to %s or later (go install github.com/gendaemon/gendaemon/cmd/gendaemon@v%s); this one changes nothing",
			file, v, Version, v, v)
	}
	return nil
}

// keepLayout returns the manifest fresh (as the template writes it) in the
// form of old, the manifest on disk: old's node tree, through yaml.v3's
// Node API, with every value replaced by fresh's and every comment the
// user added or changed kept, including those on files entries whose path
// stays, and the blank lines that the encoder would drop restored. A
// comment that is still what the template wrote for old's values (base)
// becomes what it writes now, even if the name in it changed (name is the
// new one). If old does not parse as a mapping, fresh is returned.
func keepLayout(old, base, fresh []byte, name string) []byte {
	doc, ok1 := parseMapping(old)
	was, ok2 := parseMapping(base)
	want, ok3 := parseMapping(fresh)
	if !ok1 || !ok2 || !ok3 {
		return fresh
	}
	top, baseTop, newTop := doc.Content[0], was.Content[0], want.Content[0]
	pick := func(cur, base, fresh string) string {
		if cur == base || sameButName(cur, fresh, name) {
			return fresh
		}
		return cur
	}
	doc.HeadComment = pick(doc.HeadComment, was.HeadComment, want.HeadComment)
	top.HeadComment = pick(top.HeadComment, baseTop.HeadComment, newTop.HeadComment)
	for i := 0; i+1 < len(newTop.Content); i += 2 {
		key, val := newTop.Content[i], newTop.Content[i+1]
		j := mappingIndex(top, key.Value)
		if j < 0 {
			// A key that old lacks (an option that its gendaemon did not
			// know) goes after the key that precedes it in fresh.
			at := len(top.Content)
			if i > 0 {
				if p := mappingIndex(top, newTop.Content[i-2].Value); p >= 0 {
					at = p + 2
				}
			}
			top.Content = slices.Insert(top.Content, at, key, val)
			continue
		}
		curKey, cur := top.Content[j], top.Content[j+1]
		if b := mappingIndex(baseTop, key.Value); b >= 0 {
			bk := baseTop.Content[b]
			curKey.HeadComment = pick(curKey.HeadComment, bk.HeadComment, key.HeadComment)
			curKey.LineComment = pick(curKey.LineComment, bk.LineComment, key.LineComment)
			curKey.FootComment = pick(curKey.FootComment, bk.FootComment, key.FootComment)
		}
		if key.Value == "files" {
			keepEntryComments(cur, val)
		}
		head, line, foot := cur.HeadComment, cur.LineComment, cur.FootComment
		*cur = *val
		cur.HeadComment, cur.LineComment, cur.FootComment = head, line, foot
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if enc.Encode(doc) != nil || enc.Close() != nil {
		return fresh
	}
	return restoreBlankLines(old, b.Bytes())
}

// parseMapping parses a YAML document whose top is a mapping.
func parseMapping(data []byte) (*yaml.Node, bool) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false
	}
	return &doc, true
}

// sameButName reports whether the comment cur is the comment fresh with
// some other daemon name where fresh has name.
func sameButName(cur, fresh, name string) bool {
	parts := strings.Split(fresh, name)
	if len(parts) < 2 {
		return false
	}
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re, err := regexp.Compile("^" + strings.Join(parts, "[a-z][a-z0-9_-]*") + "$")
	return err == nil && re.MatchString(cur)
}

// mappingIndex returns the index of key in the mapping node m, or -1.
func mappingIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// keepEntryComments copies the comments of the entries of the files list
// old onto the entries of new with the same path.
func keepEntryComments(old, new *yaml.Node) {
	if old.Kind != yaml.SequenceNode || new.Kind != yaml.SequenceNode {
		return
	}
	byPath := map[string]*yaml.Node{}
	for _, e := range old.Content {
		if e.Kind == yaml.MappingNode {
			if i := mappingIndex(e, "path"); i >= 0 {
				byPath[e.Content[i+1].Value] = e
			}
		}
	}
	for _, e := range new.Content {
		i := mappingIndex(e, "path")
		if i < 0 {
			continue
		}
		if o, ok := byPath[e.Content[i+1].Value]; ok {
			e.HeadComment, e.LineComment, e.FootComment = o.HeadComment, o.LineComment, o.FootComment
			for k := 0; k < len(e.Content) && k < len(o.Content); k++ {
				if e.Content[k].Value == o.Content[k].Value || k%2 == 1 {
					e.Content[k].HeadComment = o.Content[k].HeadComment
					e.Content[k].LineComment = o.Content[k].LineComment
				}
			}
		}
	}
}

// restoreBlankLines puts back into out, the encoding of old's node tree,
// the blank lines that separated old's paragraphs: before each line of
// out that begins (or, for a key, has the key of) a line that followed a
// blank line in old, in order.
func restoreBlankLines(old, out []byte) []byte {
	var marks []string // lines of old that followed a blank line
	blank := false
	for line := range strings.SplitSeq(string(old), "\n") {
		if strings.TrimSpace(line) == "" {
			blank = true
			continue
		}
		if blank {
			marks = append(marks, line)
		}
		blank = false
	}
	var b strings.Builder
	lines := strings.SplitAfter(string(out), "\n")
	prevBlank := false
	for _, line := range lines {
		text := strings.TrimSuffix(line, "\n")
		if len(marks) > 0 && sameLine(text, marks[0]) {
			if !prevBlank {
				b.WriteString("\n")
			}
			marks = marks[1:]
		}
		b.WriteString(line)
		prevBlank = strings.TrimSpace(text) == ""
	}
	return []byte(b.String())
}

// sameLine reports whether line is mark, or has the same key.
func sameLine(line, mark string) bool {
	if line == mark {
		return true
	}
	k1, _, ok1 := strings.Cut(line, ":")
	k2, _, ok2 := strings.Cut(mark, ":")
	return ok1 && ok2 && k1 == k2 && !strings.HasPrefix(k1, "#") && !strings.Contains(k1, " ")
}
