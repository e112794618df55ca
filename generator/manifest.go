package generator

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// ManifestVersion is the version of the manifest's format that this
// gendaemon writes.
const ManifestVersion = 1

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

	Files []ManifestFile `yaml:"files"`
}

// A ManifestFile records one file that gendaemon wrote, other than the
// manifest itself. A checksum of what was written can be added here.
type ManifestFile struct {
	Path  string `yaml:"path"`
	Owner Owner  `yaml:"owner"`
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
	}
	for _, f := range files {
		m.Files = append(m.Files, ManifestFile{Path: f.Path, Owner: f.Owner})
	}
	return m
}

// ParseManifest parses the content of gendaemon.yaml strictly: an unknown
// field or a value of the wrong type is an error, and so is a manifest
// version this gendaemon does not know.
func ParseManifest(data []byte) (Manifest, error) {
	var m Manifest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("parse %s: %w", ManifestName, err)
	}
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return Manifest{}, fmt.Errorf("parse %s: more than one YAML document", ManifestName)
	}
	switch {
	case m.Version == 0:
		return Manifest{}, fmt.Errorf("parse %s: no version field", ManifestName)
	case m.Version > ManifestVersion:
		return Manifest{}, fmt.Errorf("parse %s: version %d is newer than this gendaemon understands (%d): upgrade gendaemon", ManifestName, m.Version, ManifestVersion)
	}
	return m, nil
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
	if err := o.Validate(); err != nil {
		return Options{}, err
	}
	return o, nil
}
