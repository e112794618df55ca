#!/usr/bin/env bash
# stop-latency.sh: how long a generated daemon's `stop` takes to return
# after the daemon has exited (issue 5: <= 5 ms median), against a baseline
# stop command measured in the same run (bench/cmd/pidfdstop: pidfd_open,
# SIGTERM, poll on the pidfd, exit).
#
# usage: bench/stop-latency.sh [-n RUNS]     (default 30 per method)
#
# The daemon is the default generated project, unchanged: its serve()
# returns as soon as SIGTERM cancels its context.  bench/cmd/stoplatency
# starts a fresh daemon for every stop, holds a pidfd on it, and reads the
# monotonic clock when the daemon's pidfd and the stop command's pidfd
# become readable.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=30
while (($#)); do
	case $1 in
	-n | --runs) runs=$2; shift 2 ;;
	-h | --help) bench_help; exit 0 ;;
	*) echo "stop-latency.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done

bench_init
proj=$BENCH_TMP/gdstop
bin=$BENCH_TMP/gdstop-bin
pidfile=$BENCH_TMP/gdstop.pid
track_pidfile "$pidfile"

echo "== generating and building the default project"
gen_project gdstop "$proj" --pidfile "$pidfile"
build_project "$proj" "$bin"
echo "gdstop: $(linkage "$bin")ally linked"
baseline=$(bench_tool pidfdstop)
driver=$(bench_tool stoplatency)

echo "== $runs stops per method, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, kernel $(uname -r)"
"$driver" -daemon "$bin" -pidfile "$pidfile" -baseline "$baseline" -runs "$runs"
