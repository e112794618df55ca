// Package loadtest drives bench/cmd/httpload from a test: it starts the
// load client, waits until its clients run, sends it commands and decodes
// its result, failing the test on any error. The upgrade tests run the
// client on the host (cmd/gendaemon) and in a container (systemdtest).
package loadtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/gendaemon/gendaemon/bench/httpload"
)

// A Client is a running httpload.
type Client struct {
	t     testing.TB
	stdin io.WriteCloser
	lines chan string // its standard output, line by line
}

// Start starts cmd, an httpload command line, and returns once httpload
// says that its clients run, within timeout. end is called with the
// process's pid as soon as it runs: it must make the test end the process
// (a cleanup that kills it), after which Start's own cleanup reaps it.
func Start(t testing.TB, cmd *exec.Cmd, end func(pid int), timeout time.Duration) *Client {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Wait() })
	end(cmd.Process.Pid) // its cleanup runs before the wait: cleanups run last first
	c := &Client{t: t, stdin: stdin, lines: make(chan string, 4)}
	go func() {
		defer close(c.lines)
		s := bufio.NewScanner(stdout)
		s.Buffer(nil, 1<<20)
		for s.Scan() {
			c.lines <- s.Text()
		}
	}()
	if line := c.next(timeout); line != "running" {
		t.Fatalf("httpload said %q, want running", line)
	}
	return c
}

// next returns the next line of httpload's output, within timeout.
func (c *Client) next(timeout time.Duration) string {
	c.t.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok {
			c.t.Fatal("httpload ended without a result")
		}
		return line
	case <-time.After(timeout):
		c.t.Fatalf("httpload said nothing for %v", timeout)
		return ""
	}
}

// Send writes a command line to httpload ("expect vN", "stop").
func (c *Client) Send(line string) {
	c.t.Helper()
	if _, err := fmt.Fprintln(c.stdin, line); err != nil {
		c.t.Fatalf("telling httpload %q: %v", line, err)
	}
}

// Result waits, at most timeout, for httpload's result, which it prints as
// it ends.
func (c *Client) Result(timeout time.Duration) httpload.Result {
	c.t.Helper()
	var r httpload.Result
	if err := json.Unmarshal([]byte(c.next(timeout)), &r); err != nil {
		c.t.Fatalf("httpload's result: %v", err)
	}
	return r
}
