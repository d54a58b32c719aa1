#!/usr/bin/env bash
# Fuzz one target for a given time, from its seed corpus:
#
#   test/fuzz/run.sh TARGET SECONDS      TARGET: expr, binlog, index, bloom
#
# Builds the targets (build.sh) into $FUZZ_BUILD (default
# /tmp/segstore-fuzz/build), keeps the inputs libFuzzer finds in
# $FUZZ_WORK (default /tmp/segstore-fuzz/TARGET; the committed corpus in
# corpus/TARGET is only read) and any crash there as crash-*; ends with
# the number of executions.  Extra libFuzzer options go in FUZZ_OPTS, for
# example FUZZ_OPTS="-jobs=2 -workers=2".  To replay a crash:
#   $FUZZ_BUILD/fuzz_TARGET crash-file
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TARGET=${1:?usage: run.sh TARGET SECONDS}
SECONDS_=${2:?usage: run.sh TARGET SECONDS}
BUILD=${FUZZ_BUILD:-/tmp/segstore-fuzz/build}
WORK=${FUZZ_WORK:-/tmp/segstore-fuzz/$TARGET}

[ -d "$HERE/corpus/$TARGET" ] || { echo "run.sh: no target $TARGET (expr, binlog, index, bloom)"; exit 2; }
FUZZ_TARGETS=$TARGET "$HERE/build.sh" "$BUILD"
mkdir -p "$WORK/corpus"
start=$(date +%s)
# A file claiming a huge column is refused with an error, or allocated as
# the server would; the limits only keep one run within a shared machine.
"$BUILD/fuzz_$TARGET" -max_total_time="$SECONDS_" -rss_limit_mb=3072 \
	-malloc_limit_mb=3072 -print_final_stats=1 -artifact_prefix="$WORK/" \
	${FUZZ_OPTS:-} "$WORK/corpus" "$HERE/corpus/$TARGET" 2>&1 |
	tee "$WORK/fuzz.log" | grep -E '^#[0-9]+.*(pulse|DONE)|ERROR|SUMMARY|stat::number_of_executed_units' || true
grep -q 'ERROR: \|==ERROR\|deadly signal' "$WORK/fuzz.log" && { echo "run.sh: $TARGET crashed, see $WORK/fuzz.log"; exit 1; }
echo "run.sh: $TARGET ran $(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/fuzz.log") inputs in $(($(date +%s) - start)) s"
