//go:build linux

package main

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// A gendaemon start as strace -f -ttt logs it, cut down: the launcher
// (100), its session leader (110) and the daemon (120), whose thread 121
// sends READY before the probe's line.
const gendaemonTrace = `100 1000.000000 execve("./gd", ["./gd", "start"], 0x7ffc /* 36 vars */) = 0
100 1000.001000 write(11, "gendaemon-handoff v1 stage=1", 28) = 28
110 1000.003000 execve("/x/gd", ["./gd", "start"], 0x37bb /* 36 vars */ <unfinished ...>
110 1000.003100 <... execve resumed>) = 0
120 1000.005500 execve("/x/gd", ["./gd", "start"], 0x24c5 /* 36 vars */ <unfinished ...>
110 1000.005600 write(4, "STARTED 120\n", 14) = 14
121 1000.008000 write(4, "READY 120 ", 12) = 12
101 1000.008500 exit_group(0) = ?
100 1000.009000 +++ exited with 0 +++
121 1000.009500 write(4, "{\"impl\":\"gendaemon\",\"pid\":120,"..., 463) = 463
`

// go-reexec: no READY; its launcher exits before the daemon is ready.
const baselineTrace = `200 2000.000000 execve("./gobaseline", ["./gobaseline", "start"], 0x7ffe /* 36 vars */) = 0
205 2000.002000 execve("/x/gobaseline", ["./gobaseline", "start"], 0x15d4 /* 37 vars */ <unfinished ...>
200 2000.002500 +++ exited with 0 +++
209 2000.004000 execve("/x/gobaseline", ["./gobaseline", "start"], 0x27c2 /* 37 vars */ <unfinished ...>
209 2000.005000 write(3, "{\"impl\":\"go-reexec\",\"pid\":209,"..., 241) = 241
`

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, trace string
		want        map[string]float64
	}{
		{"gendaemon", gendaemonTrace, map[string]float64{
			"launcher": 3, "session leader": 2.5, "daemon": 2.5, "probe": 1.5,
			"launcher exit": 1, "ready": 9.5, "return": 9,
		}},
		{"go-reexec", baselineTrace, map[string]float64{
			"launcher": 2, "session leader": 2, "daemon": 1, "ready": 5, "return": 2.5,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "trace")
			if err := os.WriteFile(path, []byte(tc.trace), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := parse(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Errorf("measures %v, want %v", got, tc.want)
			}
			for k, w := range tc.want {
				if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-6 {
					t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
				}
			}
		})
	}
}

func TestParseIncomplete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace")
	// The daemon's execve and the probe's line are missing.
	if err := os.WriteFile(path, []byte(baselineTrace[:200]), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parse(path); err == nil {
		t.Error("parse of a trace without the daemon's execve: no error")
	}
}

// The same gendaemon start as perf script -F pid,tid,time,event,trace
// prints it, under the shell that waits for the ready line (pid 90).
const gendaemonPerf = `    90/90     1000.000000: sched:sched_process_exec: filename=/bin/sh pid=90 old_pid=90
   100/100    1000.000500: sched:sched_process_exec: filename=./gd pid=100 old_pid=100
   100/100    1000.001000: syscalls:sys_enter_write: fd: 0x0000000b, buf: 0x3576942b3318, count: 0x0000001c
   110/110    1000.003500: sched:sched_process_exec: filename=/x/gd pid=110 old_pid=110
   110/110    1000.005600: syscalls:sys_enter_write: fd: 0x00000005, buf: 0x237730786080, count: 0x0000000e
   120/120    1000.006000: sched:sched_process_exec: filename=/x/gd pid=120 old_pid=120
   110/110    1000.006100: sched:sched_process_exit: comm=gd pid=110 prio=120 group_dead=true
   120/121    1000.007900: syscalls:sys_enter_write: fd: 0x00000003, buf: 0x39c5fe28a010, count: 0x00000006
   120/121    1000.008500: syscalls:sys_enter_write: fd: 0x00000004, buf: 0x39c5fe28a040, count: 0x0000000c
   100/101    1000.009000: sched:sched_process_exit: comm=gd pid=101 prio=120 group_dead=false
   100/100    1000.009500: sched:sched_process_exit: comm=gd pid=100 prio=120 group_dead=true
    90/90     1000.009600: sched:sched_process_exec: filename=/usr/bin/head pid=90 old_pid=90
   120/121    1000.010000: syscalls:sys_enter_write: fd: 0x00000004, buf: 0x39c5fe28a100, count: 0x000001d5
`

func TestParsePerf(t *testing.T) {
	got, err := parsePerf(gendaemonPerf, "gd")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"launcher": 3, "session leader": 2.5, "daemon": 2.5, "probe": 1.5,
		"launcher exit": 1, "ready": 9.5, "return": 9,
	}
	if len(got) != len(want) {
		t.Errorf("measures %v, want %v", got, want)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-6 {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
		}
	}
	if _, err := parsePerf(gendaemonPerf, "other"); err == nil {
		t.Error("parsePerf of a trace without the program's execs: no error")
	}
}
