// Package systemdtest holds gendaemon's integration test under a real
// systemd: it generates daemons, builds them, boots Debian's systemd as
// PID 1 in a systemd-nspawn container, installs the daemons as their unit
// files say, and drives them with systemctl. The package has no code but
// its tests.
//
// The test needs root, systemd-nspawn (Debian package systemd-container)
// and a Debian root file system with systemd, which .ci/run builds with
// debootstrap and names in SYSTEMDTEST_ROOTFS. Without that variable
// the test uses /var/cache/systemdtest/rootfs-bookworm-HASH (of the
// package list) if it exists, and skips otherwise; with it, a missing root
// file system fails the test.
package systemdtest
