//go:build linux

// Command clilatency times gendaemon's own commands on the default project
// (issue 5: `gendaemon new`, `regen` and `check` ≤ 25 ms median each),
// against three baselines measured in the same run: /bin/true (fork + exec +
// exit), `gendaemon --version` (the CLI's process start-up and flag
// parsing, no project work) and `cp -r` of the same project tree (issue 14:
// each command ≤ 8 × its median).
//
// Each sample is one command, from just before fork to the moment its
// pidfd becomes readable (the process has exited), both read from the
// monotonic clock (time.Now's monotonic reading, CLOCK_MONOTONIC on
// Linux); the process is then reaped. Its standard input, output and error
// are /dev/null. Every round runs each command once, in a shuffled order;
// round 0 warms up and is not counted. The commands:
//
//	true             /bin/true
//	--version        gendaemon --version
//	cp -r            cp -r WORK/current WORK/new/cp-N            (removed after it)
//	new              gendaemon new myservice --dir WORK/new/N    (N fresh each run; removed after it)
//	regen (no-op)    gendaemon regen WORK/current                (up to date: writes nothing)
//	regen (edited)   gendaemon regen WORK/edited                 (after its manifest's umask was switched
//	                                                              between "000" and "022", untimed)
//	check            gendaemon check WORK/current
//
// Before timing, clilatency checks with the commands' output that the
// no-op regen leaves every file unchanged, that the edited regen updates
// files, and that check passes; after timing, that check passes on both
// projects.
//
// usage: clilatency -cli GENDAEMON -work DIR [-runs 30] [-target 25ms]
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
		fmt.Fprintf(os.Stderr, "clilatency: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	cli, work, truePath, cp string
	runs                    int
	target, timeout         time.Duration
}

// A command is one thing timed. prepare, if set, runs untimed before each
// run and returns argv; cleanup, if set, runs untimed after it.
type command struct {
	name     string
	targeted bool // whether the ≤ target median applies
	prepare  func(run int) ([]string, error)
	cleanup  func(run int) error
}

func run(args []string, w io.Writer) error {
	var o options
	fs := flag.NewFlagSet("clilatency", flag.ContinueOnError)
	fs.StringVar(&o.cli, "cli", "", "the gendaemon `binary`")
	fs.StringVar(&o.work, "work", "", "an empty `directory` to work in (left with the two projects in it)")
	fs.StringVar(&o.truePath, "true", "/bin/true", "the `binary` of the process start-up baseline")
	fs.StringVar(&o.cp, "cp", "/bin/cp", "the `binary` of the copy baseline (cp -r of a project)")
	fs.IntVar(&o.runs, "runs", 30, "timed runs of each command")
	fs.DurationVar(&o.target, "target", 25*time.Millisecond, "median each of new, regen and check must stay within")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "deadline of every command")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.cli == "" || o.work == "" {
		return errors.New("-cli and -work are required")
	}
	if o.runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	null, err := syscall.Open(os.DevNull, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(null)

	current := filepath.Join(o.work, "current")
	edited := filepath.Join(o.work, "edited")
	newParent := filepath.Join(o.work, "new")
	if err := os.Mkdir(newParent, 0o755); err != nil {
		return err
	}
	for _, dir := range []string{current, edited} {
		if _, err := output(o, "new", "myservice", "--dir", dir); err != nil {
			return err
		}
	}
	umask := "000" // the default project's
	flipUmask := func() error {
		next := map[string]string{"000": "022", "022": "000"}[umask]
		if err := setUmask(edited, umask, next); err != nil {
			return err
		}
		umask = next
		return nil
	}
	if err := validate(o, current, edited, flipUmask); err != nil {
		return err
	}

	fixed := func(argv ...string) func(int) ([]string, error) {
		return func(int) ([]string, error) { return argv, nil }
	}
	newDir := func(run int) string { return filepath.Join(newParent, strconv.Itoa(run)) }
	cpDir := func(run int) string { return filepath.Join(newParent, "cp-"+strconv.Itoa(run)) }
	cmds := []command{
		{name: "/bin/true (fork+exec baseline)", prepare: fixed(o.truePath)},
		{name: "gendaemon --version (CLI start-up)", prepare: fixed(o.cli, "--version")},
		{
			// Issue 14's yardstick: copying the same tree, unsynced.
			name: "cp -r of the project (copy baseline)",
			prepare: func(run int) ([]string, error) {
				return []string{o.cp, "-r", current, cpDir(run)}, nil
			},
			cleanup: func(run int) error { return os.RemoveAll(cpDir(run)) },
		},
		{
			name: "gendaemon new", targeted: true,
			prepare: func(run int) ([]string, error) {
				return []string{o.cli, "new", "myservice", "--dir", newDir(run)}, nil
			},
			cleanup: func(run int) error { return os.RemoveAll(newDir(run)) },
		},
		{name: "gendaemon regen (no-op)", targeted: true, prepare: fixed(o.cli, "regen", current)},
		{
			name: "gendaemon regen (umask edited)", targeted: true,
			prepare: func(int) ([]string, error) {
				if err := flipUmask(); err != nil {
					return nil, err
				}
				return []string{o.cli, "regen", edited}, nil
			},
		},
		{name: "gendaemon check", targeted: true, prepare: fixed(o.cli, "check", current)},
	}

	samples := make([][]float64, len(cmds))
	order := make([]int, len(cmds))
	for i := range order {
		order[i] = i
	}
	for round := 0; round <= o.runs; round++ { // round 0 warms up
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, c := range order {
			ms, err := once(o, cmds[c], round, null)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round, cmds[c].name, err)
			}
			if round > 0 {
				samples[c] = append(samples[c], ms)
			}
		}
	}
	for _, dir := range []string{current, edited} {
		if _, err := output(o, "check", dir); err != nil {
			return fmt.Errorf("after the runs: %w", err)
		}
	}
	report(w, o, cmds, samples)
	return nil
}

// validate checks, with their output, that the commands do what their names
// say.
func validate(o options, current, edited string, flipUmask func() error) error {
	out, err := output(o, "check", current)
	if err != nil {
		return err
	}
	if !strings.Contains(out, "every generated file matches") {
		return fmt.Errorf("check %s: unexpected output:\n%s", current, out)
	}
	out, err = output(o, "regen", current)
	if err != nil {
		return err
	}
	if strings.Contains(out, "updated") || strings.Contains(out, "created") || strings.Contains(out, "removed") {
		return fmt.Errorf("regen of an up-to-date project changed files:\n%s", out)
	}
	if err := flipUmask(); err != nil {
		return err
	}
	if out, err = output(o, "check", edited); err == nil {
		return fmt.Errorf("check %s passes after a manifest edit:\n%s", edited, out)
	}
	out, err = output(o, "regen", edited)
	if err != nil {
		return err
	}
	if !strings.Contains(out, "updated") {
		return fmt.Errorf("regen after a manifest edit updated nothing:\n%s", out)
	}
	return nil
}

var umaskLine = regexp.MustCompile(`(?m)^umask: "([0-7]+)"$`)

// setUmask changes the umask in dir's manifest from old to umask.
func setUmask(dir, old, umask string) error {
	name := filepath.Join(dir, "gendaemon.yaml")
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	m := umaskLine.FindAllSubmatch(data, -1)
	if len(m) != 1 || string(m[0][1]) != old {
		return fmt.Errorf("%s: want one line umask: %q", name, old)
	}
	data = umaskLine.ReplaceAllLiteral(data, []byte(`umask: "`+umask+`"`))
	return os.WriteFile(name, data, 0o644)
}

// output runs the CLI with args, untimed, and returns its combined output;
// a non-zero exit is an error.
func output(o options, args ...string) (string, error) {
	cmd := exec.Command(o.cli, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return "", err
	}
	timer := time.AfterFunc(o.timeout, func() { _ = cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	if err != nil {
		return buf.String(), fmt.Errorf("gendaemon %s: %w:\n%s", strings.Join(args, " "), err, buf.String())
	}
	return buf.String(), nil
}

// once runs c once and returns its wall time in milliseconds.
func once(o options, c command, round, null int) (float64, error) {
	argv, err := c.prepare(round)
	if err != nil {
		return 0, err
	}
	env := os.Environ()
	attr := &syscall.ProcAttr{Dir: o.work, Env: env, Files: []uintptr{uintptr(null), uintptr(null), uintptr(null)}}

	t0 := time.Now()
	pid, err := syscall.ForkExec(argv[0], argv, attr)
	if err != nil {
		return 0, err
	}
	fd, err := pidfd.Open(pid)
	if err != nil {
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, 0, nil) // the child is ours: it cannot be gone
		return 0, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer syscall.Close(fd)
	_, t1, err := pidfd.Wait([]int{fd}, o.timeout)
	if err != nil {
		pidfd.KillWait(fd, pid)
		return 0, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		return 0, err
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return 0, fmt.Errorf("%s: %s", strings.Join(argv, " "), pidfd.WaitString(ws))
	}
	if c.cleanup != nil {
		if err := c.cleanup(round); err != nil {
			return 0, err
		}
	}
	return float64(t1.Sub(t0)) / 1e6, nil
}

func report(w io.Writer, o options, cmds []command, samples [][]float64) {
	target := float64(o.target) / 1e6
	version := stats.Quantile(samples[1], 0.5)
	copied := stats.Quantile(samples[2], 0.5)
	fmt.Fprintf(w, "## CLI latency (ms; %d runs per command, interleaved; fork → exit)\n\n", o.runs)
	fmt.Fprintln(w, "| command | median | p90 | min | ÷ --version | − --version | ÷ cp -r | issue 5: ≤ ms | issue 14: ≤ 8 × cp -r |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---|---|")
	missed, missedCopy := 0, 0
	for i, c := range cmds {
		med := stats.Quantile(samples[i], 0.5)
		verdict, copyVerdict := "-", "-"
		if c.targeted {
			verdict, copyVerdict = "PASS", "PASS"
			if med > target {
				verdict = "**MISS**"
				missed++
			}
			if med > 8*copied {
				copyVerdict = "**MISS**"
				missedCopy++
			}
		}
		fmt.Fprintf(w, "| %s | %.2f | %.2f | %.2f | %.2f | %+.2f | %.2f | %s | %s |\n", c.name,
			med, stats.Quantile(samples[i], 0.9), slices.Min(samples[i]), med/version, med-version,
			med/copied, verdict, copyVerdict)
	}
	fmt.Fprintln(w)
	if missed == 0 {
		fmt.Fprintf(w, "every command within %.0f ms median (issue 5): PASS\n", target)
	} else {
		fmt.Fprintf(w, "%d command(s) over %.0f ms median (issue 5): MISS\n", missed, target)
	}
	if missedCopy == 0 {
		fmt.Fprintf(w, "every command within 8 × cp -r (%.2f ms) median (issue 14): PASS\n", copied)
	} else {
		fmt.Fprintf(w, "%d command(s) over 8 × cp -r (%.2f ms) median (issue 14): MISS\n", missedCopy, copied)
	}
}
