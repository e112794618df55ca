package generator

import "testing"

// TestDefaultAddr checks the address that the scaffold of a daemon with
// listen addresses binds off systemd: the first TCP one, as net.Listen
// takes it, or a loopback default if there is none.
func TestDefaultAddr(t *testing.T) {
	for _, tc := range []struct {
		name   string
		listen []string
		want   string
	}{
		{"port", []string{"8080"}, ":8080"},
		{"ipv4", []string{"127.0.0.1:9000", "8080"}, "127.0.0.1:9000"},
		{"ipv6", []string{"[::1]:8080"}, "[::1]:8080"},
		{"unix socket first", []string{"/run/x.sock", "9000"}, ":9000"},
		{"unix sockets only", []string{"/run/x.sock"}, "127.0.0.1:8080"},
	} {
		o := NewOptions("x")
		o.Listen = tc.listen
		if got := defaultAddr(o); got != tc.want {
			t.Errorf("%s: defaultAddr(%q) = %q, want %q", tc.name, tc.listen, got, tc.want)
		}
	}
}
