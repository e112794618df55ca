#!/usr/bin/env bash
# daemon-ready.sh: ready latency of a generated gendaemon daemon against the
# other daemonizers of ../shared/bench, in one invocation, with the ratios
# issue 5 sets as targets.
#
# usage: bench/daemon-ready.sh [-n RUNS] [--limits LIST] [--out DIR] [--only T1,T2]
#                              [-- more harness options]
#
#   -n RUNS        measured rounds per (target, limit) (default 30)
#   --limits LIST  RLIMIT_NOFILE values for the harness (default: 1024,1048576
#                  when the hard limit can be raised to 1048576, otherwise
#                  1024,emu:1048576,max; see ../shared/bench/README.md)
#   --out DIR      keep the harness's results there (default
#                  bench/results/ready-TIMESTAMP)
#   --only LIST    targets to run (default: every target of targets.txt that
#                  is installed, plus gendaemon)
#   --rev REV      add the target gendaemon-rev: the same project with the
#                  runtime of git revision REV (runtime/daemon) vendored in
#                  its place, to time a runtime change before and after in
#                  one interleaved run (e.g. --rev main)
#   --stripped     add the target gendaemon-stripped: the same project built
#                  with -ldflags='-s -w', as a release build would be
#
# Steps: render a project with this repository's CLI, replace its service.go
# by one whose serve() writes the shared probe's ready line and returns, build
# it with -trimpath, run ../shared/bench/daemon-ready.sh with the extra target
#   gendaemon=<bin> start --pidfile <tmp>/gd.pid
# and print medians, ratios and the correctness of gendaemon's detach
# (bench/cmd/benchreport).  A second target, gendaemon-static, is the same
# project built with CGO_ENABLED=0: a diagnostic, not one of issue 5's targets.
# A third, go-reexec-wait (bench/gowait), is go-reexec whose launcher returns
# only once the daemon has said it is ready, as gendaemon's start does: the
# floor for what a user of start waits for.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=30
limits=
out=
only=
rev=
stripped=
extra=()
while (($#)); do
	case $1 in
	-n | --runs) runs=$2; shift 2 ;;
	--limits) limits=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--rev) rev=$2; shift 2 ;;
	--stripped) stripped=1; shift ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) bench_help; exit 0 ;;
	*) echo "daemon-ready.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done

if [[ ! -x $SHARED_BENCH/daemon-ready.sh ]]; then
	echo "daemon-ready.sh: no shared bench at $SHARED_BENCH (set SHARED_BENCH)" >&2
	exit 1
fi
SHARED_BENCH=$(cd "$SHARED_BENCH" && pwd)

if [[ -z $limits ]]; then
	if (ulimit -Hn 1048576 && ulimit -Sn 1048576) 2>/dev/null; then
		limits=1024,1048576
	else
		limits=1024,emu:1048576,max
		echo "note: RLIMIT_NOFILE cannot be raised to 1048576 here (hard limit $(ulimit -Hn))," \
			"so 1048576 is emulated (emu:1048576) and the real hard limit is measured too (max)"
	fi
fi
if [[ -z $out ]]; then
	out=$BENCH_DIR/results/ready-$(date +%Y%m%d-%H%M%S)
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

bench_init
proj=$BENCH_TMP/gdbench
bin=$BENCH_TMP/gdbench-bin
pidfile=$BENCH_TMP/gd.pid
track_pidfile "$pidfile"

echo "== generating and building the gendaemon target"
gen_probe_project gdbench "$proj" "$pidfile"
build_project "$proj" "$bin"
# Diagnostic: the same project without cgo. The runtime imports net and
# os/user, which link the default build against libc when a C compiler is
# present; this target shows what that costs.
static_bin=$BENCH_TMP/gdbench-static
static_pidfile=$BENCH_TMP/gd-static.pid
track_pidfile "$static_pidfile"
CGO_ENABLED=0 build_project "$proj" "$static_bin"
echo "gendaemon:        $(linkage "$bin")ally linked"
echo "gendaemon-static: $(linkage "$static_bin")ally linked"
report=$(bench_tool benchreport)

# The floor for a start that returns once its daemon is ready: go-reexec
# whose launcher waits for the daemon's word on a pipe (bench/gowait).
(cd "$BENCH_DIR/gowait" && "$GO" build -trimpath -o "$BENCH_TMP/gowait" .)
targets=(--target "gendaemon=$bin start --pidfile $pidfile"
	--target "gendaemon-static=$static_bin start --pidfile $static_pidfile"
	--target "go-reexec-wait=$BENCH_TMP/gowait start")
also=gendaemon-static,go-reexec-wait
if [[ -n $stripped ]]; then
	build_project "$proj" "$BENCH_TMP/gdbench-stripped" -ldflags='-s -w'
	track_pidfile "$BENCH_TMP/gd-stripped.pid"
	targets+=(--target "gendaemon-stripped=$BENCH_TMP/gdbench-stripped start --pidfile $BENCH_TMP/gd-stripped.pid")
	also+=,gendaemon-stripped
fi
if [[ -n $rev ]]; then
	cp -r "$proj" "$BENCH_TMP/gdbench-rev"
	vendor_runtime_rev "$rev" "$BENCH_TMP/gdbench-rev"
	build_project "$BENCH_TMP/gdbench-rev" "$BENCH_TMP/gdbench-rev-bin"
	echo "gendaemon-rev: the runtime of $(git -C "$REPO_DIR" rev-parse --short "$rev") ($rev)"
	track_pidfile "$BENCH_TMP/gd-rev.pid"
	targets+=(--target "gendaemon-rev=$BENCH_TMP/gdbench-rev-bin start --pidfile $BENCH_TMP/gd-rev.pid")
	also+=,gendaemon-rev
fi
if [[ -n $only ]]; then
	targets+=(--only "$only")
fi

echo "== ../shared/bench/daemon-ready.sh -n $runs --limits $limits"
# The shared folder is read-only: its build products go to our temp dir.
# Its correctness table lists every distinct descriptor set, and the
# pidfile's inode differs in every run: long rows are cut here (summary.md
# keeps them whole; the report below judges the descriptors).
DAEMONBENCH_BUILD=$BENCH_TMP/build "$SHARED_BENCH/daemon-ready.sh" \
	-n "$runs" --limits "$limits" --out "$out" "${targets[@]}" "${extra[@]}" |
	awk '{ if (length($0) > 320) print substr($0, 1, 320) " … (cut; see summary.md)"; else print }'

echo
"$report" -out "$out" -target gendaemon -baseline go-reexec -seed seed-createDaemon \
	-pidfile "$pidfile" -also "$also" | tee "$out/ratios.md"
echo "results: $out"
