package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// launchOf is a successful launch of target in round at nofile 1024 that
// returned after ret ms, or a failed one if ret is 0.
func launchOf(target string, round int, ret float64) launch {
	rc := 0
	if ret == 0 {
		rc = 1
	}
	ready := ret
	return launch{Target: target, Round: round, Nofile: "1024", RC: &rc, ReadyMS: &ready, ReturnMS: &ret}
}

func TestPairedRatios(t *testing.T) {
	r := &results{launches: []launch{
		launchOf("a", 1, 6), launchOf("b", 1, 3), // 2
		launchOf("b", 2, 4), launchOf("a", 2, 2), // 0.5, in either order
		launchOf("a", 3, 5),                      // b did not run in round 3
		launchOf("a", 4, 9), launchOf("b", 4, 0), // b failed
		launchOf("a", 5, 0), launchOf("b", 5, 3), // a failed
	}}
	if got, want := r.pairedRatios("a", "b", "1024"), []float64{2, 0.5}; !slices.Equal(got, want) {
		t.Errorf("pairedRatios(a, b) = %v, want %v", got, want)
	}
	if got := r.pairedRatios("a", "b", "20000"); len(got) != 0 {
		t.Errorf("pairedRatios at a limit that did not run = %v, want none", got)
	}
}

// TestSummary writes two runs and checks the medians and ranges of a
// ratio to the baseline and of a paired ratio.
func TestSummary(t *testing.T) {
	runs := [][]string{
		{`{"target": "base", "round": 1, "nofile": "1024", "rc": 0, "ready_ms": 2, "return_ms": 1}`,
			`{"target": "t", "round": 1, "nofile": "1024", "rc": 0, "ready_ms": 3, "return_ms": 3}`,
			`{"target": "u", "round": 1, "nofile": "1024", "rc": 0, "ready_ms": 3, "return_ms": 6}`},
		{`{"target": "base", "round": 1, "nofile": "1024", "rc": 0, "ready_ms": 4, "return_ms": 1}`,
			`{"target": "t", "round": 1, "nofile": "1024", "rc": 0, "ready_ms": 5, "return_ms": 5}`,
			`{"target": "u", "round": 1, "nofile": "1024", "rc": 0, "ready_ms": 3, "return_ms": 4}`},
	}
	var dirs []string
	for _, lines := range runs {
		dir := t.TempDir()
		meta := `{"runs": 1, "nofile": ["1024"], "targets": [{"name": "base"}, {"name": "t"}, {"name": "u"}]}`
		if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(meta), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "runs.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	var out bytes.Buffer
	if err := summary(&out, dirs, options{target: "t", baseline: "base", also: []string{"u"}}); err != nil {
		t.Fatal(err)
	}
	// Columns: base ready, t ÷ base, u ÷ base, t ÷ u paired.
	for _, want := range []string{
		"| 1 | 2.000 | 1.500 | 3.000 | 0.500 |",
		"| 2 | 4.000 | 1.250 | 1.000 | 1.250 |",
		"| median | **3.000** | **1.375** | **2.000** | **0.875** |",
		"| min–max | 2.000–4.000 | 1.250–1.500 | 1.000–3.000 | 0.500–1.250 |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}
