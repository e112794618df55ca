//go:build unix

package daemon

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// The local account database. The daemon reads it itself instead of using
// os/user, whose NSS lookups link the program against libc through cgo: a
// dynamically linked binary costs every start of the daemon (three execs) a
// run of the dynamic loader. Accounts that exist only in other NSS sources
// (LDAP, sssd, and on macOS most of Directory Services, which /etc/passwd
// mirrors only for a few system accounts) can be given as numeric ids.
const (
	passwdFile = "/etc/passwd"
	groupFile  = "/etc/group"
)

// An account is a user's entry in passwdFile.
type account struct {
	name     string
	uid, gid int
}

// lookupUser finds a user by name or numeric id in passwdFile. A numeric id
// without an entry is an account of its own, with no primary group (-1).
func lookupUser(nameOrID string) (account, error) {
	f, err := os.Open(passwdFile)
	if err != nil {
		return account{}, err
	}
	defer f.Close()
	a, found, err := findUser(f, nameOrID)
	if err != nil {
		return account{}, fmt.Errorf("reading %s: %w", passwdFile, err)
	}
	if found {
		return a, nil
	}
	if id, err := strconv.Atoi(nameOrID); err == nil {
		return account{name: nameOrID, uid: id, gid: -1}, nil
	}
	return account{}, fmt.Errorf("unknown user %q: it is not in %s (give a numeric id for a user from another source)", nameOrID, passwdFile)
}

// lookupGroup finds a group by name or numeric id in groupFile and returns
// its id; a numeric id needs no entry.
func lookupGroup(nameOrID string) (int, error) {
	if id, err := strconv.Atoi(nameOrID); err == nil {
		return id, nil
	}
	f, err := os.Open(groupFile)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	gid := -1
	err = eachEntry(f, func(fields []string) bool {
		if fields[0] != nameOrID {
			return true
		}
		if id, err := strconv.Atoi(fields[2]); err == nil && id >= 0 {
			gid = id
			return false
		}
		return true // a malformed entry is no entry
	})
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", groupFile, err)
	}
	if gid < 0 {
		return 0, fmt.Errorf("unknown group %q: it is not in %s (give a numeric id for a group from another source)", nameOrID, groupFile)
	}
	return gid, nil
}

// supplementaryGroups returns the groups of the user called name with
// primary group primary, as initgroups(3) does: primary first, then every
// group in groupFile that lists the user as a member.
func supplementaryGroups(name string, primary int) ([]int, error) {
	f, err := os.Open(groupFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	groups, err := memberOf(f, name)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", groupFile, err)
	}
	groups = slices.DeleteFunc(groups, func(g int) bool { return g == primary })
	return append([]int{primary}, groups...), nil
}

// findUser finds a user by name, or else by numeric id, in a passwd file.
func findUser(r io.Reader, nameOrID string) (account, bool, error) {
	var byName, byID account
	var foundName, foundID bool
	err := eachEntry(r, func(fields []string) bool {
		if len(fields) < 4 {
			return true
		}
		uid, err1 := strconv.Atoi(fields[2])
		gid, err2 := strconv.Atoi(fields[3])
		if err1 != nil || err2 != nil {
			return true
		}
		a := account{name: fields[0], uid: uid, gid: gid}
		switch {
		case fields[0] == nameOrID:
			byName, foundName = a, true
			return false
		case fields[2] == nameOrID && !foundID:
			byID, foundID = a, true
		}
		return true
	})
	if foundName {
		return byName, true, err
	}
	return byID, foundID, err
}

// memberOf returns the ids of the groups in a group file that list user.
func memberOf(r io.Reader, user string) ([]int, error) {
	var gids []int
	err := eachEntry(r, func(fields []string) bool {
		if len(fields) < 4 || !slices.Contains(strings.Split(fields[3], ","), user) {
			return true
		}
		if gid, err := strconv.Atoi(fields[2]); err == nil && !slices.Contains(gids, gid) {
			gids = append(gids, gid)
		}
		return true
	})
	return gids, err
}

// eachEntry calls fn with the colon-separated fields of each entry of an
// account file, skipping comments, blank lines and NIS compat entries,
// until fn returns false.
func eachEntry(r io.Reader, fn func(fields []string) bool) error {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 4096), 1<<20)
	for s.Scan() {
		line := s.Text()
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		fields := strings.Split(line, ":")
		if len(fields) < 3 {
			continue
		}
		if !fn(fields) {
			return nil
		}
	}
	return s.Err()
}
