package daemon

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// trustedArgs returns the command line of the process pid if it can be
// trusted to be how the process was started: the process runs this
// program, and as this user, so that no one could have rewritten it whom
// the caller does not trust already. A process's command line is its own
// memory; a daemon that dropped privileges, or another user's process,
// can write there what it likes.
func trustedArgs(pid int) ([]string, error) {
	if err := sameProgram(pid); err != nil {
		return nil, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			for _, id := range strings.Fields(rest) {
				if uid, err := strconv.Atoi(id); err != nil || uid != os.Geteuid() {
					return nil, fmt.Errorf("pid %d runs as user %s, not as you, and may have rewritten its command line", pid, id)
				}
			}
		}
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, err
	}
	data = bytes.TrimSuffix(data, []byte{0})
	var args []string
	for _, arg := range bytes.Split(data, []byte{0}) {
		args = append(args, string(arg))
	}
	return args, nil
}

// sameProgram checks that the process pid runs the program at the path
// this process runs: the same file, or one that a new build has since
// replaced there (the kernel then calls it "(deleted)").
func sameProgram(pid int) error {
	mine, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return err
	}
	theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return fmt.Errorf("cannot tell which program pid %d runs: %w", pid, err)
	}
	if strings.TrimSuffix(theirs, " (deleted)") != strings.TrimSuffix(mine, " (deleted)") {
		return fmt.Errorf("pid %d runs another program, %s", pid, theirs)
	}
	return nil
}
