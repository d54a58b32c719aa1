#!/usr/bin/env bash
# Check and time the vector distance kernels of src/vector/distance.c without a
# server: compiles test/bench/distance_bench.c with src/vector/distance.c (gcc -O2
# and the extension's warning flags) in a temporary directory, runs it, and
# counts the FMA instructions (vfmadd*) in the compiled distance.o to show
# that the AVX2 kernels are vectorised.  Exits non-zero if the kernels
# disagree.
#
#   test/bench/distance_bench.sh
#   EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
#       test/bench/distance_bench.sh      # the checks under ASan+UBSan
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
# Intentionally split: EXTRA_CFLAGS holds several flags.
# shellcheck disable=SC2206
cflags=(-O2 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare
	-I "$root/src" -I "$("$PG_CONFIG" --includedir-server)" ${EXTRA_CFLAGS:-})

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gcc "${cflags[@]}" -c "$root/src/vector/distance.c" -o "$tmp/distance.o"
gcc "${cflags[@]}" -c "$root/test/bench/distance_bench.c" -o "$tmp/distance_bench.o"
gcc "${cflags[@]}" "$tmp/distance_bench.o" "$tmp/distance.o" -lm -o "$tmp/distance_bench"

echo "vfmadd instructions in distance.o: $(objdump -d "$tmp/distance.o" | grep -c vfmadd)"
"$tmp/distance_bench"
