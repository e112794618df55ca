//go:build unix && !linux

package daemon

import "golang.org/x/sys/unix"

// dupTo makes newfd a copy of oldfd, as dup2(2).
func dupTo(oldfd, newfd int) error { return unix.Dup2(oldfd, newfd) }
