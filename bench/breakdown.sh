#!/usr/bin/env bash
# breakdown.sh: where a detached start spends its time, stage by stage,
# for a generated gendaemon daemon, the go-reexec baseline of
# ../shared/bench and go-reexec-wait (bench/gowait), from a syscall trace
# (bench/cmd/breakdown).
#
# usage: bench/breakdown.sh [-n RUNS] [--strace] [--rev REV]
#
#   -n RUNS    traced runs per target, interleaved in shuffled rounds
#              (default 30)
#   --strace   trace with strace -f instead of perf's tracepoints
#   --rev REV  add gendaemon-rev: the runtime of git revision REV, to see
#              which stage a runtime change moves
#
# Each start runs under perf record with the tracepoints
# sched:sched_process_exec, sched:sched_process_exit and
# syscalls:sys_enter_write (or strace -f -ttt --seccomp-bpf, tracing execve,
# write and exit_group); the stages are cut at the exec of each process and
# at the daemon's READY message. Needs perf (Debian's linux-perf) or strace
# (bench/setup.sh).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=30
rev=
tracer=perf
while (($#)); do
	case $1 in
	-n | --runs) runs=$2; shift 2 ;;
	--rev) rev=$2; shift 2 ;;
	--strace) tracer=strace; shift ;;
	-h | --help) bench_help; exit 0 ;;
	*) echo "breakdown.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
command -v "$tracer" >/dev/null || { echo "breakdown.sh: no $tracer" >&2; exit 1; }

bench_init
proj=$BENCH_TMP/gdbench
pidfile=$BENCH_TMP/gd.pid
track_pidfile "$pidfile"
gen_probe_project gdbench "$proj" "$pidfile"
build_project "$proj" "$BENCH_TMP/gdbench-bin"
(cd "$SHARED_BENCH/go" && "$GO" build -trimpath -o "$BENCH_TMP/gobaseline" ./cmd/gobaseline)
(cd "$BENCH_DIR/gowait" && "$GO" build -trimpath -o "$BENCH_TMP/gowait" .)
targets=(-target "go-reexec=$BENCH_TMP/gobaseline start"
	-target "go-reexec-wait=$BENCH_TMP/gowait start"
	-target "gendaemon=$BENCH_TMP/gdbench-bin start --pidfile $pidfile")
if [[ -n $rev ]]; then
	cp -r "$proj" "$BENCH_TMP/gdbench-rev"
	vendor_runtime_rev "$rev" "$BENCH_TMP/gdbench-rev"
	build_project "$BENCH_TMP/gdbench-rev" "$BENCH_TMP/gdbench-rev-bin"
	track_pidfile "$BENCH_TMP/gd-rev.pid"
	targets+=(-target "gendaemon-rev=$BENCH_TMP/gdbench-rev-bin start --pidfile $BENCH_TMP/gd-rev.pid")
fi
"$(bench_tool breakdown)" -n "$runs" -tracer "$tracer" "${targets[@]}"
