package generator

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// platformCases are the options whose launchd job and rc.d script the tests
// check: every golden case, and options with characters that XML, the
// shell and an XML comment each treat specially.
func platformCases() []struct {
	name string
	opts Options
} {
	odd := NewOptions("odd--name")
	odd.Module = "xn--bcher-kva.example/odd--name"
	odd.WorkDir = `/srv/<a> & "b"`
	odd.LogFile = `/var/log/it's $HOME & <more>.log`
	odd.PIDFile = `/var/run/it's "$(reboot)" ` + "`x`.pid"
	odd.User = "_svc-1"
	odd.Group = "1000"
	odd.Umask = 0o27
	cases := []struct {
		name string
		opts Options
	}{{"odd", odd}}
	for _, gc := range goldenCases {
		cases = append(cases, struct {
			name string
			opts Options
		}{gc.name, gc.opts})
	}
	return cases
}

// TestLaunchdPlist parses each rendered launchd job as launchd would read
// it and checks every key against the options.
func TestLaunchdPlist(t *testing.T) {
	for _, tc := range platformCases() {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			data := renderedFile(t, o, o.Name+".plist")
			if !bytes.Contains(data, []byte(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN"`)) {
				t.Errorf("no plist DOCTYPE:\n%s", data)
			}
			job, err := parsePlist(data)
			if err != nil {
				t.Fatalf("parsePlist: %v\n%s", err, data)
			}
			want := map[string]any{
				"Label":            templateData{Options: o}.LaunchdLabel(),
				"ProgramArguments": []any{BinDir + "/" + o.Name, "run", "--pidfile="},
				"Umask":            int64(o.Umask),
				"WorkingDirectory": o.WorkDir,
				"RunAtLoad":        true,
				"KeepAlive":        map[string]any{"SuccessfulExit": false},
			}
			if o.User != "" {
				want["UserName"] = o.User
			}
			if o.Group != "" {
				want["GroupName"] = o.Group
			}
			if o.LogFile != "" {
				want["StandardOutPath"] = o.LogFile
				want["StandardErrorPath"] = o.LogFile
			}
			if !reflect.DeepEqual(job, want) {
				t.Errorf("launchd job = %#v\nwant %#v", job, want)
			}
		})
	}
}

// TestLaunchdLabel checks the job's Label: reverse DNS where the module
// has a domain.
func TestLaunchdLabel(t *testing.T) {
	for _, tc := range []struct{ module, name, want string }{
		{"myservice", "myservice", "myservice"},
		{"example.com/acme/webd", "webd", "com.example.webd"},
		{"git.example.org/webd", "webd", "org.example.git.webd"},
	} {
		o := NewOptions(tc.name)
		o.Module = tc.module
		if got := (templateData{Options: o}).LaunchdLabel(); got != tc.want {
			t.Errorf("LaunchdLabel(module %q, name %q) = %q, want %q", tc.module, tc.name, got, tc.want)
		}
	}
}

// parsePlist decodes a property list whose root is a dict, with the value
// types a launchd job uses: string, integer, true, false, array and dict.
// It also fails on anything else in the file, such as text outside the
// elements or a broken comment.
func parsePlist(data []byte) (map[string]any, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("no <plist>: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "plist" {
				return nil, fmt.Errorf("root element <%s>, want <plist>", se.Name.Local)
			}
			break
		}
	}
	root, err := plistValue(d, nil)
	if err != nil {
		return nil, err
	}
	dict, ok := root.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("root is %T, want a dict", root)
	}
	if _, err := plistValue(d, nil); !errors.Is(err, errPlistEnd) {
		return nil, fmt.Errorf("after the root dict: %v, want </plist>", err)
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return dict, nil
		}
		if err != nil {
			return nil, err
		}
		if cd, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) > 0 {
			return nil, fmt.Errorf("%#v after </plist>", tok)
		}
	}
}

// errPlistEnd: the next token ended the enclosing element.
var errPlistEnd = errors.New("end of element")

// plistValue decodes the next value. start is its start element if the
// caller has read it already.
func plistValue(d *xml.Decoder, start *xml.StartElement) (any, error) {
	for start == nil {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			start = &tok
		case xml.EndElement:
			return nil, errPlistEnd
		case xml.CharData:
			if len(bytes.TrimSpace(tok)) > 0 {
				return nil, fmt.Errorf("stray text %q", tok)
			}
		}
	}
	switch start.Name.Local {
	case "string", "key":
		var s string
		err := d.DecodeElement(&s, start)
		return s, err
	case "integer":
		var s string
		if err := d.DecodeElement(&s, start); err != nil {
			return nil, err
		}
		return strconv.ParseInt(s, 10, 64)
	case "true", "false":
		return start.Name.Local == "true", d.Skip()
	case "array":
		var a []any
		for {
			v, err := plistValue(d, nil)
			if errors.Is(err, errPlistEnd) {
				return a, nil
			}
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case "dict":
		m := map[string]any{}
		for {
			k, err := plistValue(d, nil)
			if errors.Is(err, errPlistEnd) {
				return m, nil
			}
			key, ok := k.(string)
			if err != nil || !ok {
				return nil, fmt.Errorf("dict key: %v %#v", err, k)
			}
			if _, dup := m[key]; dup {
				return nil, fmt.Errorf("key %s twice", key)
			}
			if m[key], err = plistValue(d, nil); err != nil {
				return nil, fmt.Errorf("value of %s: %w", key, err)
			}
		}
	}
	return nil, fmt.Errorf("unexpected <%s>", start.Name.Local)
}

// TestRCScript checks each rendered rc.d script: sh -n accepts it,
// shellcheck (which .ci/run installs) finds nothing, and sh, given a stand-in
// for rc.subr that records what run_rc_command would run, sees the rc.subr
// names and runs the binary's own command with the pidfile, whatever
// characters its path holds.
func TestRCScript(t *testing.T) {
	for _, tc := range platformCases() {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			data := renderedFile(t, o, o.Name+".rc")
			dir := t.TempDir()
			script := filepath.Join(dir, o.Name)
			if err := os.WriteFile(script, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("sh", "-n", script).CombinedOutput(); err != nil {
				t.Errorf("sh -n: %v\n%s", err, out)
			}
			if _, err := exec.LookPath("shellcheck"); err == nil {
				// SC2016 is a literal $ in single quotes: ShellQuote's very
				// purpose, for a path like odd's.
				if out, err := exec.Command("shellcheck", "-e", "SC2016", script).CombinedOutput(); err != nil {
					t.Errorf("shellcheck: %v\n%s", err, out)
				}
			} else {
				t.Log("shellcheck is not installed (.ci/run installs it): sh -n only")
			}
			rc := templateData{Options: o}.RCName()
			for _, line := range []string{"# PROVIDE: " + rc, "\n. /etc/rc.subr\n", "\nrun_rc_command \"$1\"\n"} {
				if !bytes.Contains(data, []byte(line)) {
					t.Errorf("the script lacks %q", line)
				}
			}
			got := runRCScript(t, dir, data, "start")
			pidfile := templateData{Options: o}.RCPIDFile()
			want := strings.Join([]string{"name=" + rc, "rcvar=" + rc + "_enable", "enable=NO",
				"run start --pidfile=" + pidfile}, "\n") + "\n"
			if got != want {
				t.Errorf("the script, run with a stand-in rc.subr, said\n%s\nwant\n%s", got, want)
			}
			if !bytes.Contains(data, []byte("\nextra_commands=\"reload upgrade\"\n")) {
				t.Error("the script's extra_commands are not reload and upgrade")
			}
			got = runRCScript(t, dir, data, "upgrade")
			if want := "run upgrade --pidfile=" + pidfile + "\n"; !strings.HasSuffix(got, want) {
				t.Errorf("the script's upgrade, run with a stand-in rc.subr, said\n%s\nwant it to end in\n%s", got, want)
			}
		})
	}
}

// runRCScript runs the rc.d script data with arg and a stand-in for
// rc.subr, which reports rc.subr's variables and runs the command of arg
// (start_cmd for start) with the binary replaced by a function that prints its arguments.
func runRCScript(t *testing.T, dir string, data []byte, arg string) string {
	t.Helper()
	stub := filepath.Join(dir, "rc.subr")
	err := os.WriteFile(stub, []byte(`load_rc_config() { :; }
run_rc_command() {
	printf 'name=%s\nrcvar=%s\n' "$name" "$rcvar"
	eval "printf 'enable=%s\n' \"\${$rcvar}\""
	command=stand_in
	eval "eval \"\${${1}_cmd}\""
}
stand_in() { printf 'run %s %s\n' "$1" "$2"; }
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	patched := bytes.Replace(data, []byte("\n. /etc/rc.subr\n"), []byte("\n. "+stub+"\n"), 1)
	script := filepath.Join(dir, "patched")
	if err := os.WriteFile(script, patched, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", script, arg)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh %s %s: %v\n%s", script, arg, err, out)
	}
	return string(out)
}
