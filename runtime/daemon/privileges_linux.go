package daemon

import (
	"fmt"
	"os"
	"syscall"
)

// dropPrivileges switches to userName and groupName (names or numeric ids)
// for good: supplementary groups, then the group, then the user (daemon(7),
// step 13). With a user, the supplementary groups are those initgroups(3)
// would set: the group (by default the user's primary group) and the groups
// that list the user; with only a group, that group alone. Go's syscall package changes the ids of every
// thread, not only the calling one. A process that is not root succeeds only
// if it already runs as that user and group.
func dropPrivileges(userName, groupName string) error {
	if userName == "" && groupName == "" {
		return nil
	}
	uid, gid := -1, -1
	var user account
	if userName != "" {
		var err error
		if user, err = lookupUser(userName); err != nil {
			return err
		}
		uid, gid = user.uid, user.gid
	}
	if groupName != "" {
		g, err := lookupGroup(groupName)
		if err != nil {
			return err
		}
		gid = g
	}
	if gid < 0 {
		return fmt.Errorf("user %s has no entry in %s, so no group: choose one with group", userName, passwdFile)
	}
	groups := []int{gid}
	if userName != "" {
		var err error
		if groups, err = supplementaryGroups(user.name, gid); err != nil {
			return fmt.Errorf("groups of user %s: %w", userName, err)
		}
	}
	// A service manager may have switched already (systemd's User=): then
	// there is nothing left to drop, and no privilege to do it with.
	if euid := os.Geteuid(); euid != 0 {
		if (uid < 0 || uid == euid) && gid == os.Getegid() {
			return nil
		}
		return fmt.Errorf("switching to user %q, group %q: not running as root", userName, groupName)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups %v: %w", groups, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid %d: %w", gid, err)
	}
	if uid >= 0 {
		if err := syscall.Setuid(uid); err != nil {
			return fmt.Errorf("setuid %d: %w", uid, err)
		}
	}
	return nil
}
