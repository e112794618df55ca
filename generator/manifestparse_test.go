package generator

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// renderedManifest returns the manifest that Render writes for opts.
func renderedManifest(t testing.TB, opts Options) string {
	t.Helper()
	files, err := Render(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Path == ManifestName {
			return string(f.Data)
		}
	}
	t.Fatal("Render made no manifest")
	return ""
}

// TestParseManifestIsStrict checks that every kind of bad manifest is an
// error that wraps ErrInvalidOption and names the file, the line and the
// expected form.
func TestParseManifestIsStrict(t *testing.T) {
	manifest := renderedManifest(t, NewOptions("myservice"))
	replace := func(old, new string) string {
		if !strings.Contains(manifest, old) {
			t.Fatalf("manifest has no %q", old)
		}
		return strings.Replace(manifest, old, new, 1)
	}
	tests := []struct {
		name, data, want string
	}{
		{name: "unknown key", data: replace("maxfd: 1024\n", "maxfd: 1024\ncolour: blue\n"),
			want: `^gendaemon\.yaml:22: unknown key "colour": want one of version, generator, name, .*, files$`},
		{name: "unknown key in files", data: replace(`    owner: scaffold`, "    owner: scaffold\n    mode: 0644"),
			want: `^gendaemon\.yaml:\d+: unknown key "mode": want one of path, owner, sum$`},
		{name: "wrong type", data: replace("maxfd: 1024", "maxfd: many"),
			want: `^gendaemon\.yaml:21: maxfd: got "many", want a whole number, such as 1024$`},
		{name: "list for a string", data: replace(`workdir: "/"`, `workdir: ["/"]`),
			want: `^gendaemon\.yaml:17: workdir: got !!seq, want a quoted string`},
		{name: "invalid umask", data: replace(`umask: "000"`, `umask: "999"`),
			want: `^gendaemon\.yaml:19: umask: invalid umask "999": use an octal number from 0 to 0777, such as 027$`},
		{name: "relative workdir", data: replace(`workdir: "/"`, `workdir: "srv"`),
			want: `^gendaemon\.yaml:17: workdir: invalid workdir "srv": use an absolute path, such as /srv$`},
		{name: "bad listen", data: replace(`listen: []`, `listen: ["example.com:80"]`),
			want: `^gendaemon\.yaml:\d+: listen: invalid listen address "example.com:80"`},
		{name: "missing key", data: replace(`umask: "000"`+"\n", ""),
			want: `^gendaemon\.yaml: no umask key: invalid umask ""`},
		{name: "bad owner", data: replace("owner: scaffold", "owner: nobody"),
			want: `^gendaemon\.yaml:\d+: owner "nobody": want generated or scaffold$`},
		{name: "bad sum", data: regexp.MustCompile(`sum: "sha256:[0-9a-f]+"`).ReplaceAllLiteralString(manifest, `sum: "md5:00"`),
			want: `^gendaemon\.yaml:\d+: file \S+: sum "md5:00": want "sha256:" and 64 lowercase hex digits`},
		{name: "sum on scaffold", data: replace("    owner: scaffold\n", "    owner: scaffold\n    sum: \"sha256:"+strings.Repeat("0", 64)+"\"\n"),
			want: `file README.md: sum: scaffold files are yours and have no sum$`},
		{name: "path outside", data: replace(`path: "main.go"`, `path: "../main.go"`),
			want: `file path "\.\./main\.go": want a clean relative path inside the project`},
		{name: "listed twice", data: replace(`path: "main.go"`, `path: "service.go"`),
			want: `file path "service\.go": listed twice$`},
		{name: "newer version", data: replace("version: 2", "version: 99"),
			want: `^gendaemon\.yaml:8: manifest version 99 is newer than this gendaemon 0\.2\.0 understands \(up to 2\): upgrade gendaemon$`},
		{name: "version zero", data: replace("version: 2", "version: 0"),
			want: `^gendaemon\.yaml:8: version: want a whole number from 1 to 2`},
		{name: "version string", data: replace("version: 2", `version: "2"`),
			want: `^gendaemon\.yaml:8: version: want a whole number`},
		{name: "no version", data: replace("version: 2\n", ""),
			want: `^gendaemon\.yaml: no version key: want version: 2 at the top$`},
		{name: "bad yaml", data: replace("maxfd: 1024", "maxfd: [1024"),
			want: `^gendaemon\.yaml:\d+: invalid YAML: `},
		{name: "duplicate key", data: replace("maxfd: 1024", "maxfd: 1024\nmaxfd: 3"),
			want: `^gendaemon\.yaml:22: .*already defined`},
		{name: "two documents", data: manifest + "---\nversion: 2\n",
			want: `more than one YAML document`},
		{name: "empty", data: "", want: `^gendaemon\.yaml: empty manifest`},
		{name: "not a mapping", data: "- 1\n", want: `^gendaemon\.yaml:1: want a mapping of keys`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(tc.data))
			if err == nil || !regexp.MustCompile(tc.want).MatchString(err.Error()) {
				t.Fatalf("ParseManifest(%s) = %v, want an error matching %s", tc.name, err, tc.want)
			}
			if !errors.Is(err, ErrInvalidOption) {
				t.Errorf("ParseManifest(%s) = %v, which does not wrap ErrInvalidOption", tc.name, err)
			}
		})
	}
}

// manifestV1 turns a manifest of version 2 into what gendaemon 0.1.0 wrote:
// version 1, no sums.
func manifestV1(v2 string) string {
	v1 := strings.Replace(v2, "version: 2\n", "version: 1\n", 1)
	return regexp.MustCompile(`(?m)^    sum: .*\n`).ReplaceAllString(v1, "")
}

// TestMigrate1to2 checks that a version 1 manifest is migrated to the
// current version with the sums of what Render produces, and that sums in
// a version 1 manifest are refused.
func TestMigrate1to2(t *testing.T) {
	for _, opts := range []Options{NewOptions("myservice"), allOptions()} {
		v2 := renderedManifest(t, opts)
		want, err := ParseManifest([]byte(v2))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseManifest([]byte(manifestV1(v2)))
		if err != nil {
			t.Fatalf("ParseManifest(version 1) = %v", err)
		}
		if got.Version != ManifestVersion {
			t.Errorf("migrated version = %d, want %d", got.Version, ManifestVersion)
		}
		if len(got.Files) != len(want.Files) {
			t.Fatalf("migrated files = %v, want %v", got.Files, want.Files)
		}
		for i := range got.Files {
			if got.Files[i] != want.Files[i] {
				t.Errorf("migrated file %d = %+v, want %+v", i, got.Files[i], want.Files[i])
			}
		}
	}
	v1 := strings.Replace(renderedManifest(t, NewOptions("myservice")), "version: 2\n", "version: 1\n", 1)
	if _, err := ParseManifest([]byte(v1)); err == nil || !strings.Contains(err.Error(), "manifest version 1 has no sums") {
		t.Errorf("ParseManifest(version 1 with sums) = %v, want an error about sums", err)
	}
}

// TestMigrateEveryVersion checks that migrate has one step for every
// version below ManifestVersion, and none from it.
func TestMigrateEveryVersion(t *testing.T) {
	for v := 1; v <= ManifestVersion; v++ {
		m := newManifest(NewOptions("myservice"), nil)
		m.Version = v
		err := migrate(&m)
		if v == ManifestVersion {
			if !errors.Is(err, errNoMigration) {
				t.Errorf("migrate(version %d) = %v, want errNoMigration", v, err)
			}
			continue
		}
		if err != nil || m.Version != v+1 {
			t.Errorf("migrate(version %d) = %v, version %d; want nil, version %d", v, err, m.Version, v+1)
		}
	}
}

// FuzzParseManifest checks that ParseManifest never panics, that every
// rejection is a *ManifestError, and that what it accepts has valid
// options. The seed corpus is in testdata/fuzz/FuzzParseManifest.
func FuzzParseManifest(f *testing.F) {
	v2 := renderedManifest(f, NewOptions("myservice"))
	f.Add([]byte(v2))
	f.Add([]byte(manifestV1(v2)))
	f.Add([]byte(renderedManifest(f, allOptions())))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			var merr *ManifestError
			if !errors.As(err, &merr) || !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("ParseManifest error %v (%T) is not a *ManifestError", err, err)
			}
			return
		}
		if m.Version != ManifestVersion {
			t.Errorf("accepted version %d, want %d after migration", m.Version, ManifestVersion)
		}
		if _, err := m.Options(); err != nil {
			t.Errorf("accepted a manifest with invalid options: %v", err)
		}
	})
}
