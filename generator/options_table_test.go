package generator

import (
	"reflect"
	"slices"
	"testing"
)

// TestOptionSpecsMatchManifest checks the table against Manifest: every
// option key of the manifest has a row and every row a manifest field, and
// every option survives the trip Options -> Manifest -> Options with a
// value other than its default.
func TestOptionSpecsMatchManifest(t *testing.T) {
	var keys []string
	for _, s := range OptionSpecs() {
		keys = append(keys, s.Key)
	}
	for _, key := range yamlKeys(reflect.TypeFor[Manifest]()) {
		switch key {
		case "version", "generator", "name", "files":
			continue
		}
		if !slices.Contains(keys, key) {
			t.Errorf("manifest key %s has no row in OptionSpecs", key)
		}
	}
	changed := map[string][]string{
		"module": {"example.com/acme/myservice"}, "workdir": {"/srv"}, "umask": {"027"}, "maxfd": {"64"},
		"stdio": {"/var/log/in"}, "log_file": {"/var/log/myservice.log"}, "pidfile": {"/run/x.pid"},
		"user": {"nobody"}, "group": {"nogroup"}, "listen": {"8080", "/run/myservice.sock"},
		"restart": {"always"}, "restart_sec": {"5s"}, "timeout_start": {"infinity"}, "timeout_stop": {"1min 30s"},
		"watchdog": {"30s"}, "limit_nofile": {"4096:524288"}, "environment": {"A=1", "B=two words"},
		"environment_file": {"-/etc/default/myservice"}, "dynamic_user": {"true"},
		"state_directory": {"myservice"}, "logs_directory": {"myservice"}, "runtime_directory": {"myservice/sub"},
		"sandbox": {"relaxed"}, "capabilities": {"CAP_NET_BIND_SERVICE"}, "address_families": {"AF_NETLINK"},
		"private_network": {"true"}, "fdstore": {"true"}, "unit_extra": {"LimitCORE=0", "StartLimitBurst=10"},
	}
	for _, s := range OptionSpecs() {
		v, ok := changed[s.Key]
		if !ok {
			t.Errorf("option %s: no test value", s.Key)
			continue
		}
		opts := NewOptions("myservice")
		if err := s.Set(&opts, v); err != nil {
			t.Errorf("Set(%s, %q) = %v", s.Key, v, err)
			continue
		}
		if got := s.Get(opts); !slices.Equal(got, v) {
			t.Errorf("Get(%s) after Set(%q) = %q", s.Key, v, got)
		}
		if reflect.DeepEqual(opts, NewOptions("myservice")) {
			t.Errorf("Set(%s, %q) changed no option", s.Key, v)
		}
		back, err := newManifest(opts, nil).Options()
		if err != nil || !reflect.DeepEqual(back, opts) {
			t.Errorf("option %s through the manifest: %+v, %v; want %+v", s.Key, back, err, opts)
		}
	}
}

// TestOptionSpecSetRefuses checks what Set refuses before Validate sees it.
func TestOptionSpecSetRefuses(t *testing.T) {
	for _, s := range OptionSpecs() {
		opts := NewOptions("myservice")
		switch s.Key {
		case "maxfd", "umask":
			if err := s.Set(&opts, []string{"many"}); err == nil {
				t.Errorf("Set(%s, many) = nil, want an error", s.Key)
			}
		}
		if !s.Repeated {
			if err := s.Set(&opts, []string{"a", "b"}); err == nil {
				t.Errorf("Set(%s, two values) = nil, want an error", s.Key)
			}
		}
	}
}
