//go:build linux

// Command handover measures the upgrade of a generated HTTP daemon (the test
// service of cmd/gendaemon/testdata/httpd): how long the handover lasts,
// from the new process ready to the old one no longer accepting, and how
// long the `upgrade` command takes.
//
// It starts the daemon, then upgrades it -runs times (after one warm-up
// upgrade) to the binary at its path, which is the same one each time:
// what is timed does not depend on what the binary is. For each upgrade it
// reads, from the daemon's log, the CLOCK_MONOTONIC stamps that the service
// logs at the end of the new daemon's Init ("ready") and when the old
// one's Serve has closed its listener ("stopped accepting"):
//
//	handover   new daemon ready → old daemon stopped accepting
//	upgrade    launch of `DAEMON upgrade` → its exit
//	drain      old daemon stopped accepting → drained (its Serve returns)
//
// With -load, bench/cmd/httpload runs against the daemon throughout, and
// its counts are reported: no request may fail.
//
// usage: handover -daemon BIN -pidfile PATH -log PATH [-runs 30] [-load HTTPLOAD]
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gendaemon/gendaemon/bench/internal/pidfd"
	"github.com/gendaemon/gendaemon/bench/internal/stats"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "handover: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	daemon, pidfile, log, load string
	runs                       int
	timeout                    time.Duration
}

// sample is one upgrade, in milliseconds.
type sample struct {
	handover, upgrade, drain float64
}

func run(args []string, w io.Writer) error {
	var o options
	fs := flag.NewFlagSet("handover", flag.ContinueOnError)
	fs.StringVar(&o.daemon, "daemon", "", "the generated daemon `binary`, built with the test service")
	fs.StringVar(&o.pidfile, "pidfile", "", "the `path` of its pidfile")
	fs.StringVar(&o.log, "log", "", "the `path` of its log file (gendaemon new --log-file)")
	fs.StringVar(&o.load, "load", "", "bench/cmd/httpload's `binary`, to upgrade under load")
	fs.IntVar(&o.runs, "runs", 30, "upgrades timed, after one warm-up")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Second, "deadline of each command and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.daemon == "" || o.pidfile == "" || o.log == "" || o.runs < 1 {
		return errors.New("-daemon, -pidfile and -log are required, and -runs at least 1")
	}
	addrFile := filepath.Join(filepath.Dir(o.pidfile), "handover.addr")
	if _, err := command(o, "start", "--pidfile", o.pidfile, "--addr-file", addrFile); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer command(o, "stop", "--pidfile", o.pidfile)
	addr, err := os.ReadFile(addrFile)
	if err != nil {
		return err
	}
	var load *loadClient
	if o.load != "" {
		if load, err = startLoad(o.load, "http://"+strings.TrimSpace(string(addr))+"/"); err != nil {
			return err
		}
		defer load.end()
	}
	var samples []sample
	for i := 0; i <= o.runs; i++ { // upgrade 0 warms up
		s, err := upgrade(o)
		if err != nil {
			return fmt.Errorf("upgrade %d: %w", i, err)
		}
		if i > 0 {
			samples = append(samples, s)
		}
	}
	report(w, o, samples)
	if load != nil {
		return load.report(w)
	}
	return nil
}

// upgrade upgrades the daemon once and times it.
func upgrade(o options) (sample, error) {
	logged, err := os.Stat(o.log)
	if err != nil {
		return sample{}, err
	}
	began := time.Now()
	out, err := command(o, "upgrade", "--pidfile", o.pidfile)
	took := time.Since(began)
	if err != nil {
		return sample{}, err
	}
	m := regexp.MustCompile(`upgraded \(pid (\d+), replacing pid (\d+)\)`).FindStringSubmatch(out)
	if m == nil {
		return sample{}, fmt.Errorf("upgrade said %q", out)
	}
	old, _ := strconv.Atoi(m[2])
	if err := waitExit(old, o.timeout); err != nil { // then its last lines are logged
		return sample{}, err
	}
	stamps, err := readStamps(o.log, logged.Size())
	if err != nil {
		return sample{}, err
	}
	ready, stopped, drained := stamps["ready "+m[1]], stamps["stopped accepting "+m[2]], stamps["drained "+m[2]]
	if ready == 0 || stopped == 0 || drained == 0 {
		return sample{}, fmt.Errorf("the log lacks the new daemon's ready (pid %s) or the old one's stopped accepting or drained (pid %s): %v", m[1], m[2], stamps)
	}
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return sample{handover: ms(stopped - ready), upgrade: ms(int64(took)), drain: ms(drained - stopped)}, nil
}

// readStamps returns the monotonic stamps logged from offset on, by "EVENT
// PID": "ready 123", "stopped accepting 122", "drained 122".
func readStamps(path string, offset int64) (map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	re := regexp.MustCompile(`msg="?(ready|stopped accepting|drained)"? pid=(\d+) .*mono=(\d+)`)
	stamps := map[string]int64{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if m := re.FindStringSubmatch(s.Text()); m != nil {
			ns, _ := strconv.ParseInt(m[3], 10, 64)
			stamps[m[1]+" "+m[2]] = ns
		}
	}
	return stamps, s.Err()
}

// waitExit waits until the process pid has exited, for at most timeout.
func waitExit(pid int, timeout time.Duration) error {
	fd, err := pidfd.Open(pid)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	if _, _, err := pidfd.Wait([]int{fd}, timeout); err != nil {
		return fmt.Errorf("pid %d still runs after %v: %w", pid, timeout, err)
	}
	return nil
}

// command runs the daemon's binary with args, for at most the timeout, and
// returns its standard output.
func command(o options, args ...string) (string, error) {
	cmd := exec.Command(o.daemon, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		return "", err
	}
	timer := time.AfterFunc(o.timeout, func() { cmd.Process.Kill() })
	defer timer.Stop()
	if err := cmd.Wait(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", filepath.Base(o.daemon), strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

func report(w io.Writer, o options, samples []sample) {
	var handover, upgrade, drain []float64
	for _, s := range samples {
		handover = append(handover, s.handover)
		upgrade = append(upgrade, s.upgrade)
		drain = append(drain, s.drain)
	}
	under := "idle"
	if o.load != "" {
		under = "under load (httpload: 20 keep-alive and 2 fresh-connection clients)"
	}
	fmt.Fprintf(w, "## upgrade handover, %s (ms over %d upgrades)\n\n", under, len(samples))
	fmt.Fprintln(w, "| measure | median | p90 | min | max |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, row := range []struct {
		name string
		xs   []float64
	}{
		{"handover: new daemon ready → old daemon stopped accepting", handover},
		{"`upgrade` command: launch → exit", upgrade},
		{"old daemon: stopped accepting → drained", drain},
	} {
		fmt.Fprintf(w, "| %s | %.3f | %.3f | %.3f | %.3f |\n", row.name,
			stats.Median(row.xs), stats.Quantile(row.xs, 0.9), stats.Quantile(row.xs, 0), stats.Quantile(row.xs, 1))
	}
}

// A loadClient is bench/cmd/httpload, running.
type loadClient struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// startLoad starts httpload against url and returns once its clients run.
func startLoad(bin, url string) (*loadClient, error) {
	cmd := exec.Command(bin, "-url", url, "-clients", "20", "-fresh", "2", "-duration", "10m")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	l := &loadClient{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	l.out.Buffer(nil, 1<<20)
	if !l.out.Scan() || l.out.Text() != "running" {
		l.end()
		return nil, fmt.Errorf("httpload did not start: %q, %v", l.out.Text(), l.out.Err())
	}
	return l, nil
}

// report stops the load and reports its counts; it fails if a request failed.
func (l *loadClient) report(w io.Writer) error {
	fmt.Fprintln(l.stdin, "stop")
	if !l.out.Scan() {
		return fmt.Errorf("httpload ended without a result: %v", l.out.Err())
	}
	var r struct {
		Requests, Failures, Refused int
		Conns                       int64
		Errors                      []string
	}
	if err := json.Unmarshal(l.out.Bytes(), &r); err != nil {
		return fmt.Errorf("httpload's result: %w", err)
	}
	fmt.Fprintf(w, "\nload: %d requests on %d connections, %d failed, %d refused\n", r.Requests, r.Conns, r.Failures, r.Refused)
	if r.Failures != 0 {
		return fmt.Errorf("%d requests failed under the upgrades: %q", r.Failures, r.Errors)
	}
	return nil
}

// end ends httpload, by pid, with a deadline.
func (l *loadClient) end() {
	l.stdin.Close()
	done := make(chan struct{})
	go func() {
		l.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		l.cmd.Process.Kill()
		<-done
	}
}
