// Package stats holds the summary statistics the bench programs report:
// quantiles of samples and ratios against a baseline.
package stats

import (
	"fmt"
	"slices"
)

// Quantile returns the q-quantile of xs (nearest rank; the mean of the two
// middle samples for the median of an even count), or 0 for no samples.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if q == 0.5 {
		if n%2 == 1 {
			return s[n/2]
		}
		return (s[n/2-1] + s[n/2]) / 2
	}
	i := int(q*float64(n)+0.999999) - 1
	return s[min(max(i, 0), n-1)]
}

// Median is Quantile(xs, 0.5).
func Median(xs []float64) float64 { return Quantile(xs, 0.5) }

// Ratio formats a/b with two decimals, or "-" when b is not positive.
func Ratio(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}
