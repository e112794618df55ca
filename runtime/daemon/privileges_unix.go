//go:build unix

package daemon

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// credentials are the ids a daemon switches to (daemon(7), step 13).
type credentials struct {
	user, group string // as configured, for messages
	uid         int    // -1: keep the user
	gid         int
	groups      []int // supplementary groups
}

// lookupCredentials resolves userName and groupName (names or numeric ids).
// With a user, the supplementary groups are those initgroups(3) would set:
// the group (by default the user's primary group) and the groups that list
// the user; with only a group, that group alone. It returns nil if neither
// is set.
func lookupCredentials(userName, groupName string) (*credentials, error) {
	if userName == "" && groupName == "" {
		return nil, nil
	}
	c := &credentials{user: userName, group: groupName, uid: -1, gid: -1}
	var user account
	if userName != "" {
		var err error
		if user, err = lookupUser(userName); err != nil {
			return nil, err
		}
		c.uid, c.gid = user.uid, user.gid
	}
	if groupName != "" {
		g, err := lookupGroup(groupName)
		if err != nil {
			return nil, err
		}
		c.gid = g
	}
	if c.gid < 0 {
		return nil, fmt.Errorf("user %s has no entry in %s, so no group: choose one with group", userName, passwdFile)
	}
	c.groups = []int{c.gid}
	if userName != "" {
		var err error
		if c.groups, err = supplementaryGroups(user.name, c.gid); err != nil {
			return nil, fmt.Errorf("groups of user %s: %w", userName, err)
		}
	}
	return c, nil
}

// apply switches to c for good: supplementary groups, then the group, then
// the user. The ids change for every thread, not only the calling one: on
// Linux, where they are per thread, Go's syscall package sees to it; the
// BSDs and macOS keep them per process. A process that is not root succeeds only if it already
// runs as that user and group, as under systemd's User=. A nil c does
// nothing.
func (c *credentials) apply() error {
	if c == nil {
		return nil
	}
	if euid := os.Geteuid(); euid != 0 {
		if (c.uid < 0 || c.uid == euid) && c.gid == os.Getegid() {
			return nil
		}
		// A permission error, which the command line reports with status 4.
		return fmt.Errorf("switching to user %q, group %q: not running as root: %w", c.user, c.group, fs.ErrPermission)
	}
	if err := syscall.Setgroups(c.groups); err != nil {
		return fmt.Errorf("setgroups %v: %w", c.groups, err)
	}
	if err := syscall.Setgid(c.gid); err != nil {
		return fmt.Errorf("setgid %d: %w", c.gid, err)
	}
	if c.uid >= 0 {
		if err := syscall.Setuid(c.uid); err != nil {
			return fmt.Errorf("setuid %d: %w", c.uid, err)
		}
	}
	return nil
}
