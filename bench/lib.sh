# lib.sh: helpers shared by the bench scripts; source it, do not run it.
#
# bench_init makes a temporary directory ($BENCH_TMP) that an EXIT trap
# removes, after stopping every daemon registered with track_pidfile and
# every process registered with track_pid (by pid, SIGTERM, then SIGKILL
# after a deadline).  gen_project renders a gendaemon project with this
# repository's CLI.
# shellcheck shell=bash

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
SHARED_BENCH=${SHARED_BENCH:-$REPO_DIR/../shared/bench}

BENCH_TMP=
BENCH_PIDS=()
BENCH_PIDFILES=()

# bench_help prints the running script's header comment, its --help.
bench_help() {
	sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

bench_init() {
	# Under bench/, not /tmp: daemon(1) refuses to run a program below a
	# group- or world-writable directory.
	BENCH_TMP=$(mktemp -d "$BENCH_DIR/.tmp.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# alive PID: whether PID is a live process (not a zombie).
alive() {
	local state
	state=$(awk '{sub(/.*\) /, ""); print $1}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z ]]
}

# end_pid PID [GRACE_SECONDS]: SIGTERM, wait up to GRACE, then SIGKILL and
# wait up to 2 s more.
end_pid() {
	local pid=$1 grace=${2:-2} i
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < grace * 50; i++)); do
		alive "$pid" || return 0
		sleep 0.02
	done
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		alive "$pid" || return 0
		sleep 0.02
	done
	echo "bench: pid $pid survived SIGKILL" >&2
}

track_pid() { BENCH_PIDS+=("$1"); }
track_pidfile() { BENCH_PIDFILES+=("$1"); }

bench_cleanup() {
	local rc=$? p pid
	trap - EXIT
	for p in "${BENCH_PIDFILES[@]}"; do
		[[ -s $p ]] || continue
		pid=$(tr -dc 0-9 <"$p" 2>/dev/null) || continue
		[[ -n $pid ]] && end_pid "$pid"
	done
	for pid in "${BENCH_PIDS[@]}"; do
		end_pid "$pid"
	done
	# Reap what we started in the background, if anything is left.
	wait 2>/dev/null || true
	[[ -n $BENCH_TMP ]] && rm -rf "$BENCH_TMP"
	exit "$rc"
}

# gendaemon_cli: build this repository's CLI once; prints its path.
gendaemon_cli() {
	local bin=$BENCH_TMP/bin/gendaemon
	if [[ ! -x $bin ]]; then
		mkdir -p "$BENCH_TMP/bin"
		(cd "$REPO_DIR" && "$GO" build -o "$bin" ./cmd/gendaemon) >&2
	fi
	echo "$bin"
}

# gen_project NAME DIR [gendaemon new flags...]: a fresh project in DIR.
gen_project() {
	local name=$1 dir=$2 cli
	shift 2
	cli=$(gendaemon_cli)
	"$cli" new "$name" --dir "$dir" "$@" >/dev/null
}

# build_project DIR OUT [go build flags...]: build the project in DIR to OUT.
build_project() {
	local dir=$1 out=$2
	shift 2
	(cd "$dir" && "$GO" build -trimpath "$@" -o "$out" .) >&2
}

# bench_tool NAME: build github.com/gendaemon/gendaemon/bench/cmd/NAME once;
# prints its path.
bench_tool() {
	local bin=$BENCH_TMP/bin/$1
	if [[ ! -x $bin ]]; then
		mkdir -p "$BENCH_TMP/bin"
		(cd "$REPO_DIR" && "$GO" build -trimpath -o "$bin" "./bench/cmd/$1") >&2
	fi
	echo "$bin"
}

# linkage BIN: "dynamic" if BIN names an ELF interpreter (ld.so), else "static".
linkage() {
	if head -c 4096 "$1" | LC_ALL=C grep -aq 'ld-linux'; then
		echo dynamic
	else
		echo static
	fi
}

# gen_probe_project NAME DIR PIDFILE: a project whose service's Serve writes
# the shared harness's ready line (probe.Report, to $READY_FIFO) and
# returns, so the daemon exits: what daemon-ready.sh and breakdown.sh time.
gen_probe_project() {
	local name=$1 dir=$2 pidfile=$3
	gen_project "$name" "$dir" --pidfile "$pidfile"
	rm -f "$dir/service_test.go" # it tests the scaffold's service, replaced below
	cat >"$dir/service.go" <<'GO'
package main

import (
	"context"
	"fmt"

	"daemonbench/probe"
)

// service has Serve alone: the bench measures the runtime.
type service struct{}

// Serve writes the daemon-ready bench's ready line to $READY_FIFO and
// returns, so the daemon exits.
func (s *service) Serve(ctx context.Context) error {
	if rc := probe.Report("gendaemon", ""); rc != 0 {
		return fmt.Errorf("probe.Report: status %d", rc)
	}
	return nil
}
GO
	(cd "$dir" && "$GO" mod edit -require=daemonbench@v0.0.0 -replace="daemonbench=$SHARED_BENCH/go")
}

# vendor_runtime_rev REV DIR: replace the runtime vendored in the project in
# DIR (internal/daemon) by runtime/daemon as it is at git revision REV of
# this repository, with the generator's header, so that two runtimes can be
# timed against each other in one interleaved run.
vendor_runtime_rev() {
	local rev=$1 dir=$2 header f name
	header=$(head -n 1 "$dir/internal/daemon/daemon.go")
	rm -f "$dir"/internal/daemon/*.go
	while IFS= read -r f; do
		name=${f##*/}
		[[ $name == *.go && $name != *_test.go ]] || continue
		{ printf '%s\n\n' "$header"; git -C "$REPO_DIR" show "$rev:$f"; } >"$dir/internal/daemon/$name"
	done < <(git -C "$REPO_DIR" ls-tree --name-only "$rev" runtime/daemon/)
}
