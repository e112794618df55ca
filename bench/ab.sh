#!/usr/bin/env bash
# ab.sh: a runtime change, before and after, over several interleaved runs:
# daemon-ready.sh --rev REV run RUNS times, then each run's ratios and
# their median and range (benchreport -summary).
#
# usage: bench/ab.sh [-r RUNS] [-n ROUNDS] [--limits LIST] [--rev REV] [--out DIR]
#
#   -r RUNS        runs of daemon-ready.sh (default 5)
#   -n ROUNDS      interleaved rounds per target and limit in each run
#                  (default 150)
#   --limits LIST  RLIMIT_NOFILE values (default 1024,max)
#   --rev REV      the runtime to compare the working tree's with, as
#                  gendaemon-rev (default main); --rev HEAD on a clean tree
#                  times one runtime against itself (an A/A run), which
#                  shows how far a paired ratio strays by chance
#   --out DIR      keep the runs in DIR/1 … DIR/RUNS and the summary in
#                  DIR/summary.md (default bench/results/ab-TIMESTAMP)
#
# Each run starts go-reexec, go-reexec-wait (the floor of a start that
# returns once its daemon is ready, bench/gowait), gendaemon (this tree's
# runtime) and gendaemon-rev once per round in shuffled order; "paired" is
# gendaemon's launcher-return time over gendaemon-rev's in the same round,
# whose median follows a runtime change through the machine's drifting
# load.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repeat=5
rounds=150
limits=1024,max
rev=main
out=
while (($#)); do
	case $1 in
	-r | --repeat) repeat=$2; shift 2 ;;
	-n | --runs) rounds=$2; shift 2 ;;
	--limits) limits=$2; shift 2 ;;
	--rev) rev=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) bench_help; exit 0 ;;
	*) echo "ab.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
if [[ -z $out ]]; then
	out=$BENCH_DIR/results/ab-$(date +%Y%m%d-%H%M%S)
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Once, so that every run times the same runtime while the branch moves.
commit=$(git -C "$REPO_DIR" rev-parse --verify "$rev^{commit}")
bench_init
report=$(bench_tool benchreport)
dirs=()
for ((i = 1; i <= repeat; i++)); do
	echo "== run $i of $repeat (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
	"$BENCH_DIR/daemon-ready.sh" -n "$rounds" --limits "$limits" --only go-reexec,go-reexec-wait,gendaemon,gendaemon-rev \
		--rev "$commit" --out "$out/$i" >"$out/$i.log" 2>&1 || {
		echo "ab.sh: run $i failed; see $out/$i.log" >&2
		exit 1
	}
	dirs+=("$out/$i")
done
{
	echo "bench/ab.sh -r $repeat -n $rounds --limits $limits --rev $rev (${commit:0:7}); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	"$report" -summary -also gendaemon-rev,go-reexec-wait "${dirs[@]}"
} | tee "$out/summary.md"
echo "results: $out"
