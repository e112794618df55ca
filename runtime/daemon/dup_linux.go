package daemon

import "golang.org/x/sys/unix"

// dupTo makes newfd a copy of oldfd, as dup2(2); some Linux architectures
// (arm64, riscv64) have only dup3.
func dupTo(oldfd, newfd int) error { return unix.Dup3(oldfd, newfd, 0) }
