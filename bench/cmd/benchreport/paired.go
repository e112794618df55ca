package main

import (
	"fmt"
	"io"

	benchstats "github.com/gendaemon/gendaemon/bench/internal/stats"
)

// A start's time drifts with the machine's load by far more than a
// runtime change moves it, so two runtimes are compared start by start:
// the harness runs every target once per round, in shuffled order, so the
// two starts of one round saw about the same load.

// pairedRatios are, for each round in which both num and den succeeded at
// nofile, num's launcher-return time over den's.
func (r *results) pairedRatios(num, den, nofile string) []float64 {
	dens := map[int]float64{}
	for _, l := range r.launches {
		if l.Target == den && l.Nofile == nofile && l.ok() && l.ReturnMS != nil && *l.ReturnMS > 0 {
			dens[l.Round] = *l.ReturnMS
		}
	}
	var ratios []float64
	for _, l := range r.launches {
		if l.Target != num || l.Nofile != nofile || !l.ok() || l.ReturnMS == nil {
			continue
		}
		if d, ok := dens[l.Round]; ok {
			ratios = append(ratios, *l.ReturnMS/d)
		}
	}
	return ratios
}

// pairedReport prints, for each of others that ran, the median and
// quartiles of target's paired ratios to it, at every limit.
func pairedReport(w io.Writer, r *results, target string, others []string) {
	var rows []string
	for _, o := range others {
		if !r.ran(o) {
			continue
		}
		for _, lim := range r.meta.Nofile {
			ps := r.pairedRatios(target, o, lim)
			if len(ps) == 0 {
				continue
			}
			rows = append(rows, fmt.Sprintf("| %s ÷ %s | %s | %d | **%.3f** | %.3f–%.3f |", target, o, lim, len(ps),
				benchstats.Median(ps), benchstats.Quantile(ps, 0.25), benchstats.Quantile(ps, 0.75)))
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "## Paired per round: launcher-return ÷ the other target's in the same round")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| pair | nofile | rounds | median | p25–p75 |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|")
	for _, row := range rows {
		fmt.Fprintln(w, row)
	}
	fmt.Fprintln(w)
}
