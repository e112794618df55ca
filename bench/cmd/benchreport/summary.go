package main

import (
	"fmt"
	"io"
	"strings"

	benchstats "github.com/gendaemon/gendaemon/bench/internal/stats"
)

// One run's ratios move by about ±0.1 on a shared machine, so a claim
// rests on several runs: summary prints each run's figures on a row of its
// own, then their median and range.

// column is one figure of a run: a name and how it is computed.
type column struct {
	name  string
	value func(r *results) (float64, bool)
}

// summaryColumns are, at each limit of first, the baseline's ready time,
// each target's return ÷ the baseline's ready, and o.target's paired ratio
// to each of o.also.
func summaryColumns(first *results, o options) []column {
	var cols []column
	for _, lim := range first.meta.Nofile {
		cols = append(cols, column{
			name: fmt.Sprintf("%s ready @%s (ms)", o.baseline, lim),
			value: func(r *results) (float64, bool) {
				s := r.stats(o.baseline, lim)
				return s.ready, s.ok > 0
			},
		})
		for _, t := range append([]string{o.target}, o.also...) {
			cols = append(cols, column{
				name: fmt.Sprintf("%s return ÷ %s ready @%s", t, o.baseline, lim),
				value: func(r *results) (float64, bool) {
					a, b := r.stats(t, lim), r.stats(o.baseline, lim)
					return a.ret / b.ready, a.ok > 0 && b.ok > 0 && b.ready > 0
				},
			})
		}
		for _, t := range o.also {
			cols = append(cols, column{
				name: fmt.Sprintf("%s ÷ %s paired @%s", o.target, t, lim),
				value: func(r *results) (float64, bool) {
					ps := r.pairedRatios(o.target, t, lim)
					return benchstats.Median(ps), len(ps) > 0
				},
			})
		}
	}
	return cols
}

// summary prints the figures of the runs in dirs, one row each, then a row
// of their medians and one of their ranges.
func summary(w io.Writer, dirs []string, o options) error {
	var runs []*results
	for _, d := range dirs {
		r, err := load(d)
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		return fmt.Errorf("no run directories given")
	}
	cols := summaryColumns(runs[0], o)
	header := []string{"run"}
	for _, c := range cols {
		header = append(header, c.name)
	}
	fmt.Fprintf(w, "| %s |\n|---%s|\n", strings.Join(header, " | "), strings.Repeat("|---:", len(cols)))
	values := make([][]float64, len(cols))
	for i, r := range runs {
		row := []string{fmt.Sprint(i + 1)}
		for j, c := range cols {
			v, ok := c.value(r)
			if !ok {
				row = append(row, "-")
				continue
			}
			values[j] = append(values[j], v)
			row = append(row, fmt.Sprintf("%.3f", v))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	med, rng := []string{"median"}, []string{"min–max"}
	for _, vs := range values {
		if len(vs) == 0 {
			med, rng = append(med, "-"), append(rng, "-")
			continue
		}
		med = append(med, fmt.Sprintf("**%.3f**", benchstats.Median(vs)))
		rng = append(rng, fmt.Sprintf("%.3f–%.3f", benchstats.Quantile(vs, 0), benchstats.Quantile(vs, 1)))
	}
	fmt.Fprintf(w, "| %s |\n| %s |\n", strings.Join(med, " | "), strings.Join(rng, " | "))
	return nil
}
