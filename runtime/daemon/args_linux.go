package daemon

import (
	"bytes"
	"fmt"
	"os"
)

// processArgs returns the command line of the process pid.
func processArgs(pid int) ([]string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, err
	}
	data = bytes.TrimSuffix(data, []byte{0})
	if len(data) == 0 {
		return nil, fmt.Errorf("pid %d has no command line", pid)
	}
	var args []string
	for _, arg := range bytes.Split(data, []byte{0}) {
		args = append(args, string(arg))
	}
	return args, nil
}
