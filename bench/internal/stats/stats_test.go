package stats

import "testing"

func TestQuantile(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		q    float64
		want float64
	}{
		{"empty", nil, 0.5, 0},
		{"odd median", []float64{3, 1, 2}, 0.5, 2},
		{"even median", []float64{4, 1, 3, 2}, 0.5, 2.5},
		{"p90 of ten", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 0.9, 9},
		{"p90 of one", []float64{7}, 0.9, 7},
	} {
		if got := Quantile(tc.xs, tc.q); got != tc.want {
			t.Errorf("%s: Quantile(%v, %v) = %v, want %v", tc.name, tc.xs, tc.q, got, tc.want)
		}
	}
}

func TestRatio(t *testing.T) {
	if got := Ratio(3, 2); got != "1.50" {
		t.Errorf("Ratio(3, 2) = %q, want 1.50", got)
	}
	if got := Ratio(3, 0); got != "-" {
		t.Errorf("Ratio(3, 0) = %q, want -", got)
	}
}
