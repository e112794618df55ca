package main

import (
	"slices"
	"testing"
)

func TestClassifyFDs(t *testing.T) {
	tests := []struct {
		name           string
		fds            map[string]string
		pidfile        string
		inherited, own []string
	}{
		{
			name: "clean",
			fds:  map[string]string{"0": "/dev/null", "1": "/dev/null", "2": "/dev/null", "4": "/tmp/x/ready.fifo"},
		},
		{
			name: "daemon's own",
			fds: map[string]string{"3": "/run/x/#123 (deleted)", "4": "/tmp/x/ready.fifo",
				"5": "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "7": "anon_inode:[eventpoll]", "8": "anon_inode:[eventfd]",
				"9": "socket:[6077242]"},
			pidfile: "/run/x/gd.pid",
			own: []string{"3:pidfile", "5:cpu.cfs_quota_us (Go runtime cgroup limit)", "7:eventpoll (Go netpoller)", "8:eventfd (Go netpoller)",
				"9:socket (the daemon's control socket)"},
		},
		{
			name:      "a second socket",
			fds:       map[string]string{"4": "/tmp/x/ready.fifo", "9": "socket:[1]", "10": "socket:[2]"},
			own:       []string{"9:socket (the daemon's control socket)"},
			inherited: []string{"10:socket:[2]"},
		},
		{
			name:      "inherited",
			fds:       map[string]string{"4": "/tmp/x/ready.fifo", "9": "/tmp/d/canary", "10": "/dev/pts/3", "11": "pipe:[77]", "12": "/other/#9 (deleted)"},
			pidfile:   "/run/x/gd.pid",
			inherited: []string{"9:canary", "10:tty", "11:pipe:[77]", "12:/other/#… (deleted)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inherited, own := classifyFDs(&ready{FifoFD: 4, FDs: tt.fds}, tt.pidfile)
			if !slices.Equal(inherited, tt.inherited) || !slices.Equal(own, tt.own) {
				t.Errorf("classifyFDs(%v) = %q, %q, want %q, %q", tt.fds, inherited, own, tt.inherited, tt.own)
			}
		})
	}
}

func TestSummaryPass(t *testing.T) {
	summary := "| target | not session leader | new session | tty_nr |\n|---|---|---|---|\n" +
		"| good | yes | yes | 0 |\n| bad | yes | launcher's ✗ | 34816 ✗ |\n"
	tests := []struct {
		target string
		want   bool
	}{{"good", true}, {"bad", false}, {"missing", false}}
	for _, tt := range tests {
		if got := summaryPass(summary, tt.target, "new session"); got != tt.want {
			t.Errorf("summaryPass(%q) = %v, want %v", tt.target, got, tt.want)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{{"empty", nil, 0}, {"odd", []float64{3, 1, 2}, 2}, {"even", []float64{4, 1, 3, 2}, 2.5}}
	for _, tt := range tests {
		if got := median(tt.xs); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
}
