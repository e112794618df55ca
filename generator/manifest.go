package generator

import (
	"fmt"
	"strings"

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
		Module:    opts.Module,
		WorkDir:   opts.WorkDir,
		Umask:     FormatUmask(opts.Umask),
		MaxFD:     opts.MaxFD,
		Stdio:     opts.Stdio,
		LogFile:   opts.LogFile,
		PIDFile:   opts.PIDFile,
		User:      opts.User,
		Group:     opts.Group,
		Listen:    opts.Listen,
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
	umask, err := ParseUmask(m.Umask)
	if err != nil {
		return Options{}, err
	}
	o := Options{
		Name:    m.Name,
		Module:  m.Module,
		WorkDir: m.WorkDir,
		Umask:   umask,
		MaxFD:   m.MaxFD,
		Stdio:   m.Stdio,
		LogFile: m.LogFile,
		PIDFile: m.PIDFile,
		User:    m.User,
		Group:   m.Group,
	}
	if len(m.Listen) > 0 {
		o.Listen = m.Listen
	}
	if err := o.Validate(); err != nil {
		return Options{}, err
	}
	return o, nil
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
