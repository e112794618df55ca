//go:build linux

// Command idlebench measures an idle generated daemon against an idle
// trivial Go daemon (bench/cmd/idlebase) running over the same windows: the
// context switches of all their threads (voluntary + involuntary, from
// /proc/PID/task/*/status: every wake-up of a sleeping thread is one), their
// resident memory (VmRSS) and thread count, and the size of their stripped
// binaries. Each run starts both daemons fresh, lets them settle, measures
// one window and stops them.
//
// usage: idlebench -daemon BIN -pidfile PATH -baseline IDLEBASE
// -basepidfile PATH -stripped BIN -stripped-baseline BIN [-runs 3]
// [-settle 2s] [-window 10s] [-also-stripped NAME=BIN,...]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gendaemon/gendaemon/bench/internal/pidfd"
	"github.com/gendaemon/gendaemon/bench/internal/stats"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "idlebench: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	daemon, pidfile         string
	baseline, basePidfile   string
	stripped, strippedBase  string
	alsoStripped            string
	runs                    int
	settle, window, timeout time.Duration
	rssTarget, sizeTarget   int64
	wakeSlack               float64
}

func run(args []string, w io.Writer) error {
	var o options
	fs := flag.NewFlagSet("idlebench", flag.ContinueOnError)
	fs.StringVar(&o.daemon, "daemon", "", "the generated daemon `binary` (default build)")
	fs.StringVar(&o.pidfile, "pidfile", "", "its pidfile `path`")
	fs.StringVar(&o.baseline, "baseline", "", "the idlebase `binary`")
	fs.StringVar(&o.basePidfile, "basepidfile", "", "the pidfile `path` idlebase writes")
	fs.StringVar(&o.stripped, "stripped", "", "the generated daemon built with -ldflags='-s -w' -trimpath")
	fs.StringVar(&o.strippedBase, "stripped-baseline", "", "idlebase built the same way")
	fs.StringVar(&o.alsoStripped, "also-stripped", "", "further `NAME=BIN,...` sizes to show (diagnostics)")
	fs.IntVar(&o.runs, "runs", 3, "runs, each with fresh daemons")
	fs.DurationVar(&o.settle, "settle", 2*time.Second, "wait after start before the window opens")
	fs.DurationVar(&o.window, "window", 10*time.Second, "measured idle window")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Second, "deadline of every start and stop")
	fs.Int64Var(&o.rssTarget, "rss-target", 8<<20, "VmRSS target, bytes")
	fs.Int64Var(&o.sizeTarget, "size-target", 2_500_000, "stripped binary size target, bytes (2.5 MB)")
	fs.Float64Var(&o.wakeSlack, "wake-slack", 2, "context switches per window the daemon may have above the baseline")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, f := range []struct{ v, name string }{{o.daemon, "-daemon"}, {o.pidfile, "-pidfile"},
		{o.baseline, "-baseline"}, {o.basePidfile, "-basepidfile"}, {o.stripped, "-stripped"},
		{o.strippedBase, "-stripped-baseline"}} {
		if f.v == "" {
			return fmt.Errorf("%s is required", f.name)
		}
	}
	null, err := syscall.Open(os.DevNull, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(null)

	var gd, base []measure
	for i := range o.runs {
		g, b, err := once(o, null)
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		gd, base = append(gd, g), append(base, b)
		fmt.Fprintf(w, "run %d: gendaemon %d switches (%d threads, VmRSS %s); baseline %d switches (%d threads, VmRSS %s)\n",
			i+1, g.switches, g.threads, mib(g.rss), b.switches, b.threads, mib(b.rss))
	}
	fmt.Fprintln(w)
	return report(w, o, gd, base)
}

// measure is one daemon over one window.
type measure struct {
	switches int64 // context switches of all threads during the window
	threads  int
	rss      int64 // bytes, at the end of the window
	perTask  map[string]int64
}

// daemon is a started daemon: its pid and a pidfd on it.
type daemon struct {
	pid, fd int
}

func once(o options, null int) (gd, base measure, err error) {
	g, err := start([]string{o.daemon, "start", "--pidfile", o.pidfile}, o.pidfile, null, o.timeout)
	if err != nil {
		return gd, base, fmt.Errorf("starting the generated daemon: %w", err)
	}
	defer stop(g, []string{o.daemon, "stop", "--pidfile", o.pidfile}, null, o.timeout)
	b, err := start([]string{o.baseline, "start", o.basePidfile}, o.basePidfile, null, o.timeout)
	if err != nil {
		return gd, base, fmt.Errorf("starting the baseline: %w", err)
	}
	defer stop(b, nil, null, o.timeout)

	time.Sleep(o.settle)
	g0, err := switches(g.pid)
	if err != nil {
		return gd, base, err
	}
	b0, err := switches(b.pid)
	if err != nil {
		return gd, base, err
	}
	time.Sleep(o.window)
	g1, err := switches(g.pid)
	if err != nil {
		return gd, base, err
	}
	b1, err := switches(b.pid)
	if err != nil {
		return gd, base, err
	}
	gd, err = summarize(g.pid, g0, g1)
	if err != nil {
		return gd, base, err
	}
	base, err = summarize(b.pid, b0, b1)
	return gd, base, err
}

// start runs argv, which must return once the daemon has written pidfile,
// and returns the daemon named there.
func start(argv []string, pidfile string, null int, timeout time.Duration) (daemon, error) {
	if err := runCmd(argv, null, timeout); err != nil {
		return daemon{}, err
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return daemon{}, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return daemon{}, fmt.Errorf("pidfile %s: %q", pidfile, b)
	}
	fd, err := pidfd.Open(pid)
	if err != nil {
		return daemon{}, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	return daemon{pid: pid, fd: fd}, nil
}

// stop ends d with argv (nil: SIGTERM), then SIGKILL after timeout.
func stop(d daemon, argv []string, null int, timeout time.Duration) {
	defer syscall.Close(d.fd)
	if argv != nil {
		_ = runCmd(argv, null, timeout)
	} else {
		_ = pidfd.Signal(d.fd, syscall.SIGTERM)
	}
	if _, _, err := pidfd.Wait([]int{d.fd}, timeout); err != nil {
		_ = pidfd.Signal(d.fd, syscall.SIGKILL)
		_, _, _ = pidfd.Wait([]int{d.fd}, 5*time.Second)
	}
}

// runCmd runs argv with stdio on null and waits, for at most timeout.
func runCmd(argv []string, null int, timeout time.Duration) error {
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Files: []uintptr{uintptr(null), uintptr(null), uintptr(null)}})
	if err != nil {
		return err
	}
	fd, err := pidfd.Open(pid)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	if _, _, err := pidfd.Wait([]int{fd}, timeout); err != nil {
		_ = pidfd.Signal(fd, syscall.SIGKILL)
		_, _, _ = pidfd.Wait([]int{fd}, 5*time.Second)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		return err
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return fmt.Errorf("%s: %v", strings.Join(argv, " "), ws)
	}
	return nil
}

// switches returns, for each thread of pid (by tid and name), its
// voluntary + involuntary context switches so far.
func switches(pid int) (map[string]int64, error) {
	dirs, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("pid %d: no tasks: has it exited?", pid)
	}
	out := map[string]int64{}
	for _, d := range dirs {
		st, err := status(filepath.Join(d, "status"))
		if err != nil {
			continue // the thread exited meanwhile
		}
		out[filepath.Base(d)+" "+st["Name"]] = atoi(st["voluntary_ctxt_switches"]) + atoi(st["nonvoluntary_ctxt_switches"])
	}
	return out, nil
}

func summarize(pid int, before, after map[string]int64) (measure, error) {
	m := measure{perTask: map[string]int64{}}
	for task, n := range after {
		d := n - before[task] // a thread born during the window counts from 0
		m.switches += d
		if d != 0 {
			m.perTask[task] = d
		}
	}
	st, err := status(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	m.threads = int(atoi(st["Threads"]))
	kb := strings.TrimSuffix(st["VmRSS"], " kB")
	m.rss = atoi(kb) * 1024
	return m, nil
}

// status parses a /proc status file into name → value.
func status(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out, sc.Err()
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}

func mib(b int64) string { return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20)) }

func medianOf(ms []measure, f func(measure) float64) float64 {
	xs := make([]float64, len(ms))
	for i, m := range ms {
		xs[i] = f(m)
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func verdict(pass bool) string {
	if pass {
		return "PASS"
	}
	return "MISS"
}

func report(w io.Writer, o options, gd, base []measure) error {
	sw := func(m measure) float64 { return float64(m.switches) }
	rss := func(m measure) float64 { return float64(m.rss) }
	th := func(m measure) float64 { return float64(m.threads) }
	gSw, bSw := medianOf(gd, sw), medianOf(base, sw)
	gRSS, bRSS := medianOf(gd, rss), medianOf(base, rss)

	sizes := []struct {
		name, path string
	}{{"gendaemon (default project)", o.stripped}, {"baseline (idlebase)", o.strippedBase}}
	if o.alsoStripped != "" {
		for _, kv := range strings.Split(o.alsoStripped, ",") {
			name, path, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("-also-stripped: want NAME=BIN, got %q", kv)
			}
			sizes = append(sizes, struct{ name, path string }{name, path})
		}
	}
	sz := make([]int64, len(sizes))
	for i, s := range sizes {
		fi, err := os.Stat(s.path)
		if err != nil {
			return err
		}
		sz[i] = fi.Size()
	}

	fmt.Fprintf(w, "## idle daemon (median of %d runs; %v window after %v settle; both daemons measured over the same windows)\n\n",
		o.runs, o.window, o.settle)
	fmt.Fprintln(w, "| measure | gendaemon | baseline | ratio | target | verdict |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|---|")
	fmt.Fprintf(w, "| context switches per window, all threads | %.0f | %.0f | %s | ≤ baseline + %.0f (no periodic wake-ups of its own) | %s |\n",
		gSw, bSw, stats.Ratio(gSw, bSw), o.wakeSlack, verdict(gSw <= bSw+o.wakeSlack))
	fmt.Fprintf(w, "| threads | %.0f | %.0f | %s | - | - |\n", medianOf(gd, th), medianOf(base, th), stats.Ratio(medianOf(gd, th), medianOf(base, th)))
	fmt.Fprintf(w, "| VmRSS | %s | %s | %s | ≤ %s | %s |\n", mib(int64(gRSS)), mib(int64(bRSS)), stats.Ratio(gRSS, bRSS),
		mib(o.rssTarget), verdict(gRSS <= float64(o.rssTarget)))
	fmt.Fprintf(w, "| binary, -ldflags='-s -w' -trimpath | %s | %s | %s | ≤ %.2f MB | %s |\n", mb(sz[0]), mb(sz[1]),
		stats.Ratio(float64(sz[0]), float64(sz[1])), float64(o.sizeTarget)/1e6, verdict(sz[0] <= o.sizeTarget))
	for i := 2; i < len(sizes); i++ {
		fmt.Fprintf(w, "| binary, %s (diagnostic) | %s | - | %s | ≤ %.2f MB | %s |\n", sizes[i].name, mb(sz[i]),
			stats.Ratio(float64(sz[i]), float64(sz[1])), float64(o.sizeTarget)/1e6, verdict(sz[i] <= o.sizeTarget))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "threads that switched during a window (tid name: switches), per run:")
	for i := range gd {
		fmt.Fprintf(w, "  run %d gendaemon: %s; baseline: %s\n", i+1, tasks(gd[i]), tasks(base[i]))
	}
	return nil
}

func tasks(m measure) string {
	if len(m.perTask) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m.perTask))
	for k := range m.perTask {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m.perTask[k])
	}
	return strings.Join(parts, ", ")
}

func mb(b int64) string { return fmt.Sprintf("%.2f MB (%.2f MiB)", float64(b)/1e6, float64(b)/(1<<20)) }
