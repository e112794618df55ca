package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gendaemon/gendaemon/bench/httpload"
)

// loadFor runs a load of 2 keep-alive clients and 1 fresh one on url for d,
// with expected as the oldest version allowed.
func loadFor(t *testing.T, url string, expected int64, d time.Duration) httpload.Result {
	t.Helper()
	l := newLoad(options{url: url, clients: 2, fresh: 1, timeout: 5 * time.Second})
	l.expected.Store(expected)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return l.run(ctx, func() {})
}

func answering(body string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, body)
	}))
}

func TestCountsAnswersByVersion(t *testing.T) {
	srv := answering("v3 42\n")
	defer srv.Close()
	r := loadFor(t, srv.URL, 3, 200*time.Millisecond)
	if r.Requests == 0 || r.Failures != 0 || r.Stale != 0 || r.Versions["v3"] != r.Requests || len(r.PIDs["v3"]) != 1 || r.PIDs["v3"][0] != 42 {
		t.Errorf("against a server answering v3 42: %+v; want every request answered by v3, pid 42, none stale", r)
	}
	if r.Conns < 2 {
		t.Errorf("%d connections; want at least one per client", r.Conns)
	}
}

func TestCountsStaleAnswers(t *testing.T) {
	srv := answering("v1 7\n")
	defer srv.Close()
	r := loadFor(t, srv.URL, 2, 200*time.Millisecond)
	if r.Requests == 0 || r.Stale != r.Requests || r.Failures != 0 || len(r.StaleAnswers) == 0 {
		t.Errorf("v1 answering when v2 is expected: %+v; want every answer stale", r)
	}
}

func TestCountsRefusedConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	r := loadFor(t, "http://"+addr+"/", 0, 200*time.Millisecond)
	if r.Requests == 0 || r.Failures != r.Requests || r.Refused != r.Requests {
		t.Errorf("against a closed port: %+v; want every request refused", r)
	}
}

func TestRefusesAnAnswerWithoutVersion(t *testing.T) {
	srv := answering("hello\n")
	defer srv.Close()
	r := loadFor(t, srv.URL, 0, 200*time.Millisecond)
	if r.Requests == 0 || r.Failures != r.Requests || len(r.Errors) == 0 || !strings.Contains(r.Errors[0], `want "VERSION PID"`) {
		t.Errorf("against a server answering hello: %+v; want every request failed", r)
	}
}

// TestStopsOnCommand: "stop" on the standard input ends the run long before
// -duration, with a result.
func TestStopsOnCommand(t *testing.T) {
	srv := answering("v1 1\n")
	defer srv.Close()
	stdin := strings.NewReader("expect v1\nstop\n")
	var out strings.Builder
	began := time.Now()
	if err := run([]string{"-url", srv.URL, "-clients", "1", "-duration", "1m"}, stdin, &out); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 30*time.Second {
		t.Errorf("run took %v after stop", took)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var r httpload.Result
	if len(lines) != 2 || lines[0] != "running" || json.Unmarshal([]byte(lines[1]), &r) != nil || r.Failures != 0 {
		t.Errorf("output %q; want running, then a result without failures", out.String())
	}
}

func TestTakesAnyAnswerWithAny(t *testing.T) {
	srv := answering("hello\n")
	defer srv.Close()
	l := newLoad(options{url: srv.URL, clients: 1, timeout: 5 * time.Second, any: true})
	l.expected.Store(2)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r := l.run(ctx, func() {})
	if r.Requests == 0 || r.Failures != 0 || r.Stale != 0 || r.Versions["any"] != r.Requests {
		t.Errorf("-any against a server answering hello: %+v; want every answer counted, none stale", r)
	}
}
