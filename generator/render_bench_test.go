package generator

import (
	"path/filepath"
	"strconv"
	"testing"
)

// The benchmarks below measure, in memory and on a project in b.TempDir(),
// the work behind `gendaemon new`, `regen` and `check` on the default
// project (issue 5: each ≤ 25 ms median as a command; bench/cli-latency.sh
// times the commands themselves). Run them with
//
//	go test -run '^$' -bench . -benchmem -count 5 ./generator

// BenchmarkRender renders the default project in memory: the whole of
// `gendaemon new` but the writing.
func BenchmarkRender(b *testing.B) {
	opts := NewOptions("myservice")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWrite writes the rendered default project into a new directory,
// as `gendaemon new` does: every file and directory synced.
func BenchmarkWrite(b *testing.B) {
	files, err := Render(NewOptions("myservice"))
	if err != nil {
		b.Fatal(err)
	}
	parent := b.TempDir()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := Write(filepath.Join(parent, strconv.Itoa(i)), files, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadManifest reads and parses the manifest of the default project.
func BenchmarkLoadManifest(b *testing.B) {
	dir := benchProject(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadManifest(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheck is what `gendaemon check` computes on an up-to-date
// default project: load the manifest, render its options, read and compare
// every file.
func BenchmarkCheck(b *testing.B) {
	dir := benchProject(b)
	b.ReportAllocs()
	for b.Loop() {
		pr, p := benchCompare(b, dir, -1)
		if !p.Clean() {
			b.Fatal("a freshly written project is not clean")
		}
		pr.Close()
	}
}

// BenchmarkRegenNoop is `gendaemon regen` on an up-to-date default project:
// check's work, then an Apply that writes nothing.
func BenchmarkRegenNoop(b *testing.B) {
	dir := benchProject(b)
	b.ReportAllocs()
	for b.Loop() {
		pr, p := benchCompare(b, dir, -1)
		if err := pr.Apply(b.Context(), p, false); err != nil {
			b.Fatal(err)
		}
		pr.Close()
	}
}

// BenchmarkRegenUmask is `gendaemon regen --umask U` with U alternating
// between 022 and 000, so that every iteration rewrites the files that
// depend on the umask and the manifest.
func BenchmarkRegenUmask(b *testing.B) {
	dir := benchProject(b)
	b.ReportAllocs()
	umask := 0
	for b.Loop() {
		umask ^= 0o022
		pr, p := benchCompare(b, dir, umask)
		if p.Clean() {
			b.Fatal("changing the umask changed no generated file")
		}
		if err := pr.Apply(b.Context(), p, false); err != nil {
			b.Fatal(err)
		}
		pr.Close()
	}
}

// benchProject writes the default project into a new directory and returns
// its path.
func benchProject(b *testing.B) string {
	b.Helper()
	files, err := Render(NewOptions("myservice"))
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "myservice")
	if err := Write(dir, files, false); err != nil {
		b.Fatal(err)
	}
	return dir
}

// benchCompare opens dir for regen, sets the umask to umask unless it is
// negative, and compares. The caller closes the project.
func benchCompare(b *testing.B, dir string, umask int) (*Project, *Plan) {
	b.Helper()
	pr, err := OpenProject(dir, true)
	if err != nil {
		b.Fatal(err)
	}
	opts, err := pr.Manifest.Options()
	if err != nil {
		b.Fatal(err)
	}
	if umask >= 0 {
		opts.Umask = umask
	}
	p, err := pr.Compare(opts)
	if err != nil {
		b.Fatal(err)
	}
	return pr, p
}
