//go:build linux

// Command stoplatency measures how long a generated daemon's `stop` takes to
// return after the daemon has exited, against a baseline stop command
// (pidfdstop: pidfd_open, SIGTERM, poll, exit) measured in the same run.
//
// Each round starts a fresh daemon for each method (`DAEMON start`), opens
// a pidfd on it, then starts the stop command and waits on both pidfds:
//
//	total      launch of the stop command → its exit
//	exit→ret   the daemon's exit → the stop command's exit
//
// Both moments are read from the monotonic clock when ppoll(2) returns
// with the pidfd readable. When both pidfds are readable at one wake-up,
// exit→ret is 0 and the run is counted as coincident. The methods run in
// a shuffled order within each round.
//
// usage: stoplatency -daemon BIN -pidfile PATH -baseline PIDFDSTOP [-runs 30]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gendaemon/gendaemon/bench/internal/pidfd"
	"github.com/gendaemon/gendaemon/bench/internal/stats"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "stoplatency: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	daemon, pidfile, baseline string
	runs                      int
	timeout                   time.Duration
	target                    time.Duration
}

func run(args []string, w io.Writer) error {
	var o options
	fs := flag.NewFlagSet("stoplatency", flag.ContinueOnError)
	fs.StringVar(&o.daemon, "daemon", "", "the generated daemon `binary`")
	fs.StringVar(&o.pidfile, "pidfile", "", "the `path` of its pidfile")
	fs.StringVar(&o.baseline, "baseline", "", "the baseline stop `binary` (pidfdstop)")
	fs.IntVar(&o.runs, "runs", 30, "rounds; each stops one daemon per method")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Second, "deadline of every start and stop")
	fs.DurationVar(&o.target, "target", 5*time.Millisecond, "exit→ret median the gendaemon stop must stay within")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.daemon == "" || o.pidfile == "" || o.baseline == "" {
		return errors.New("-daemon, -pidfile and -baseline are required")
	}
	null, err := syscall.Open(os.DevNull, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(null)

	methods := []method{
		{name: "gendaemon stop", argv: func(int) []string { return []string{o.daemon, "stop", "--pidfile", o.pidfile} }},
		{name: "baseline (pidfdstop)", argv: func(pid int) []string { return []string{o.baseline, strconv.Itoa(pid)} }},
	}
	samples := make([][]sample, len(methods))
	order := []int{0, 1}
	for round := 0; round <= o.runs; round++ { // round 0 warms up
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, m := range order {
			s, err := once(o, methods[m], null)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round, methods[m].name, err)
			}
			if round > 0 {
				samples[m] = append(samples[m], s)
			}
		}
	}
	report(w, o, methods, samples)
	return nil
}

// method is a way of stopping the daemon.
type method struct {
	name string
	argv func(pid int) []string
}

// sample is one stop, in milliseconds.
type sample struct {
	total, gap, exit float64 // launch→return, daemon exit→return, launch→daemon exit
	coincident       bool
}

// once starts a daemon, stops it with m and times the stop.
func once(o options, m method, null int) (sample, error) {
	if err := runCmd([]string{o.daemon, "start", "--pidfile", o.pidfile}, null, o.timeout); err != nil {
		return sample{}, fmt.Errorf("start: %w", err)
	}
	b, err := os.ReadFile(o.pidfile)
	if err != nil {
		return sample{}, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return sample{}, fmt.Errorf("pidfile %s: %q", o.pidfile, b)
	}
	dfd, err := pidfd.Open(pid)
	if err != nil {
		return sample{}, fmt.Errorf("pidfd_open daemon %d: %w", pid, err)
	}
	defer syscall.Close(dfd)
	// Whatever happens below, the daemon does not outlive this function.
	defer pidfd.KillWait(dfd, pid)

	argv := m.argv(pid)
	t0 := time.Now()
	cpid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Files: []uintptr{uintptr(null), uintptr(null), uintptr(null)}})
	if err != nil {
		return sample{}, err
	}
	cfd, err := pidfd.Open(cpid)
	if err != nil {
		return sample{}, err
	}
	defer syscall.Close(cfd)
	defer pidfd.KillWait(cfd, cpid)

	var tExit, tRet time.Time
	deadline := t0.Add(o.timeout)
	for tExit.IsZero() || tRet.IsZero() {
		var fds []int
		if tExit.IsZero() {
			fds = append(fds, dfd)
		}
		if tRet.IsZero() {
			fds = append(fds, cfd)
		}
		ready, now, err := pidfd.Wait(fds, time.Until(deadline))
		if err != nil {
			return sample{}, fmt.Errorf("waiting (daemon exited: %v, stop returned: %v): %w", !tExit.IsZero(), !tRet.IsZero(), err)
		}
		for i, fd := range fds {
			if !ready[i] {
				continue
			}
			if fd == dfd {
				tExit = now
			} else {
				tRet = now
			}
		}
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(cpid, &ws, 0, nil); err != nil {
		return sample{}, err
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return sample{}, fmt.Errorf("%s: %v", strings.Join(argv, " "), pidfd.WaitString(ws))
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return sample{
		total:      ms(tRet.Sub(t0)),
		gap:        ms(tRet.Sub(tExit)),
		exit:       ms(tExit.Sub(t0)),
		coincident: tRet.Equal(tExit),
	}, nil
}

// runCmd runs argv with stdio on null and waits for it, for at most timeout.
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
		pidfd.KillWait(fd, pid)
		return err
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		return err
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return errors.New(pidfd.WaitString(ws))
	}
	return nil
}

func report(w io.Writer, o options, methods []method, samples [][]sample) {
	fmt.Fprintf(w, "## stop latency (ms; median and p90 of %d runs per method, interleaved)\n\n", o.runs)
	fmt.Fprintln(w, "| method | total median | total p90 | daemon exit → return median | p90 | launch → daemon exit median | coincident |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	med := make([][3]float64, len(methods))
	for i, m := range methods {
		var total, gap, exit []float64
		coincident := 0
		for _, s := range samples[i] {
			total = append(total, s.total)
			gap = append(gap, s.gap)
			exit = append(exit, s.exit)
			if s.coincident {
				coincident++
			}
		}
		med[i] = [3]float64{stats.Quantile(total, 0.5), stats.Quantile(gap, 0.5), stats.Quantile(exit, 0.5)}
		fmt.Fprintf(w, "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %d/%d |\n", m.name,
			med[i][0], stats.Quantile(total, 0.9), med[i][1], stats.Quantile(gap, 0.9), med[i][2], coincident, len(samples[i]))
	}
	fmt.Fprintln(w)
	gap := med[0][1]
	verdict := "MISS"
	if gap <= float64(o.target)/1e6 {
		verdict = "PASS"
	}
	fmt.Fprintln(w, "| measure | gendaemon | baseline | ratio | target | verdict |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|")
	fmt.Fprintf(w, "| daemon exit → stop returns (median) | %.2f ms | %.2f ms | %s | ≤ %.0f ms | %s |\n",
		gap, med[1][1], stats.Ratio(gap, med[1][1]), float64(o.target)/1e6, verdict)
	fmt.Fprintf(w, "| stop total (median) | %.2f ms | %.2f ms | %s | - | - |\n",
		med[0][0], med[1][0], stats.Ratio(med[0][0], med[1][0]))
}
