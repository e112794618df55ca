package generator

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogrotateSnippet checks that NAME.logrotate is written exactly when
// there is a log file, and what its create line says for each combination
// of user and group.
func TestLogrotateSnippet(t *testing.T) {
	for _, tc := range []struct {
		name, logFile, user, group string
		create                     string // "" if no snippet
	}{
		{"no log file", "", "nobody", "", ""},
		{"root", "/var/log/d.log", "", "", "create 0640\n"},
		{"user", "/var/log/d.log", "nobody", "", "create 0640 nobody\n"},
		{"user and group", "/var/log/d.log", "nobody", "nogroup", "create 0640 nobody nogroup\n"},
		{"group", "/var/log/d.log", "", "adm", "create 0640 root adm\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := NewOptions("d")
			opts.LogFile, opts.User, opts.Group = tc.logFile, tc.user, tc.group
			files, err := Render(opts)
			if err != nil {
				t.Fatal(err)
			}
			var snippet *File
			for i := range files {
				if files[i].Path == "d.logrotate" {
					snippet = &files[i]
				}
			}
			if tc.create == "" {
				if snippet != nil {
					t.Errorf("Render(%+v) wrote d.logrotate without a log file", opts)
				}
				return
			}
			if snippet == nil {
				t.Fatalf("Render(%+v) wrote no d.logrotate", opts)
			}
			text := string(snippet.Data)
			if !strings.Contains(text, "\t"+tc.create) || !strings.Contains(text, "/usr/local/bin/d reload") || !strings.Contains(text, `"`+tc.logFile+`" {`) {
				t.Errorf("d.logrotate = %s\nwant %q, the reload and the quoted log file", text, tc.create)
			}
		})
	}
}

// TestLogrotateAccepts has logrotate itself parse the snippet, in debug
// mode, which changes nothing.
func TestLogrotateAccepts(t *testing.T) {
	dir := t.TempDir()
	opts := NewOptions("d")
	opts.LogFile = filepath.Join(dir, "with space", "d.log")
	opts.User, opts.Group = "nobody", "nogroup"
	files, err := Render(opts)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "d.logrotate")
	for _, f := range files {
		if f.Path == "d.logrotate" {
			if err := os.WriteFile(conf, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Mkdir(filepath.Dir(opts.LogFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(opts.LogFile, []byte("a line\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("logrotate", "--debug", "--force", "--state", filepath.Join(dir, "state"), conf).CombinedOutput()
	if err != nil || strings.Contains(string(out), "error") {
		t.Fatalf("logrotate --debug: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "rotating log "+opts.LogFile) && !strings.Contains(string(out), "rotating pattern: \""+opts.LogFile) {
		t.Errorf("logrotate did not take the log file %q:\n%s", opts.LogFile, out)
	}
}
