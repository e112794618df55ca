package generator

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// conflictStart begins the first line of a conflict that a merge leaves.
const conflictStart = "<<<<<<< "

// A Merge is the result of a three-way merge of a generated file that was
// edited by hand: its bytes, and how many conflicts they hold.
type Merge struct {
	Data      []byte
	Conflicts int
}

// errNoMerge is wrapped by the error of merge3 when there is no git to
// merge with.
var errNoMerge = errors.New("no three-way merge")

// merge3 merges the changes from base to theirs (what gendaemon renders
// now) into ours (the file on disk, edited by hand) with git merge-file.
// Conflicts are written with markers labelled by labels (ours, base,
// theirs).
//
// git's merge (xdiff) is the one copier and kubebuilder rely on for the
// same job, is maintained with git itself, and is what a user resolving
// the conflict will know; the Go diff3 modules are small, little-used and
// little-kept. The price is that a merge needs git on PATH: without it,
// merge3 fails with errNoMerge, and regen refuses the edited file as if
// there were no merge base.
func merge3(ours, base, theirs []byte, labels [3]string) (Merge, error) {
	git, err := exec.LookPath("git")
	if err != nil {
		return Merge{}, fmt.Errorf("%w: git is not installed (%v)", errNoMerge, err)
	}
	dir, err := os.MkdirTemp("", "gendaemon-merge-")
	if err != nil {
		return Merge{}, err
	}
	defer os.RemoveAll(dir)
	names := [3]string{filepath.Join(dir, "ours"), filepath.Join(dir, "base"), filepath.Join(dir, "theirs")}
	for i, data := range [3][]byte{ours, base, theirs} {
		if err := os.WriteFile(names[i], data, 0o600); err != nil {
			return Merge{}, err
		}
	}
	cmd := exec.Command(git, "merge-file", "-p",
		"-L", labels[0], "-L", labels[1], "-L", labels[2],
		names[0], names[1], names[2])
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return Merge{Data: out.Bytes()}, nil
	case errors.As(err, &exit) && exit.ExitCode() > 0 && exit.ExitCode() < 128:
		// The exit status is the number of conflicts.
		return Merge{Data: out.Bytes(), Conflicts: exit.ExitCode()}, nil
	}
	return Merge{}, fmt.Errorf("git merge-file: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
}
