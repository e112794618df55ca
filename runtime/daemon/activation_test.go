//go:build unix

package daemon

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The activation tests re-run the test binary as the activated daemon,
// selecting TestActivationHelper with -test.run and its behaviour with these
// variables; the helper writes what it saw to the report file as JSON.
const (
	envHelperMode   = "GENDAEMON_TEST_ACTIVATION_MODE"
	envHelperReport = "GENDAEMON_TEST_ACTIVATION_REPORT"
)

// activationReport is what the helper process saw.
type activationReport struct {
	PID         int      // os.Getpid()
	ListenPID   string   // LISTEN_PID before ListenFDs
	Err         string   // ListenFDs error
	Names       []string // of the activated descriptors
	FDs         []int    // Activated.FDs()
	CloseOnExec []bool   // FD_CLOEXEC of FDs (or of fd 3 if none) after ListenFDs
	Env         []string // LISTEN_* entries of os.Environ() after ListenFDs
	Kinds       map[string]string
	Fifo        string // line read from the "fifo" descriptor
}

// TestActivationHelper is not a test: it is the daemon that TestListenFDs*
// start with descriptors at fd 3 and on. Run by go test, it returns at once.
func TestActivationHelper(t *testing.T) {
	mode := os.Getenv(envHelperMode)
	if mode == "" {
		return
	}
	r := activationReport{PID: os.Getpid(), ListenPID: os.Getenv("LISTEN_PID")}
	a, err := ListenFDs()
	if err != nil {
		r.Err = err.Error()
	}
	for _, l := range a {
		r.Names = append(r.Names, l.Name)
	}
	r.FDs = a.FDs()
	checked := r.FDs
	if len(checked) == 0 {
		checked = []int{ListenFDsStart}
	}
	for _, fd := range checked {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			t.Fatalf("fcntl(%d, F_GETFD): %v", fd, err)
		}
		r.CloseOnExec = append(r.CloseOnExec, flags&unix.FD_CLOEXEC != 0)
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LISTEN_") {
			r.Env = append(r.Env, kv)
		}
	}
	if mode == "serve" {
		r.Kinds, r.Fifo = serveActivated(t, a)
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv(envHelperReport), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// serveActivated answers one connection on the "web" listener and one
// datagram on the "dns" socket with the process's pid, and reads a line from
// the "fifo" file, finding each by name and converting it as a service
// would. It returns the kind each name turned into and the line.
func serveActivated(t *testing.T, a Activated) (map[string]string, string) {
	kinds := make(map[string]string)
	web, dns, fifo := a.Named("web"), a.Named("dns"), a.Named("fifo")
	if len(web) != 1 || len(dns) != 1 || len(fifo) != 1 {
		return kinds, "" // the test reports the missing names
	}
	greeting := []byte("pid " + strconv.Itoa(os.Getpid()) + "\n")

	ln, err := net.FileListener(web[0])
	if err != nil {
		t.Fatalf("web: %v", err)
	}
	kinds["web"] = "listener "
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept on web: %v", err)
	}
	if _, err := conn.Write(greeting); err != nil {
		t.Fatalf("write to web connection: %v", err)
	}
	conn.Close()
	ln.Close()

	pc, err := net.FilePacketConn(dns[0])
	if err != nil {
		t.Fatalf("dns: %v", err)
	}
	kinds["dns"] = "packet "
	buf := make([]byte, 512)
	_, from, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("read from dns: %v", err)
	}
	if _, err := pc.WriteTo(greeting, from); err != nil {
		t.Fatalf("write to dns peer: %v", err)
	}
	pc.Close()

	kinds["fifo"] = "file "
	line, err := bufio.NewReader(fifo[0]).ReadString('\n')
	if err != nil {
		t.Fatalf("read from fifo: %v", err)
	}
	fifo[0].Close()
	return kinds, strings.TrimSuffix(line, "\n")
}

// helperCommand returns a command that runs TestActivationHelper in mode,
// through argv: exec'd by /bin/sh -c script with the test binary as $0 and
// the test flags as "$@", so that the script can use its own pid, $$, which
// the exec'd helper keeps.
func helperCommand(t *testing.T, script, mode string, extraEnv ...string) (*exec.Cmd, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command("/bin/sh", "-c", script, exe, "-test.run=^TestActivationHelper$", "-test.count=1")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LISTEN_") && !strings.HasPrefix(kv, "GENDAEMON_TEST_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, envHelperMode+"="+mode, envHelperReport+"="+report)
	cmd.Env = append(cmd.Env, extraEnv...)
	return cmd, report
}

// child is a process a test started and must end.
type child struct {
	cmd  *exec.Cmd
	out  bytes.Buffer // its standard output and error, readable once done
	done chan struct{}
	err  error // of Wait, once done is closed
}

// startChild starts cmd and makes sure it ends with the test: if the test
// has not reaped it by then, a cleanup kills it by pid and waits for it, for
// at most ten seconds.
func startChild(t *testing.T, cmd *exec.Cmd) *child {
	t.Helper()
	c := &child{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = &c.out
	cmd.Stderr = &c.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
			return
		default:
		}
		if err := unix.Kill(cmd.Process.Pid, unix.SIGKILL); err != nil {
			t.Errorf("kill child %d: %v", cmd.Process.Pid, err)
		}
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			t.Errorf("child %d still not reaped 10s after SIGKILL", cmd.Process.Pid)
		}
	})
	return c
}

// wait waits, for at most thirty seconds, for the child to exit with status 0.
func (c *child) wait(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("child %d still running after 30s", c.cmd.Process.Pid)
	}
	if c.err != nil {
		t.Fatalf("child %d: %v; output:\n%s", c.cmd.Process.Pid, c.err, c.out.String())
	}
}

func readReport(t *testing.T, path string) activationReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read helper report: %v", err)
	}
	var r activationReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("decode helper report %s: %v", data, err)
	}
	return r
}

// fileOf returns a duplicate of the descriptor behind v, for ExtraFiles.
func fileOf(t *testing.T, v interface{ File() (*os.File, error) }) *os.File {
	t.Helper()
	f, err := v.File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestListenFDsFromServiceManager(t *testing.T) {
	tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()

	// As systemd does: LISTEN_PID is the pid of the process that gets the
	// descriptors, which only that process knows, so the shell exports its
	// own pid and execs the helper in its place.
	cmd, report := helperCommand(t, `LISTEN_PID=$$ exec "$0" "$@"`, "serve",
		"LISTEN_FDS=3", "LISTEN_FDNAMES=web:dns:fifo")
	cmd.ExtraFiles = []*os.File{fileOf(t, tcp), fileOf(t, udp), pr}
	c := startChild(t, cmd)
	pid := cmd.Process.Pid
	wantGreeting := "pid " + strconv.Itoa(pid) + "\n"

	conn, err := net.DialTimeout("tcp", tcp.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatalf("dial web: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != wantGreeting {
		t.Errorf("web answered %q, %v; want %q", got, err, wantGreeting)
	}

	dconn, err := net.Dial("udp", udp.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer dconn.Close()
	dconn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := dconn.Write([]byte("ping")); err != nil {
		t.Fatalf("write to dns: %v", err)
	}
	buf := make([]byte, 512)
	n, err := dconn.Read(buf)
	if err != nil || string(buf[:n]) != wantGreeting {
		t.Errorf("dns answered %q, %v; want %q", buf[:n], err, wantGreeting)
	}

	if _, err := pw.WriteString("through the fifo\n"); err != nil {
		t.Fatalf("write to fifo: %v", err)
	}
	pw.Close()

	c.wait(t)
	r := readReport(t, report)
	want := activationReport{
		PID:         pid,
		ListenPID:   strconv.Itoa(pid),
		Names:       []string{"web", "dns", "fifo"},
		FDs:         []int{3, 4, 5},
		CloseOnExec: []bool{true, true, true},
		Kinds:       map[string]string{"web": "listener ", "dns": "packet ", "fifo": "file "},
		Fifo:        "through the fifo",
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("activated daemon saw\n%+v\nwant\n%+v", r, want)
	}
}

func TestListenFDsIgnoresOtherPID(t *testing.T) {
	tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()

	// LISTEN_PID names this test process, not the helper: the descriptors
	// were meant for someone else, and the helper must leave fd 3 alone.
	cmd, report := helperCommand(t, `exec "$0" "$@"`, "ignore",
		"LISTEN_PID="+strconv.Itoa(os.Getpid()), "LISTEN_FDS=1", "LISTEN_FDNAMES=web")
	cmd.ExtraFiles = []*os.File{fileOf(t, tcp)}
	c := startChild(t, cmd)
	c.wait(t)

	r := readReport(t, report)
	want := activationReport{
		PID:         cmd.Process.Pid,
		ListenPID:   strconv.Itoa(os.Getpid()),
		FDs:         []int{},
		CloseOnExec: []bool{false},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("daemon with another's LISTEN_PID saw\n%+v\nwant\n%+v", r, want)
	}
}

func TestListenFDsClosedDescriptor(t *testing.T) {
	tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()

	// One descriptor passed, a thousand announced: ListenFDs must fail on the
	// first one that is not open, before it wraps any in an *os.File.
	cmd, report := helperCommand(t, `LISTEN_PID=$$ exec "$0" "$@"`, "closed", "LISTEN_FDS=1000")
	cmd.ExtraFiles = []*os.File{fileOf(t, tcp)}
	c := startChild(t, cmd)
	c.wait(t)

	r := readReport(t, report)
	if !strings.Contains(r.Err, "LISTEN_FDS=1000: descriptor") || !strings.Contains(r.Err, unix.EBADF.Error()) ||
		len(r.FDs) != 0 || len(r.Env) != 0 {
		t.Errorf("daemon with too few descriptors saw %+v, want a bad-descriptor error, no descriptors and no LISTEN_*", r)
	}
}

func TestListenFDsUnsetsEnv(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	tests := []struct {
		name    string
		env     map[string]string
		wantErr bool
	}{
		{"another pid", map[string]string{"LISTEN_PID": strconv.Itoa(os.Getppid()), "LISTEN_FDS": "1", "LISTEN_FDNAMES": "web"}, false},
		{"malformed count", map[string]string{"LISTEN_PID": self, "LISTEN_FDS": "two", "LISTEN_FDNAMES": "web"}, true},
		{"names mismatch", map[string]string{"LISTEN_PID": self, "LISTEN_FDS": "2", "LISTEN_FDNAMES": "web"}, true},
		{"zero", map[string]string{"LISTEN_PID": self, "LISTEN_FDS": "0"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			a, err := ListenFDs()
			if a != nil || (err != nil) != tt.wantErr {
				t.Errorf("ListenFDs() with %v = (%v, %v), want (nil, error: %v)", tt.env, a, err, tt.wantErr)
			}
			for _, k := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
				if v, ok := os.LookupEnv(k); ok {
					t.Errorf("after ListenFDs, %s=%q is still set", k, v)
				}
			}
		})
	}
}

func TestParseListenEnv(t *testing.T) {
	const pid = 4242
	tests := []struct {
		name      string
		env       map[string]string
		wantN     int
		wantNames []string
		wantErr   string // substring; "" means no error
	}{
		{"not activated", nil, 0, nil, ""},
		{"another pid", map[string]string{"LISTEN_PID": "4243", "LISTEN_FDS": "1"}, 0, nil, ""},
		{"no LISTEN_FDS", map[string]string{"LISTEN_PID": "4242"}, 0, nil, ""},
		{"zero", map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "0"}, 0, nil, ""},
		{"unnamed", map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "2"}, 2, []string{"unknown", "unknown"}, ""},
		{"named", map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "3", "LISTEN_FDNAMES": "web:web:dns"}, 3, []string{"web", "web", "dns"}, ""},
		{"empty name", map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "2", "LISTEN_FDNAMES": ":dns"}, 2, []string{"unknown", "dns"}, ""},
		{"malformed pid", map[string]string{"LISTEN_PID": "me", "LISTEN_FDS": "1"}, 0, nil, `LISTEN_PID="me": not a pid`},
		{"malformed count", map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "-1"}, 0, nil, `LISTEN_FDS="-1"`},
		{"too many", map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "2147483647"}, 0, nil, `LISTEN_FDS="2147483647"`},
		{"too few names", map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "web"}, 0, nil, "1 names for LISTEN_FDS=2"},
		{"too many names", map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "a:b"}, 0, nil, "2 names for LISTEN_FDS=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, names, err := parseListenEnv(func(k string) string { return tt.env[k] }, pid)
			errOK := (tt.wantErr == "" && err == nil) || (tt.wantErr != "" && err != nil && strings.Contains(err.Error(), tt.wantErr))
			if n != tt.wantN || !reflect.DeepEqual(names, tt.wantNames) || !errOK {
				t.Errorf("parseListenEnv(%v) = (%d, %q, %v), want (%d, %q, %q)", tt.env, n, names, err, tt.wantN, tt.wantNames, tt.wantErr)
			}
		})
	}
}
