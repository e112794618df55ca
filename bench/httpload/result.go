// Package httpload holds what bench/cmd/httpload, the load client of the
// upgrade tests and benchmark, reports, so that the tests that run it
// decode the same type it encodes.
package httpload

// Result is what httpload prints at the end, as one line of JSON.
type Result struct {
	Requests int `json:"requests"` // answered or failed
	Failures int `json:"failures"` // transport errors and non-200 answers, refused included
	Refused  int `json:"refused"`  // connections refused (ECONNREFUSED)
	Stale    int `json:"stale"`    // answers from a version older than expected
	// Conns is the number of connections opened.
	Conns int64 `json:"conns"`
	// Versions counts the answers of each version, and PIDs lists the
	// processes that answered for it.
	Versions map[string]int   `json:"versions"`
	PIDs     map[string][]int `json:"pids"`
	// Errors and StaleAnswers are the first few of each, described.
	Errors       []string `json:"errors,omitempty"`
	StaleAnswers []string `json:"staleAnswers,omitempty"`
	// MaxLatency is the longest time one request took, in milliseconds.
	MaxLatency float64 `json:"maxLatencyMs"`
}
