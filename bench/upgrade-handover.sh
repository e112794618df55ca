#!/usr/bin/env bash
# upgrade-handover.sh: how long a generated daemon's zero-downtime upgrade
# (issue 13) takes: the handover, from the new process ready to the old one
# no longer accepting, and the `upgrade` command, as medians, idle and
# under load.
#
# usage: bench/upgrade-handover.sh [-n RUNS]     (default 30 upgrades each)
#
# The daemon is a generated project whose service.go is the HTTP server of
# the upgrade tests (cmd/gendaemon/testdata/httpd/service.go.in): it gets
# its listener through daemon.Listen, drains on cancellation, and logs
# CLOCK_MONOTONIC stamps at the end of Init and when it stops accepting.
# bench/cmd/handover upgrades it RUNS times (after a warm-up) and reads the
# stamps from its log; the second run does the same while bench/cmd/httpload
# keeps 22 clients busy on it, and fails if a request fails.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=30
while (($#)); do
	case $1 in
	-n | --runs) runs=$2; shift 2 ;;
	-h | --help) bench_help; exit 0 ;;
	*) echo "upgrade-handover.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done

bench_init
proj=$BENCH_TMP/gdup
bin=$BENCH_TMP/gdup-bin
pidfile=$BENCH_TMP/gdup.pid
log=$BENCH_TMP/gdup.log
track_pidfile "$pidfile"

echo "== generating and building the HTTP test service"
gen_project gdup "$proj" --pidfile "$pidfile" --log-file "$log"
rm -f "$proj/service_test.go" # it tests the scaffold's service, replaced below
sed 's#"MODULE/#"gdup/#' "$REPO_DIR/cmd/gendaemon/testdata/httpd/service.go.in" >"$proj/service.go"
build_project "$proj" "$bin" -ldflags=-X=main.version=v1
echo "gdup: $(linkage "$bin")ally linked"
driver=$(bench_tool handover)
load=$(bench_tool httpload)

echo "== $runs upgrades idle, then $runs under load, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, kernel $(uname -r)"
"$driver" -daemon "$bin" -pidfile "$pidfile" -log "$log" -runs "$runs"
echo
"$driver" -daemon "$bin" -pidfile "$pidfile" -log "$log" -runs "$runs" -load "$load"
