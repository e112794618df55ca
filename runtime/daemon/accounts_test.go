//go:build linux

package daemon

import (
	"reflect"
	"strings"
	"testing"
)

const testPasswd = `root:x:0:0:root:/root:/bin/bash
# a comment
+nis-compat
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
broken:x:notanumber:1::/:
42:x:1000:1000:a user whose name is digits:/home/42:/bin/sh
`

const testGroup = `root:x:0:
daemon:x:1:
adm:x:4:syslog,daemon
audio:x:29:nobody,daemon
nogroup:x:65534:
`

func TestFindUser(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     account
		found    bool
	}{
		{"by name", "daemon", account{"daemon", 1, 1}, true},
		{"by id", "65534", account{"nobody", 65534, 65534}, true},
		{"name before id", "42", account{"42", 1000, 1000}, true},
		{"malformed entry", "broken", account{}, false},
		{"missing", "mallory", account{}, false},
		{"nis compat", "+nis-compat", account{}, false},
	} {
		got, found, err := findUser(strings.NewReader(testPasswd), tc.in)
		if err != nil || found != tc.found || got != tc.want {
			t.Errorf("%s: findUser(%q) = %+v, %v, %v; want %+v, %v, nil", tc.name, tc.in, got, found, err, tc.want, tc.found)
		}
	}
}

func TestMemberOf(t *testing.T) {
	for _, tc := range []struct {
		user string
		want []int
	}{
		{"daemon", []int{4, 29}},
		{"nobody", []int{29}},
		{"syslog", []int{4}},
		{"root", nil},
		{"dae", nil}, // a prefix of a member is not a member
	} {
		got, err := memberOf(strings.NewReader(testGroup), tc.user)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("memberOf(%q) = %v, %v; want %v, nil", tc.user, got, err, tc.want)
		}
	}
}
