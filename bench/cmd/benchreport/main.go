// Command benchreport reads the results of one run of the shared
// daemon-ready harness (../shared/bench: runs.jsonl, meta.json, summary.md
// in its --out directory) and prints, for one target, its medians beside the
// baselines measured in the same run, the ratios issue 5 sets as targets
// with PASS or MISS, and the correctness of its detach. Beside each target
// of -also it prints the target's launcher-return time over that target's
// in the same round (paired.go). With -summary it reads several runs
// instead and prints each run's ratios, then their median and range
// (summary.go).
//
// usage: benchreport -out DIR [-target gendaemon] [-baseline go-reexec]
// [-seed seed-createDaemon] [-pidfile PATH] [-also T1,T2]
//
//	benchreport -summary [-target gendaemon] [-baseline go-reexec] [-also T1] DIR...
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "benchreport: %v\n", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	out      string
	target   string
	baseline string
	seed     string
	pidfile  string
	also     []string
}

func run(args []string, w io.Writer) error {
	var o options
	var also string
	var multi bool
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fs.StringVar(&o.out, "out", "", "the harness's results `dir` (runs.jsonl, meta.json, summary.md)")
	fs.StringVar(&o.target, "target", "gendaemon", "the target under test")
	fs.StringVar(&o.baseline, "baseline", "go-reexec", "the target it must be within 1.25x of")
	fs.StringVar(&o.seed, "seed", "seed-createDaemon", "the target it must be 100x faster than at 1048576")
	fs.StringVar(&o.pidfile, "pidfile", "", "the target's pidfile `path`, to recognise its descriptor")
	fs.StringVar(&also, "also", "", "comma-separated further targets to compare with the baseline")
	fs.BoolVar(&multi, "summary", false, "summarise the runs in the directories given as arguments")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if also != "" {
		o.also = strings.Split(also, ",")
	}
	if multi {
		return summary(w, fs.Args(), o) // summary.go
	}
	if o.out == "" {
		return errors.New("-out is required")
	}
	res, err := load(o.out)
	if err != nil {
		return err
	}
	report(w, res, o)
	return nil
}

// launch is one line of runs.jsonl.
type launch struct {
	Target   string   `json:"target"`
	Round    int      `json:"round"`
	Nofile   string   `json:"nofile"`
	RC       *int     `json:"rc"`
	ReadyMS  *float64 `json:"ready_ms"`
	ReturnMS *float64 `json:"return_ms"`
	Error    string   `json:"error"`
	Line     *ready   `json:"line"`
}

// ready is the probe's ready line.
type ready struct {
	Impl   string            `json:"impl"`
	PID    int               `json:"pid"`
	SID    int               `json:"sid"`
	PGID   int               `json:"pgid"`
	PPID   int               `json:"ppid"`
	Cwd    string            `json:"cwd"`
	Umask  string            `json:"umask"`
	TTYNr  int               `json:"tty_nr"`
	FifoFD int               `json:"fifo_fd"`
	FDs    map[string]string `json:"fds"`
}

// meta is the part of meta.json used here.
type meta struct {
	Started   string   `json:"started"`
	Runs      int      `json:"runs"`
	Nofile    []string `json:"nofile"`
	Requested string   `json:"requested_limits"`
	Kernel    string   `json:"kernel"`
	CPUs      int      `json:"cpus"`
	Targets   []struct {
		Name string  `json:"name"`
		Skip *string `json:"skip"`
	} `json:"targets"`
}

// results is one harness run.
type results struct {
	meta     meta
	launches []launch
	summary  string
}

func load(dir string) (*results, error) {
	var r results
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &r.meta); err != nil {
		return nil, fmt.Errorf("meta.json: %w", err)
	}
	f, err := os.Open(filepath.Join(dir, "runs.jsonl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	for n := 1; sc.Scan(); n++ {
		var l launch
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("runs.jsonl:%d: %w", n, err)
		}
		r.launches = append(r.launches, l)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "summary.md")); err == nil {
		r.summary = string(b)
	}
	return &r, nil
}

// ok reports whether a launch succeeded.
func (l launch) ok() bool {
	return l.ReadyMS != nil && l.RC != nil && *l.RC == 0 && l.Error == ""
}

// stats are the medians of one (target, nofile) pair.
type stats struct {
	ok, runs   int
	ready, ret float64 // medians, ms; meaningful only when ok > 0
}

func (r *results) stats(target, nofile string) stats {
	var s stats
	var rd, rt []float64
	for _, l := range r.launches {
		if l.Target != target || l.Nofile != nofile {
			continue
		}
		s.runs++
		if !l.ok() {
			continue
		}
		s.ok++
		rd = append(rd, *l.ReadyMS)
		if l.ReturnMS != nil {
			rt = append(rt, *l.ReturnMS)
		}
	}
	s.ready = median(rd)
	s.ret = median(rt)
	return s
}

// median of xs; 0 for none.
// ran reports whether target was launched at all in this run.
func (r *results) ran(target string) bool {
	for _, lim := range r.meta.Nofile {
		if r.stats(target, lim).runs > 0 {
			return true
		}
	}
	return false
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// targetsRun lists the targets that have launches, in meta.json's order.
func (r *results) targetsRun() []string {
	seen := map[string]bool{}
	for _, l := range r.launches {
		seen[l.Target] = true
	}
	var names []string
	for _, t := range r.meta.Targets {
		if seen[t.Name] {
			names = append(names, t.Name)
		}
	}
	return names
}

// limits picks the low (1024) and high (1048576, real or emulated) labels.
func limits(labels []string) (low, high string) {
	for _, l := range labels {
		switch l {
		case "1024":
			low = l
		case "1048576":
			high = l
		case "1048576-emu":
			if high == "" {
				high = l
			}
		}
	}
	return low, high
}

func fmtMS(v float64, ok int) string {
	if ok == 0 {
		return "-"
	}
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// verdict is one target of issue 5.
type verdict struct {
	what   string
	value  float64
	valid  bool
	target string
	pass   bool
}

func report(w io.Writer, r *results, o options) {
	m := r.meta
	fmt.Fprintf(w, "# gendaemon daemon-ready report (harness run %s)\n\n", m.Started)
	fmt.Fprintf(w, "kernel %s, %d CPUs; nofile (soft = hard) %s (requested %s); %d interleaved runs per pair.\n",
		m.Kernel, m.CPUs, strings.Join(m.Nofile, ", "), m.Requested, m.Runs)
	low, high := limits(m.Nofile)
	if strings.HasSuffix(high, "-emu") {
		fmt.Fprintf(w, "%s: RLIMIT_NOFILE could not be raised to 1048576 here; libc-based daemonizers are\n"+
			"told 1048576 by an LD_PRELOAD shim, Go programs (which ask the kernel) see the real hard limit.\n", high)
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "## Medians (ms) and ratio to %s in the same run\n\n", o.baseline)
	fmt.Fprintf(w, "| target | nofile | ok/runs | ready | launcher-return | ready ÷ %[1]s ready | return ÷ %[1]s ready |\n", o.baseline)
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, t := range r.targetsRun() {
		for _, lim := range m.Nofile {
			s := r.stats(t, lim)
			if s.runs == 0 {
				continue
			}
			b := r.stats(o.baseline, lim)
			ratio, retRatio := "-", "-"
			if s.ok > 0 && b.ok > 0 {
				ratio = fmt.Sprintf("%.2f", s.ready/b.ready)
				retRatio = fmt.Sprintf("%.2f", s.ret/b.ready)
			}
			fmt.Fprintf(w, "| %s | %s | %d/%d | %s | %s | %s | %s |\n", t, lim, s.ok, s.runs,
				fmtMS(s.ready, s.ok), fmtMS(s.ret, s.ok), ratio, retRatio)
		}
	}
	for _, t := range m.Targets {
		if t.Skip != nil {
			fmt.Fprintf(w, "\nskipped %s: %s", t.Name, *t.Skip)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	pairedReport(w, r, o.target, o.also) // paired.go

	// quotient divides num's median ready time, or with returned its
	// launcher-return time (what a user of `NAME start` waits for, issue
	// 14), by den's median ready time.
	quotient := func(what, num, numLim, den, denLim, target string, pass func(float64) bool, returned bool) verdict {
		a, b := r.stats(num, numLim), r.stats(den, denLim)
		v := verdict{what: what, target: target}
		x := a.ready
		if returned {
			x = a.ret
		}
		if a.ok > 0 && b.ok > 0 && b.ready > 0 {
			v.value, v.valid = x/b.ready, true
			v.pass = pass(v.value)
		}
		return v
	}
	ratio := func(what, num, numLim, den, denLim, target string, pass func(float64) bool) verdict {
		return quotient(what, num, numLim, den, denLim, target, pass, false)
	}
	returnRatio := func(what, num, numLim, den, denLim, target string, pass func(float64) bool) verdict {
		return quotient(what, num, numLim, den, denLim, target, pass, true)
	}
	atMost := func(x float64) func(float64) bool { return func(v float64) bool { return v <= x } }
	atLeast := func(x float64) func(float64) bool { return func(v float64) bool { return v >= x } }
	var vs []verdict
	for _, t := range append([]string{o.target}, o.also...) {
		suffix := ""
		if t != o.target {
			suffix = " (diagnostic)"
			if !r.ran(t) {
				continue // left out with --only
			}
		}
		for _, lim := range m.Nofile {
			vs = append(vs, returnRatio(fmt.Sprintf("**%s `start` return** ÷ %s ready @ %s%s", t, o.baseline, lim, suffix),
				t, lim, o.baseline, lim, "≤ 1.15", atMost(1.15)))
			vs = append(vs, ratio(fmt.Sprintf("%s ready ÷ %s ready @ %s%s", t, o.baseline, lim, suffix),
				t, lim, o.baseline, lim, "≤ 1.25 (issue 5)", atMost(1.25)))
		}
		for _, lim := range m.Nofile {
			if lim == low || low == "" {
				continue
			}
			suffix := suffix
			if lim != high {
				suffix += " (extra limit)"
			}
			vs = append(vs, ratio(fmt.Sprintf("%s ready @ %s ÷ @ %s%s", t, lim, low, suffix),
				t, lim, t, low, "≤ 1.10", atMost(1.10)))
		}
	}
	if high != "" {
		vs = append(vs, ratio(fmt.Sprintf("%s ÷ %s ready @ %s", o.seed, o.target, high),
			o.seed, high, o.target, high, "≥ 100", atLeast(100)))
	}
	fmt.Fprintln(w, "## Targets of issues 14 and 5 (ratios of medians, this run; the headline in bold)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| ratio | value | target | verdict |")
	fmt.Fprintln(w, "|---|---:|---:|---|")
	for _, v := range vs {
		val, verdict := "-", "NO DATA"
		if v.valid {
			val = fmt.Sprintf("%.2f", v.value)
			verdict = "MISS"
			if v.pass {
				verdict = "PASS"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", v.what, val, v.target, verdict)
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "## Correctness of %s's detach (all runs, all limits)\n\n", o.target)
	fmt.Fprintln(w, "| check | seen | verdict |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, c := range r.checks(o) {
		verdict := "MISS"
		if c.pass {
			verdict = "PASS"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", c.name, c.seen, verdict)
	}
}

// check is one correctness check over every ready line of a target.
type check struct {
	name string
	seen string
	pass bool
}

// checks judges the target's ready lines. "Own session" needs the
// harness's session id, which the ready lines of ref-no-detach (run in the
// foreground) carry; without them, summary.md's verdict is used.
func (r *results) checks(o options) []check {
	var lines []*ready
	harnessSID := 0
	for _, l := range r.launches {
		if l.Line == nil {
			continue
		}
		if l.Target == "ref-no-detach" {
			harnessSID = l.Line.SID
		}
		if l.Target == o.target {
			lines = append(lines, l.Line)
		}
	}
	if len(lines) == 0 {
		return []check{{name: "ready line", seen: "none received", pass: false}}
	}
	type judge func(*ready) (string, bool)
	judges := []struct {
		name string
		fn   judge
	}{
		{"not a session leader (sid ≠ pid)", func(l *ready) (string, bool) {
			if l.SID == l.PID {
				return "sid = pid", false
			}
			return "sid ≠ pid", true
		}},
		{"own session (sid ≠ launcher's)", func(l *ready) (string, bool) {
			switch {
			case harnessSID == 0:
				return "see summary.md", summaryPass(r.summary, o.target, "new session")
			case l.SID == harnessSID:
				return "launcher's session", false
			}
			return "new session", true
		}},
		{"no controlling tty (tty_nr = 0)", func(l *ready) (string, bool) {
			return "tty_nr " + strconv.Itoa(l.TTYNr), l.TTYNr == 0
		}},
		{"cwd /", func(l *ready) (string, bool) { return l.Cwd, l.Cwd == "/" }},
		{"umask 0", func(l *ready) (string, bool) { return l.Umask, l.Umask == "0000" }},
		{"stdio on /dev/null", func(l *ready) (string, bool) {
			var bad []string
			for _, fd := range []string{"0", "1", "2"} {
				if t := l.FDs[fd]; t != "/dev/null" {
					bad = append(bad, fd+":"+t)
				}
			}
			if len(bad) > 0 {
				return strings.Join(bad, " "), false
			}
			return "0,1,2 → /dev/null", true
		}},
		{"no inherited fds", func(l *ready) (string, bool) {
			inherited, own := classifyFDs(l, o.pidfile)
			seen := "inherited: none"
			if len(inherited) > 0 {
				seen = "inherited: " + strings.Join(inherited, " ")
			}
			if len(own) > 0 {
				seen += "; the daemon's own: " + strings.Join(own, " ")
			}
			return seen, len(inherited) == 0
		}},
	}
	var out []check
	for _, j := range judges {
		counts := map[string]int{}
		var order []string
		pass := true
		for _, l := range lines {
			seen, ok := j.fn(l)
			pass = pass && ok
			if counts[seen] == 0 {
				order = append(order, seen)
			}
			counts[seen]++
		}
		seen := order[0]
		if len(order) > 1 {
			parts := make([]string, len(order))
			for i, s := range order {
				parts[i] = fmt.Sprintf("%s (%d)", s, counts[s])
			}
			seen = strings.Join(parts, " \\| ")
		}
		out = append(out, check{name: j.name, seen: seen, pass: pass})
	}
	return out
}

// classifyFDs splits the descriptors above 2, other than the FIFO the probe
// writes to, into inherited ones (anything the harness could have passed:
// its canary, terminal, log or anything unrecognised) and the daemon's own
// (its pidfile, and what the Go runtime opens: the netpoller's epoll and
// eventfd, the cgroup CPU-limit files Go 1.25+ keeps open).
func classifyFDs(l *ready, pidfile string) (inherited, own []string) {
	fds := make([]int, 0, len(l.FDs))
	for k := range l.FDs {
		if fd, err := strconv.Atoi(k); err == nil && fd > 2 && fd != l.FifoFD {
			fds = append(fds, fd)
		}
	}
	slices.Sort(fds)
	pidDir := ""
	if pidfile != "" {
		pidDir = filepath.Dir(pidfile) + "/#"
	}
	// The harness passes no socket to a launch, and the daemon listens on
	// one (its control socket): one socket is the daemon's own,
	// any further one is inherited.
	sockets := 0
	for _, fd := range fds {
		t := l.FDs[strconv.Itoa(fd)]
		name := ""
		switch {
		case strings.HasPrefix(t, "socket:[") && sockets == 0:
			sockets++
			name = "socket (the daemon's control socket)"
		case pidfile != "" && (t == pidfile || strings.HasPrefix(t, pidDir) && strings.HasSuffix(t, " (deleted)")):
			name = "pidfile"
		case t == "anon_inode:[eventpoll]" || t == "anon_inode:[eventfd]":
			name = strings.TrimSuffix(strings.TrimPrefix(t, "anon_inode:["), "]") + " (Go netpoller)"
		case strings.HasPrefix(t, "/sys/fs/cgroup/"):
			name = filepath.Base(t) + " (Go runtime cgroup limit)"
		}
		if name != "" {
			own = append(own, fmt.Sprintf("%d:%s", fd, name))
			continue
		}
		switch {
		case strings.HasSuffix(t, " (deleted)") && strings.Contains(t, "/#"):
			// An unnamed (O_TMPFILE) or deleted file: drop the inode
			// number, which differs from run to run.
			t = t[:strings.LastIndex(t, "/#")] + "/#… (deleted)"
		case strings.HasSuffix(t, "/canary"):
			t = "canary"
		case strings.HasPrefix(t, "/dev/pts/"), strings.HasPrefix(t, "/dev/tty"):
			t = "tty"
		case strings.HasSuffix(t, ".log"):
			t = "log"
		}
		inherited = append(inherited, fmt.Sprintf("%d:%s", fd, t))
	}
	return inherited, own
}

// summaryPass finds target's cell in column col of summary.md's correctness
// table and reports whether it is free of the harness's failure mark.
func summaryPass(summary, target, col string) bool {
	var header []string
	for _, line := range strings.Split(summary, "\n") {
		cells := splitRow(line)
		if len(cells) == 0 {
			continue
		}
		if cells[0] == "target" && slices.Contains(cells, col) {
			header = cells
			continue
		}
		if header != nil && cells[0] == target {
			i := slices.Index(header, col)
			return i < len(cells) && !strings.Contains(cells[i], "✗") && cells[i] != "no ready line"
		}
	}
	return false
}

func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
		return nil
	}
	parts := strings.Split(line[1:len(line)-1], " | ")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
