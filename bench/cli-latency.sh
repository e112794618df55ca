#!/usr/bin/env bash
# cli-latency.sh: how long gendaemon's own commands take on the default
# project (issue 5: `gendaemon new`, `regen` and `check` <= 25 ms median
# each), against /bin/true and `gendaemon --version` measured in the same
# run.
#
# usage: bench/cli-latency.sh [-n RUNS] [--bench]
#        (default 30 runs per command; --bench also runs the generator's
#        in-memory Go benchmarks, -count 5)
#
# Builds the CLI once, renders two default projects (one kept up to date,
# one whose manifest umask switches between "000" and "022" before each
# timed regen), then bench/cmd/clilatency times each command RUNS times,
# interleaved in shuffled rounds, from fork to exit on the monotonic clock.
# `new` gets a fresh directory every run.  Everything is in a mktemp -d
# directory under bench/, removed on exit.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=30
gobench=
while (($#)); do
	case $1 in
	-n | --runs) runs=$2; shift 2 ;;
	--bench) gobench=1; shift ;;
	-h | --help) bench_help; exit 0 ;;
	*) echo "cli-latency.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done

bench_init
echo "== building the CLI and the driver"
cli=$(gendaemon_cli)
driver=$(bench_tool clilatency)
mkdir "$BENCH_TMP/work"
echo "gendaemon: $(linkage "$cli")ally linked, $(stat -c %s "$cli") bytes; go $("$GO" env GOVERSION)"

echo "== $runs runs per command, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, kernel $(uname -r)"
"$driver" -cli "$cli" -work "$BENCH_TMP/work" -runs "$runs"

if [[ -n $gobench ]]; then
	echo
	echo "== go test -run '^\$' -bench . -benchmem -count 5 ./generator"
	(cd "$REPO_DIR" && "$GO" test -run '^$' -bench . -benchmem -count 5 ./generator)
fi
