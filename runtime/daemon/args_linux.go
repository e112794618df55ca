package daemon

import (
	"bytes"
	"fmt"
	"os"
)

// trustedArgs returns the command line of the process pid if it can be
// trusted to be how the process was started: the process runs this
// program (see identify), and as this user, so that no one could have
// rewritten it whom the caller does not trust already. A process's command
// line is its own memory; a daemon that dropped privileges, or another
// user's process, can write there what it likes.
func trustedArgs(pid int) ([]string, error) {
	id, ok := identify(pid)
	switch {
	case !ok:
		return nil, fmt.Errorf("pid %d is gone, or there is no /proc", pid)
	case id.uid != os.Geteuid():
		return nil, fmt.Errorf("pid %d runs as user %d, not as you, and may have rewritten its command line", pid, id.uid)
	case !id.exeKnown || !id.sameExe:
		return nil, fmt.Errorf("pid %d runs another program, %s", pid, id.exe)
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
