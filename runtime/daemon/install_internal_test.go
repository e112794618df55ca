//go:build linux

package daemon

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/sys/unix"
)

// The install plans of every service manager run here, on Linux: in a
// temporary root directory, with a cmdRecorder in place of the commands, and
// with the service definitions that the generator wrote into the golden
// projects.

// A cmdRecorder stands in for the commands a plan runs: it records them, and
// fails those in failing, such as the probe of a daemon that does not run.
type cmdRecorder struct {
	cmds    []string
	failing map[string]bool
}

func (r *cmdRecorder) run(out io.Writer, argv []string) error {
	cmd := strings.Join(argv, " ")
	r.cmds = append(r.cmds, cmd)
	if r.failing[cmd] {
		return errors.New(cmd + ": exit status 1")
	}
	return nil
}

// take returns the commands recorded since the last call.
func (r *cmdRecorder) take() []string {
	cmds := r.cmds
	r.cmds = nil
	return cmds
}

// goldenFiles returns the service definitions of the golden project
// golden/<project>, by file name.
func goldenFiles(t *testing.T, project string, files ...string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("..", "..", "golden", project, f))
		if err != nil {
			t.Fatal(err)
		}
		fsys[f] = &fstest.MapFile{Data: data}
	}
	return fsys
}

// A planTest is a plan made in a temporary root directory, with a build of
// the daemon's program (a file holding programMarker) and a cmdRecorder.
type planTest struct {
	t    *testing.T
	root string
	rec  *cmdRecorder
	cfg  Config
	make func(Config, installOptions, string) (*servicePlan, error)
	self string
}

func newPlanTest(t *testing.T, name string, files fstest.MapFS, make func(Config, installOptions, string) (*servicePlan, error), dirs ...string) *planTest {
	t.Helper()
	pt := &planTest{t: t, root: t.TempDir(), rec: &cmdRecorder{failing: map[string]bool{}}, make: make,
		cfg: Config{Name: name, ServiceFiles: files}}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(pt.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pt.self = filepath.Join(t.TempDir(), name)
	pt.build("1")
	return pt
}

// build writes a new build of the daemon's program, number n.
func (pt *planTest) build(n string) {
	pt.t.Helper()
	data := append(programMarker(pt.cfg.Name), "build "+n...)
	if err := os.WriteFile(pt.self, data, 0o755); err != nil {
		pt.t.Fatal(err)
	}
}

// plan returns the plan for opts, running its commands through the cmdRecorder.
func (pt *planTest) plan(opts installOptions) (*servicePlan, error) {
	pl, err := pt.make(pt.cfg, opts, pt.root)
	if err == nil {
		pl.self, pl.run = pt.self, pt.rec.run
	}
	return pl, err
}

func (pt *planTest) install(opts installOptions) error {
	pl, err := pt.plan(opts)
	if err != nil {
		return err
	}
	return pl.installFiles(opts.now, io.Discard)
}

func (pt *planTest) uninstall() error {
	pl, err := pt.plan(installOptions{})
	if err != nil {
		return err
	}
	return pl.uninstallFiles(io.Discard)
}

// wantCmds checks the commands run since the last check.
func (pt *planTest) wantCmds(what string, want ...string) {
	pt.t.Helper()
	if got := pt.rec.take(); !slices.Equal(got, want) {
		pt.t.Errorf("%s ran %q, want %q", what, got, want)
	}
}

// wantFile checks the mode and content of the file at path (in the root).
func (pt *planTest) wantFile(path string, mode fs.FileMode, data []byte) {
	pt.t.Helper()
	fi, err := os.Lstat(filepath.Join(pt.root, path))
	if err != nil {
		pt.t.Error(err)
		return
	}
	got, _ := os.ReadFile(filepath.Join(pt.root, path))
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != mode || !bytes.Equal(got, data) {
		pt.t.Errorf("%s: %v, %d bytes; want a regular file, %v, the %d bytes of the definition", path, fi.Mode(), len(got), mode, len(data))
	}
}

// wantGone checks that nothing is at path (in the root).
func (pt *planTest) wantGone(path string) {
	pt.t.Helper()
	if _, err := os.Lstat(filepath.Join(pt.root, path)); !errors.Is(err, fs.ErrNotExist) {
		pt.t.Errorf("%s is still there (%v)", path, err)
	}
}

func (pt *planTest) selfData() []byte {
	data, err := os.ReadFile(pt.self)
	if err != nil {
		pt.t.Fatal(err)
	}
	return data
}

// TestInstallLaunchd installs, upgrades and uninstalls allopts's launchd
// job: the plist in /Library/LaunchDaemons named after its label, mode
// 0644, bootstrapped into the system domain; a job that runs is booted out
// and bootstrapped again only when install changed it; --now kickstarts it.
func TestInstallLaunchd(t *testing.T) {
	files := goldenFiles(t, "allopts", "allopts.plist")
	pt := newPlanTest(t, "allopts", files, launchdPlan, "Library/LaunchDaemons", "usr/local/bin")
	const plist, probe = "/Library/LaunchDaemons/com.example.allopts.plist", "launchctl print system/com.example.allopts"

	pt.rec.failing[probe] = true // not loaded
	if err := pt.install(installOptions{}); err != nil {
		t.Fatal(err)
	}
	pt.wantCmds("install", probe, "launchctl bootstrap system "+plist)
	pt.wantFile(plist, 0o644, files["allopts.plist"].Data)
	pt.wantFile("/usr/local/bin/allopts", 0o755, pt.selfData())

	pt.rec.failing[probe] = false // loaded
	if err := pt.install(installOptions{now: true}); err != nil {
		t.Fatal(err)
	}
	pt.wantCmds("install --now of the same build", probe, "launchctl kickstart system/com.example.allopts")

	pt.build("2")
	if err := pt.install(installOptions{now: true}); err != nil {
		t.Fatal(err)
	}
	pt.wantCmds("install --now of a new build", probe, "launchctl bootout system/com.example.allopts",
		"launchctl bootstrap system "+plist, "launchctl kickstart system/com.example.allopts")
	pt.wantFile("/usr/local/bin/allopts", 0o755, pt.selfData())

	if err := pt.uninstall(); err != nil {
		t.Fatal(err)
	}
	pt.wantCmds("uninstall", probe, "launchctl bootout system/com.example.allopts")
	pt.wantGone(plist)
	pt.wantGone("/usr/local/bin/allopts")
}

// TestInstallRCD installs, upgrades and uninstalls myservice's rc.d
// script: /usr/local/etc/rc.d/myservice, mode 0555, in directories it
// creates, enabled with sysrc; --now starts it, or restarts it on a new
// build; uninstall stops it and removes myservice_enable.
func TestInstallRCD(t *testing.T) {
	files := goldenFiles(t, "defaults", "myservice.rc")
	pt := newPlanTest(t, "myservice", files, rcdPlan, "etc", "usr/local/bin")
	if err := os.WriteFile(filepath.Join(pt.root, "etc/rc.subr"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const script, probe = "/usr/local/etc/rc.d/myservice", "service myservice onestatus"

	pt.rec.failing[probe] = true // stopped
	if err := pt.install(installOptions{now: true}); err != nil {
		t.Fatal(err)
	}
	pt.wantCmds("install --now", probe, "sysrc myservice_enable=YES", "service myservice start")
	pt.wantFile(script, 0o555, files["myservice.rc"].Data)
	for _, dir := range []string{"/usr/local/etc", "/usr/local/etc/rc.d"} {
		if fi, err := os.Stat(filepath.Join(pt.root, dir)); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v (%v), want a directory, mode 0755", dir, fi.Mode(), err)
		}
	}

	pt.rec.failing[probe] = false // running
	pt.build("2")
	if err := pt.install(installOptions{now: true}); err != nil {
		t.Fatal(err)
	}
	pt.wantCmds("install --now of a new build", probe, "sysrc myservice_enable=YES", "service myservice restart")

	pt.rec.failing["sysrc -x myservice_enable"] = true
	if err := pt.uninstall(); err != nil {
		t.Fatal(err)
	}
	pt.wantCmds("uninstall", probe, "service myservice onestop", "sysrc -x myservice_enable")
	pt.wantGone(script)
	pt.wantGone("/usr/local/bin/myservice")
}

// TestInstallRefuses runs install where it must not write: over what is
// not the daemon's, through a symbolic link, into a directory another user
// may change, or with no service manager. It checks that install fails,
// runs no command and leaves the files as they were.
func TestInstallRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, root string)
		want    string
	}{
		{"a different program at the binary's path", func(t *testing.T, root string) {
			writeTestFile(t, filepath.Join(root, "usr/local/bin/myservice"), "#!/bin/sh\n")
		}, "a different program is installed at /usr/local/bin/myservice"},
		{"a different script of the daemon's name", func(t *testing.T, root string) {
			writeTestFile(t, filepath.Join(root, "usr/local/etc/rc.d/myservice"), "#!/bin/sh\n")
		}, "a different definition of myservice exists at /usr/local/etc/rc.d/myservice"},
		{"a symbolic link at the script's path", func(t *testing.T, root string) {
			mkdirTest(t, filepath.Join(root, "usr/local/etc/rc.d"))
			symlinkTest(t, filepath.Join(root, "elsewhere"), filepath.Join(root, "usr/local/etc/rc.d/myservice"))
		}, "/usr/local/etc/rc.d/myservice is not a regular file"},
		{"a symbolic link for a directory to create", func(t *testing.T, root string) {
			mkdirTest(t, filepath.Join(root, "elsewhere"))
			symlinkTest(t, filepath.Join(root, "elsewhere"), filepath.Join(root, "usr/local/etc"))
		}, "open /usr/local/etc: not a directory, or a symbolic link"},
		{"a directory every user may write to", func(t *testing.T, root string) {
			if err := os.Chmod(filepath.Join(root, "usr/local/bin"), 0o777); err != nil {
				t.Fatal(err)
			}
		}, "/usr/local/bin is writable by every user"},
		{"a base system script of the daemon's name", func(t *testing.T, root string) {
			writeTestFile(t, filepath.Join(root, "etc/rc.d/myservice"), "#!/bin/sh\n")
		}, "which the one install writes would shadow"},
		{"no rc.subr", func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "etc/rc.subr")); err != nil {
				t.Fatal(err)
			}
		}, "rc.d's /etc/rc.subr is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := newPlanTest(t, "myservice", goldenFiles(t, "defaults", "myservice.rc"), rcdPlan, "etc", "usr/local/bin")
			writeTestFile(t, filepath.Join(pt.root, "etc/rc.subr"), "")
			tc.prepare(t, pt.root)
			before := treeOf(t, pt.root)
			err := pt.install(installOptions{now: true})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("install: %v, want an error saying %q", err, tc.want)
			}
			pt.wantCmds("a refused install")
			if after := treeOf(t, pt.root); !slices.Equal(after, before) {
				t.Errorf("a refused install changed the files:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

// TestInstallBinaryOverLink: a symbolic link at the binary's path is
// replaced by the binary, and what it points to is left alone.
func TestInstallBinaryOverLink(t *testing.T) {
	pt := newPlanTest(t, "myservice", goldenFiles(t, "defaults", "myservice.rc"), rcdPlan, "etc", "usr/local/bin")
	writeTestFile(t, filepath.Join(pt.root, "etc/rc.subr"), "")
	target := filepath.Join(pt.root, "target")
	writeTestFile(t, target, "the link's target\n")
	symlinkTest(t, target, filepath.Join(pt.root, "usr/local/bin/myservice"))
	if err := pt.install(installOptions{}); err != nil {
		t.Fatal(err)
	}
	pt.wantFile("/usr/local/bin/myservice", 0o755, pt.selfData())
	if got, _ := os.ReadFile(target); string(got) != "the link's target\n" {
		t.Errorf("install wrote through the link: its target holds %q", got)
	}
}

// TestUninstallLeavesStranger: uninstall stops the daemon and removes its
// script, but leaves a different program put at the binary's path since
// install, and says so.
func TestUninstallLeavesStranger(t *testing.T) {
	pt := newPlanTest(t, "myservice", goldenFiles(t, "defaults", "myservice.rc"), rcdPlan, "etc", "usr/local/bin")
	writeTestFile(t, filepath.Join(pt.root, "etc/rc.subr"), "")
	if err := pt.install(installOptions{}); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(pt.root, "usr/local/bin/myservice"), "#!/bin/sh\n")
	pt.rec.take()
	pl, err := pt.plan(installOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := pl.uninstallFiles(&out); err != nil {
		t.Fatal(err)
	}
	pt.wantCmds("uninstall", "service myservice onestatus", "service myservice onestop", "sysrc -x myservice_enable")
	pt.wantGone("/usr/local/etc/rc.d/myservice")
	if got, _ := os.ReadFile(filepath.Join(pt.root, "usr/local/bin/myservice")); string(got) != "#!/bin/sh\n" {
		t.Errorf("uninstall removed or changed a different program at the binary's path: %q", got)
	}
	if want := "left /usr/local/bin/myservice: it is not a build of myservice\n"; !strings.Contains(out.String(), want) {
		t.Errorf("uninstall said %q, want %q", out.String(), want)
	}
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	mkdirTest(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdirTest(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlinkTest(t *testing.T, target, link string) {
	t.Helper()
	mkdirTest(t, filepath.Dir(link))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// treeOf lists every path under root with its mode and size.
func treeOf(t *testing.T, root string) []string {
	t.Helper()
	var tree []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		tree = append(tree, strings.TrimPrefix(path, root)+" "+fi.Mode().String()+" "+strconv.FormatInt(fi.Size(), 10))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// TestUserUnit adapts unitopts's unit, which sets a user, capabilities and
// the whole sandbox, and webd's socket, for a user's service manager.
func TestUserUnit(t *testing.T) {
	units := goldenFiles(t, "unitopts", "unitopts.service")
	got := string(userUnit(units["unitopts.service"].Data, "/usr/local/bin/unitopts", "/home/u/.local/bin/unitopts"))
	if !unitOurs([]byte(got), "unitopts.service") {
		t.Errorf("the user's unit does not start as gendaemon's units do:\n%s", got)
	}
	lines := strings.Split(got, "\n")
	for _, dropped := range []string{"User=", "AmbientCapabilities=", "ProtectProc=", "ProcSubset=", "ProtectControlGroups=", "ProtectKernelLogs="} {
		if i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, dropped) }); i >= 0 {
			t.Errorf("the user's unit keeps %q", lines[i])
		}
	}
	for _, want := range []string{
		"ExecStart=/home/u/.local/bin/unitopts run --pidfile=",
		"ExecReload=/home/u/.local/bin/unitopts reload --pid $MAINPID",
		"ProtectHome=read-only",
		"WantedBy=default.target",
		"PrivateUsers=yes",
		"ProtectSystem=strict",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
		"# User=daemon: left out by install --user: a user's service manager runs its services as that user",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("the user's unit lacks the line %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "\nPrivateUsers=") != 1 || strings.Index(got, "\nPrivateUsers=yes") > strings.Index(got, "\nPrivateNetwork=") {
		t.Errorf("want one PrivateUsers=yes, before the first setting that needs namespaces:\n%s", got)
	}

	allopts := goldenFiles(t, "allopts", "allopts.service")["allopts.service"].Data
	got = string(userUnit(allopts, "/usr/local/bin/allopts", "/home/u/.local/bin/allopts"))
	for _, want := range []string{"WorkingDirectory=-/var/lib/allopts", "ReadWritePaths=-/var/lib/allopts", "# Group=daemon: left out by install --user: a user's service manager runs its services as that user"} {
		if !strings.Contains(got, "\n"+want+"\n") {
			t.Errorf("the user's unit of allopts lacks the line %q:\n%s", want, got)
		}
	}

	socket := goldenFiles(t, "listen", "webd.socket")["webd.socket"].Data
	got = string(userUnit(socket, "/usr/local/bin/webd", "/home/u/.local/bin/webd"))
	for _, want := range []string{"ListenStream=%t/webd.sock", "ListenStream=8080", "WantedBy=sockets.target"} {
		if !strings.Contains(got, "\n"+want+"\n") {
			t.Errorf("the user's socket lacks the line %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "PrivateUsers") {
		t.Errorf("the user's socket got PrivateUsers=:\n%s", got)
	}
}

// TestUserUnitVerify runs systemd-analyze --user verify on the user's
// units adapted from those of every golden project: systemd 252 reads
// them without a word.
func TestUserUnitVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing; .ci/run installs Debian's systemd package")
		}
		t.Skip("systemd-analyze not installed (Debian package systemd)")
	}
	dir, bin := t.TempDir(), t.TempDir()
	var units []string
	for project, name := range map[string]string{"defaults": "myservice", "allopts": "allopts", "unitopts": "unitopts", "listen": "webd"} {
		files := []string{name + ".service"}
		if project == "listen" {
			files = append(files, name+".socket")
		}
		for file, f := range goldenFiles(t, project, files...) {
			p := filepath.Join(dir, file)
			writeTestFile(t, p, string(userUnit(f.Data, "/usr/local/bin/"+name, filepath.Join(bin, name))))
			units = append(units, p)
		}
		writeTestFile(t, filepath.Join(bin, name), "#!/bin/sh\n")
		if err := os.Chmod(filepath.Join(bin, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runtimeDir := t.TempDir()
	cmd := exec.Command(analyze, append([]string{"--user", "--man=no", "verify"}, units...)...)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtimeDir)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze --user verify: %v\n%s", err, out)
	}
}

// userTest makes a home and a runtime directory with a user manager's
// private socket, as a logged-in user has.
func userTest(t *testing.T) (home, runtimeDir string) {
	t.Helper()
	home, runtimeDir = filepath.Join(t.TempDir(), "home"), t.TempDir()
	mkdirTest(t, home)
	mkdirTest(t, filepath.Join(runtimeDir, "systemd"))
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: filepath.Join(runtimeDir, "systemd/private")}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_RUNTIME_DIR", runtimeDir)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("XDG_DATA_HOME", "")
	return home, runtimeDir
}

// TestInstallUser installs myservice for a user: the binary in
// ~/.local/bin, the unit, adapted, in ~/.config/systemd/user, in
// directories it creates, managed with systemctl --user.
func TestInstallUser(t *testing.T) {
	home, _ := userTest(t)
	files := goldenFiles(t, "defaults", "myservice.service")
	pt := newPlanTest(t, "myservice", files, systemdPlan)
	pt.root = ""
	const probe = "systemctl --user is-active --quiet myservice.service"
	pt.rec.failing[probe] = true
	if err := pt.install(installOptions{user: true, now: true}); err != nil {
		t.Fatal(err)
	}
	pt.wantCmds("install --user --now", probe, "systemctl --user daemon-reload", "systemctl --user enable myservice.service", "systemctl --user start myservice.service")
	bin := filepath.Join(home, ".local/bin/myservice")
	pt.wantFile(bin, 0o755, pt.selfData())
	unit := filepath.Join(home, ".config/systemd/user/myservice.service")
	pt.wantFile(unit, 0o644, userUnit(files["myservice.service"].Data, "/usr/local/bin/myservice", bin))
	if data, _ := os.ReadFile(unit); !bytes.Contains(data, []byte("\nExecStart="+bin+" run --pidfile=\n")) {
		t.Errorf("the user's unit does not run %s:\n%s", bin, data)
	}
	for _, dir := range []string{".local", ".local/bin", ".config", ".config/systemd", ".config/systemd/user"} {
		if fi, err := os.Lstat(filepath.Join(home, dir)); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
			t.Errorf("~/%s: %v (%v), want a directory, mode 0755", dir, fi.Mode(), err)
		}
	}

	pt.rec.failing[probe] = false
	pl, err := pt.plan(installOptions{user: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.uninstallFiles(io.Discard); err != nil {
		t.Fatal(err)
	}
	pt.wantCmds("uninstall --user", probe, "systemctl --user disable --now myservice.service", "systemctl --user daemon-reload")
	pt.wantGone(unit)
	pt.wantGone(bin)
}

// TestInstallUserConfigHome: with XDG_CONFIG_HOME set, install --user puts
// the unit there.
func TestInstallUserConfigHome(t *testing.T) {
	userTest(t)
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	pt := newPlanTest(t, "myservice", goldenFiles(t, "defaults", "myservice.service"), systemdPlan)
	pt.root = ""
	if err := pt.install(installOptions{user: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(config, "systemd/user/myservice.service")); err != nil {
		t.Errorf("the unit is not in $XDG_CONFIG_HOME/systemd/user: %v", err)
	}
}

// TestInstallUserRefuses: install --user refuses, with errNoServiceManager
// (exit 4), when the user has no service manager, and refuses to write
// through a symbolic link in the home.
func TestInstallUserRefuses(t *testing.T) {
	files := goldenFiles(t, "defaults", "myservice.service")
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, home, runtimeDir string)
		want    error
		says    string
	}{
		{"no XDG_RUNTIME_DIR", func(t *testing.T, home, runtimeDir string) {
			t.Setenv("XDG_RUNTIME_DIR", "")
		}, errNoServiceManager, "XDG_RUNTIME_DIR is not set"},
		{"no user manager", func(t *testing.T, home, runtimeDir string) {
			if err := os.Remove(filepath.Join(runtimeDir, "systemd/private")); err != nil {
				t.Fatal(err)
			}
		}, errNoServiceManager, "systemd/private is not there"},
		{"~/.config a symbolic link", func(t *testing.T, home, runtimeDir string) {
			mkdirTest(t, filepath.Join(home, "dotfiles"))
			symlinkTest(t, filepath.Join(home, "dotfiles"), filepath.Join(home, ".config"))
		}, nil, "/.config: not a directory, or a symbolic link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home, runtimeDir := userTest(t)
			tc.prepare(t, home, runtimeDir)
			pt := newPlanTest(t, "myservice", files, systemdPlan)
			pt.root = ""
			before := treeOf(t, home)
			err := pt.install(installOptions{user: true})
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("install --user: %v, want an error (%v) saying %q", err, tc.want, tc.says)
			}
			pt.wantCmds("a refused install --user")
			if after := treeOf(t, home); !slices.Equal(after, before) {
				t.Errorf("a refused install changed the home:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}
