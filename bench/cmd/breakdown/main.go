//go:build linux

// Command breakdown splits a detached start into its stages from a trace
// of the kernel's events: for each target it runs the start command under
//
//	perf record -e sched:sched_process_exec -e sched:sched_process_exit -e syscalls:sys_enter_write
//
// (tracepoints: nothing stops the traced processes), or with -tracer strace
// under
//
//	strace -f -ttt --seccomp-bpf -e trace=execve,write,exit_group
//
// (only those calls stop the tracee, but every fork and thread is followed
// by ptrace, which slows thread creation a great deal), several times in
// shuffled, interleaved rounds, and reports the median (min–max) of
//
//   - launcher: its execve → the session leader's execve;
//   - session leader: its execve → the daemon's execve;
//   - daemon: its execve → READY (gendaemon: its "READY" message to the
//     launcher; a target without one: the probe's ready line);
//   - probe: READY → the probe's ready line on the FIFO (gendaemon only:
//     the service's Serve runs after READY);
//   - launcher exit: READY → the launcher process has exited (what
//     `NAME start` adds after READY; go-reexec's launcher does not wait);
//   - ready and return: the launcher's execve → the ready line, and →
//     the launcher's exit.
//
// perf's records carry a write's descriptor and length, not its bytes: the
// READY message is the daemon's first write of under 64 bytes to its
// readiness pipe (descriptor 4), the probe's ready line its first write of
// 128 bytes or more. Either trace adds some cost, strace's far more, so
// absolute times are above the untraced ones (bench/daemon-ready.sh):
// compare stages and targets in the same run.
//
// usage: breakdown [-n RUNS] [-tracer perf|strace] -target 'NAME=COMMAND ARGS' [-target ...]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/gendaemon/gendaemon/bench/internal/stats"
)

type target struct {
	name string
	argv []string
}

type targetList []target

func (l *targetList) String() string { return fmt.Sprint(len(*l)) }

func (l *targetList) Set(s string) error {
	name, cmd, ok := strings.Cut(s, "=")
	if !ok || name == "" || len(strings.Fields(cmd)) == 0 {
		return fmt.Errorf("want NAME=COMMAND, got %q", s)
	}
	*l = append(*l, target{name, strings.Fields(cmd)})
	return nil
}

// The measures, in table order.
var measures = []string{"launcher", "session leader", "daemon", "probe", "launcher exit", "ready", "return"}

func main() {
	var targets targetList
	runs := flag.Int("n", 20, "measured runs per target")
	tracer := flag.String("tracer", "perf", "perf (tracepoints) or strace")
	flag.Var(&targets, "target", "NAME=COMMAND (repeat)")
	flag.Parse()
	if len(targets) == 0 {
		fmt.Fprintln(os.Stderr, "breakdown: no -target")
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "breakdown")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	samples := map[string]map[string][]float64{}
	for _, t := range targets {
		samples[t.name] = map[string][]float64{}
	}
	for round := -1; round < *runs; round++ { // round -1 warms up, untimed
		order := rand.Perm(len(targets))
		for _, i := range order {
			t := targets[i]
			m, err := runOnce(dir, t, *tracer)
			if err != nil {
				fail(fmt.Errorf("%s: %w", t.name, err))
			}
			if round < 0 {
				continue
			}
			for k, v := range m {
				samples[t.name][k] = append(samples[t.name][k], v)
			}
		}
	}
	printTable(targets, samples, *runs, *tracer)
}

func printTable(targets []target, samples map[string]map[string][]float64, runs int, tracer string) {
	fmt.Printf("Stages under %s (ms, median (min–max) of %d interleaved runs)\n\n", tracer, runs)
	fmt.Print("| stage |")
	for _, t := range targets {
		fmt.Printf(" %s |", t.name)
	}
	fmt.Print("\n|---|")
	for range targets {
		fmt.Print("---:|")
	}
	fmt.Println()
	for _, m := range measures {
		fmt.Printf("| %s |", m)
		for _, t := range targets {
			xs := samples[t.name][m]
			if len(xs) == 0 {
				fmt.Print(" - |")
				continue
			}
			fmt.Printf(" %.2f (%.2f–%.2f) |", stats.Median(xs), stats.Quantile(xs, 0), stats.Quantile(xs, 1))
		}
		fmt.Println()
	}
}

// runOnce runs t under tracer with a fresh FIFO and returns its measures.
func runOnce(dir string, t target, tracer string) (map[string]float64, error) {
	fifo := filepath.Join(dir, "ready.fifo")
	os.Remove(fifo)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return nil, err
	}
	// Open for reading and writing, so the open does not block and the
	// data stays readable once the daemon has exited.
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := filepath.Join(dir, "trace")
	var args []string
	switch tracer {
	case "strace":
		args = []string{"strace", "-f", "-ttt", "--seccomp-bpf", "-s", "16",
			"-e", "trace=execve,write,exit_group", "-o", out, "--"}
	case "perf":
		os.Remove(out + ".data")
		// perf records the processes its command starts (the counters are
		// inherited) until that command exits, so the command is a shell
		// that runs the start command, then waits for the ready line.
		args = []string{"perf", "record", "-q", "-o", out + ".data", "-e", "sched:sched_process_exec",
			"-e", "sched:sched_process_exit", "-e", "syscalls:sys_enter_write", "--",
			"/bin/sh", "-c", `"$@"; exec head -n 1 "$READY_FIFO" >/dev/null`, "sh"}
	default:
		return nil, fmt.Errorf("unknown tracer %q", tracer)
	}
	cmd := exec.Command(args[0], append(args[1:], t.argv...)...)
	cmd.Env = append(os.Environ(), "READY_FIFO="+fifo)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, b)
	}
	if tracer == "strace" { // strace waits for every tracee
		return parse(out)
	}
	script := exec.Command("perf", "script", "-i", out+".data", "-F", "pid,tid,time,event,trace")
	b, err := script.Output()
	if err != nil {
		return nil, fmt.Errorf("perf script: %w", err)
	}
	return parsePerf(string(b), filepath.Base(t.argv[0]))
}

var perfRE = regexp.MustCompile(`^\s*(\d+)/(\d+)\s+(\d+\.\d+):\s+(\S+):\s*(.*)$`)

// parsePerf reads perf script -F pid,tid,time,event,trace into the
// measures: the stages are the execs of the program called name.
func parsePerf(script, name string) (map[string]float64, error) {
	var execs []float64
	var pids []int
	var ready, probe, exited float64
	for line := range strings.Lines(script) {
		m := perfRE.FindStringSubmatch(strings.TrimSuffix(line, "\n"))
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		ts, _ := strconv.ParseFloat(m[3], 64)
		ts *= 1000
		switch m[4] {
		case "sched:sched_process_exec":
			file, _, _ := strings.Cut(strings.TrimPrefix(m[5], "filename="), " ")
			if filepath.Base(file) == name {
				execs = append(execs, ts)
				pids = append(pids, pid)
			}
		case "sched:sched_process_exit":
			if len(pids) > 0 && pid == pids[0] && strings.Contains(m[5], "group_dead=true") {
				exited = ts
			}
		case "syscalls:sys_enter_write":
			if len(pids) < 3 || pid != pids[2] {
				continue
			}
			fd, count, ok := writeArgs(m[5])
			switch {
			case !ok:
			case count >= 128 && probe == 0:
				probe = ts
			case fd == 4 && count < 64 && ready == 0 && probe == 0:
				ready = ts
			}
		}
	}
	return measure(execs, ready, probe, exited, "perf script")
}

var writeArgsRE = regexp.MustCompile(`fd: 0x([0-9a-f]+), buf: 0x[0-9a-f]+, count: 0x([0-9a-f]+)`)

// writeArgs takes the descriptor and length from a sys_enter_write record.
func writeArgs(s string) (fd, count int64, ok bool) {
	m := writeArgsRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	fd, err1 := strconv.ParseInt(m[1], 16, 64)
	count, err2 := strconv.ParseInt(m[2], 16, 64)
	return fd, count, err1 == nil && err2 == nil
}

var (
	lineRE   = regexp.MustCompile(`^(\d+) +(\d+\.\d+) (.*)$`)
	writeRE  = regexp.MustCompile(`^write\(\d+, "(READY|\{\\"impl)`)
	exitedRE = regexp.MustCompile(`^\+\+\+ exited with`)
)

// parse reads a strace -f -ttt log into the measures.
func parse(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var execs []float64
	var launcher int
	var ready, probe, exited float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := lineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		ts, _ := strconv.ParseFloat(m[2], 64)
		ts *= 1000
		call := m[3]
		switch {
		case strings.HasPrefix(call, "execve("):
			if len(execs) == 0 {
				launcher = pid
			}
			execs = append(execs, ts)
		case exitedRE.MatchString(call):
			if pid == launcher {
				exited = ts
			}
		default:
			w := writeRE.FindStringSubmatch(call)
			switch {
			case w == nil:
			case w[1] == "READY" && ready == 0:
				ready = ts
			case w[1] != "READY" && probe == 0:
				probe = ts
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return measure(execs, ready, probe, exited, path)
}

// measure turns the events of one start (ms) into the measures; ready is 0
// for a target that sends no READY.
func measure(execs []float64, ready, probe, exited float64, from string) (map[string]float64, error) {
	if len(execs) != 3 || probe == 0 || exited == 0 {
		return nil, fmt.Errorf("trace %s: %d execs, probe %v, launcher exit %v", from, len(execs), probe, exited)
	}
	m := map[string]float64{
		"launcher":       execs[1] - execs[0],
		"session leader": execs[2] - execs[1],
		"ready":          probe - execs[0],
		"return":         exited - execs[0],
	}
	if ready == 0 {
		m["daemon"] = probe - execs[2]
		return m, nil
	}
	m["daemon"] = ready - execs[2]
	m["probe"] = probe - ready
	m["launcher exit"] = exited - ready
	return m, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "breakdown:", err)
	os.Exit(1)
}
