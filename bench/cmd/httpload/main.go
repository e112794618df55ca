// Command httpload keeps an HTTP daemon busy while it is upgraded, and
// counts what went wrong: the load of gendaemon's zero-downtime upgrade
// tests (issue 13) and of bench/upgrade-handover.sh.
//
// It runs -clients concurrent clients that send GET requests to -url in a
// loop, on keep-alive connections, for -duration; -fresh more clients open
// a new connection for every request, so that connections are also being
// established while the listening socket changes hands. Every response's
// body must be "VERSION PID\n", as the test service
// (cmd/gendaemon/testdata/httpd/service.go.in) answers.
//
// Once every client has sent its first request, it prints "running". While it
// runs, a line "expect VERSION" on its standard input (VERSION: v and a
// number) says that an upgrade to VERSION has returned: a response from an
// older version to a request sent after the line was read counts as stale.
// A line "stop" ends the run before -duration. At the end it prints the
// result, as one line of JSON (httpload.Result, bench/httpload).
//
// usage: httpload -url URL [-clients 20] [-fresh 0] [-duration 10s] [-timeout 5s] [-any]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gendaemon/gendaemon/bench/httpload"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "httpload: %v\n", err)
		os.Exit(1)
	}
}

// maxExamples bounds Errors and StaleAnswers.
const maxExamples = 10

type options struct {
	url               string
	clients, fresh    int
	duration, timeout time.Duration
	any               bool
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("httpload", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "", "the `URL` to load")
	fs.IntVar(&o.clients, "clients", 20, "concurrent clients on keep-alive connections")
	fs.IntVar(&o.fresh, "fresh", 0, "concurrent clients that open a connection per request")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to load")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "the deadline of each request")
	fs.BoolVar(&o.any, "any", false, "take any answer with status 200, not only \"VERSION PID\"")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.url == "" || o.clients < 0 || o.fresh < 0 || o.clients+o.fresh == 0 {
		return errors.New("-url and at least one client are required")
	}
	l := newLoad(o)
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	go l.readCommands(stdin, cancel)
	res := l.run(ctx, func() { fmt.Fprintln(stdout, "running") })
	return json.NewEncoder(stdout).Encode(res)
}

// A load is one run of the clients.
type load struct {
	o        options
	began    time.Time
	expected atomic.Int64 // the oldest version that may answer
	conns    atomic.Int64
	keep     *http.Client
	fresh    *http.Client

	mu  sync.Mutex
	res httpload.Result
}

func newLoad(o options) *load {
	l := &load{o: o, res: httpload.Result{Versions: map[string]int{}, PIDs: map[string][]int{}}}
	dialer := &net.Dialer{Timeout: o.timeout}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		l.conns.Add(1)
		return dialer.DialContext(ctx, network, addr)
	}
	l.keep = &http.Client{Timeout: o.timeout, Transport: &http.Transport{
		DialContext: dial, MaxIdleConnsPerHost: o.clients, DisableCompression: true,
	}}
	l.fresh = &http.Client{Timeout: o.timeout, Transport: &http.Transport{
		DialContext: dial, DisableKeepAlives: true, DisableCompression: true,
	}}
	return l
}

// readCommands reads "expect VERSION" and "stop" lines until r ends; stop
// is called on "stop".
func (l *load) readCommands(r io.Reader, stop func()) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if v, ok := strings.CutPrefix(line, "expect "); ok {
			if n, err := versionNumber(v); err == nil {
				l.expected.Store(int64(n))
			}
		}
		if line == "stop" {
			stop()
		}
	}
}

// run runs the clients until ctx ends, calls running once each has had the
// outcome of its first request, and returns the result.
func (l *load) run(ctx context.Context, running func()) httpload.Result {
	l.began = time.Now()
	var first, done sync.WaitGroup
	first.Add(l.o.clients + l.o.fresh)
	for i := range l.o.clients + l.o.fresh {
		client := l.keep
		if i >= l.o.clients {
			client = l.fresh
		}
		done.Go(func() {
			l.request(ctx, client)
			first.Done()
			for ctx.Err() == nil {
				l.request(ctx, client)
			}
		})
	}
	first.Wait()
	running()
	done.Wait()
	l.keep.CloseIdleConnections()
	l.res.Conns = l.conns.Load()
	return l.res
}

// request sends one request and records its outcome. A request that the
// end of the run cuts short is not counted.
func (l *load) request(ctx context.Context, client *http.Client) {
	expected := l.expected.Load()
	began := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.o.url, nil)
	if err != nil {
		l.fail(err, client, began)
		return
	}
	resp, err := client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %s: %q", resp.Status, body)
		}
	}
	if ctx.Err() != nil && err != nil {
		return
	}
	version, pid := "any", 0
	if err == nil && !l.o.any {
		version, pid, err = parseAnswer(body)
	}
	if err != nil {
		l.fail(err, client, began)
		return
	}
	l.answer(version, pid, expected, time.Since(began))
}

// fail records a failed request, sent at began by client.
func (l *load) fail(err error, client *http.Client, began time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.Requests++
	l.res.Failures++
	if errors.Is(err, syscall.ECONNREFUSED) {
		l.res.Refused++
	}
	if len(l.res.Errors) < maxExamples {
		kind := "keep-alive"
		if client == l.fresh {
			kind = "fresh"
		}
		l.res.Errors = append(l.res.Errors, fmt.Sprintf("%s, sent at %v: %v", kind, began.Sub(l.began).Round(time.Microsecond), err))
	}
}

// parseAnswer returns the version and pid of an answer.
func parseAnswer(body []byte) (version string, pid int, err error) {
	version, pidText, _ := strings.Cut(strings.TrimSpace(string(body)), " ")
	_, verr := versionNumber(version)
	pid, perr := strconv.Atoi(pidText)
	if verr != nil || perr != nil {
		return "", 0, fmt.Errorf("answer %q: want \"VERSION PID\"", body)
	}
	return version, pid, nil
}

// answer records an answer from version, process pid, to a request sent
// when version expected was the oldest allowed.
func (l *load) answer(version string, pid int, expected int64, took time.Duration) {
	n, err := versionNumber(version)
	if err != nil { // -any
		n = int(expected)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.Requests++
	l.res.Versions[version]++
	if !slices.Contains(l.res.PIDs[version], pid) {
		l.res.PIDs[version] = append(l.res.PIDs[version], pid)
	}
	if int64(n) < expected {
		l.res.Stale++
		if len(l.res.StaleAnswers) < maxExamples {
			l.res.StaleAnswers = append(l.res.StaleAnswers, fmt.Sprintf("%s (pid %d) answered a request sent after v%d was expected", version, pid, expected))
		}
	}
	l.res.MaxLatency = max(l.res.MaxLatency, float64(took)/float64(time.Millisecond))
}

// versionNumber returns N of a version vN.
func versionNumber(v string) (int, error) {
	digits, ok := strings.CutPrefix(v, "v")
	n, err := strconv.Atoi(digits)
	if !ok || err != nil || n < 0 {
		return 0, fmt.Errorf("version %q: want v and a number", v)
	}
	return n, nil
}
