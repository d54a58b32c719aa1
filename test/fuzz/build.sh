#!/usr/bin/env bash
# Build the libFuzzer targets into OUT (default: build/ beside this script),
# under AddressSanitizer and UndefinedBehaviorSanitizer, from the real
# segstore sources and the backend shim (shim.c):
#
#   test/fuzz/build.sh [OUT]
#
# Each source is compiled with -ffunction-sections and linked with
# --gc-sections, so a target holds only the functions it reaches: the
# readers, not the writers in the same files, which need the WAL, the
# catalog and the rest of a server.  clang comes from Debian's clang
# package (scripts/setup.sh installs it), libpgport and libpgcommon from
# postgresql-server-dev-15.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../../src" && pwd)
OUT=${1:-$HERE/build}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
CC=${FUZZ_CC:-clang}
mkdir -p "$OUT"

INC=(-I"$SRC" -I"$HERE" -I"$($PG_CONFIG --includedir-server)")
LIBDIR=$($PG_CONFIG --pkglibdir)
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
CFLAGS=(-g -O1 -D_GNU_SOURCE -ffunction-sections -fdata-sections -Wall -Werror
	-Wno-ignored-attributes -Wno-unused-parameter "${SAN[@]}")

declare -A SOURCES=(
	[expr]="expr/expr_lex.c expr/expr_parse.c expr/expr_node.c expr/expr_eval.c expr/expr_bounds.c metadata/schema.c"
	[binlog]="format/binlog.c format/binlog_reader.c"
	[index]="format/ivffile.c format/binlog.c"
	[bloom]="format/bloom.c"
)
TARGETS=${FUZZ_TARGETS:-expr binlog index bloom}

# Objects are compiled once each into OUT/obj, named after their path.
compile() {
	local src=$1 obj=$2 extra=$3
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
		$CC -c "${CFLAGS[@]}" $extra "${INC[@]}" "$src" -o "$obj"
	fi
}

mkdir -p "$OUT/obj"
compile "$HERE/shim.c" "$OUT/obj/shim.o" ""
for t in $TARGETS; do
	objs=("$OUT/obj/shim.o")
	for s in ${SOURCES[$t]}; do
		o="$OUT/obj/$(echo "$s" | tr / _).o"
		# schema.c gives only the names of field types (SsFieldTypeName);
		# uninstrumented, its parser code falls away with its section.
		if [ "$s" = metadata/schema.c ]; then
			compile "$SRC/$s" "$o" ""
		else
			compile "$SRC/$s" "$o" "-fsanitize=fuzzer-no-link -fsanitize-coverage-ignorelist=$HERE/writers.ignore"
		fi
		objs+=("$o")
	done
	compile "$HERE/fuzz_$t.c" "$OUT/obj/fuzz_$t.o" "-fsanitize=fuzzer-no-link"
	$CC -fsanitize=fuzzer "${SAN[@]}" -Wl,--gc-sections -o "$OUT/fuzz_$t" \
		"$OUT/obj/fuzz_$t.o" "${objs[@]}" \
		"$LIBDIR/libpgcommon.a" "$LIBDIR/libpgport.a" -lzstd -lm
done
