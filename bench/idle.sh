#!/usr/bin/env bash
# idle.sh: an idle default generated daemon against an idle trivial Go
# daemon (bench/cmd/idlebase: detached by double re-exec, blocked waiting
# for SIGTERM), measured over the same windows: context switches of all
# threads (wake-ups), VmRSS, threads, and the size of the binaries built
# with -ldflags='-s -w' -trimpath.  Issue 5: no periodic wake-ups from
# gendaemon's code, RSS <= 8 MiB, stripped binary <= 2.5 MB.
#
# usage: bench/idle.sh [-n RUNS] [--window SECONDS] [--settle SECONDS]
#                      (defaults: 3 runs, 10 s window, 2 s settle)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=3
window=10
settle=2
while (($#)); do
	case $1 in
	-n | --runs) runs=$2; shift 2 ;;
	--window) window=$2; shift 2 ;;
	--settle) settle=$2; shift 2 ;;
	-h | --help) bench_help; exit 0 ;;
	*) echo "idle.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done

bench_init
proj=$BENCH_TMP/gdidle
pidfile=$BENCH_TMP/gdidle.pid
basepidfile=$BENCH_TMP/idlebase.pid
track_pidfile "$pidfile"
track_pidfile "$basepidfile"

echo "== generating and building the default project and the baseline"
gen_project gdidle "$proj" --pidfile "$pidfile"
bin=$BENCH_TMP/gdidle-bin
build_project "$proj" "$bin"
build_project "$proj" "$BENCH_TMP/gdidle-stripped" -ldflags='-s -w'
CGO_ENABLED=0 build_project "$proj" "$BENCH_TMP/gdidle-stripped-nocgo" -ldflags='-s -w'
base=$(bench_tool idlebase)
(cd "$REPO_DIR" && "$GO" build -trimpath -ldflags='-s -w' -o "$BENCH_TMP/idlebase-stripped" ./bench/cmd/idlebase)
driver=$(bench_tool idlebench)
echo "gdidle: $(linkage "$bin")ally linked; go $("$GO" env GOVERSION)"

echo "== $runs runs, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, kernel $(uname -r)"
"$driver" -daemon "$bin" -pidfile "$pidfile" -baseline "$base" -basepidfile "$basepidfile" \
	-stripped "$BENCH_TMP/gdidle-stripped" -stripped-baseline "$BENCH_TMP/idlebase-stripped" \
	-also-stripped "gendaemon built with CGO_ENABLED 0=$BENCH_TMP/gdidle-stripped-nocgo" \
	-runs "$runs" -window "${window}s" -settle "${settle}s"
