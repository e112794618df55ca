package daemon

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// dropPrivileges switches to userName and groupName (names or numeric ids)
// for good: supplementary groups, then the group, then the user (daemon(7),
// step 13). With a user, the supplementary groups are the user's; with only a
// group, the group alone. Go's syscall package changes the ids of every
// thread, not only the calling one. A process that is not root succeeds only
// if it already runs as that user and group.
func dropPrivileges(userName, groupName string) error {
	if userName == "" && groupName == "" {
		return nil
	}
	uid, gid := -1, -1
	var groups []int
	if userName != "" {
		u, err := lookupUser(userName)
		if err != nil {
			return err
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		ids, err := u.GroupIds()
		if err != nil {
			return fmt.Errorf("groups of user %s: %w", userName, err)
		}
		for _, id := range ids {
			if n, err := strconv.Atoi(id); err == nil {
				groups = append(groups, n)
			}
		}
	}
	if groupName != "" {
		g, err := lookupGroup(groupName)
		if err != nil {
			return err
		}
		gid, _ = strconv.Atoi(g.Gid)
		if userName == "" {
			groups = []int{gid}
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

func lookupUser(name string) (*user.User, error) {
	if _, err := strconv.Atoi(name); err == nil {
		return user.LookupId(name)
	}
	return user.Lookup(name)
}

func lookupGroup(name string) (*user.Group, error) {
	if _, err := strconv.Atoi(name); err == nil {
		return user.LookupGroupId(name)
	}
	return user.LookupGroup(name)
}
