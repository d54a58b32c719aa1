#!/usr/bin/env bash
# Make the seed corpora of the fuzz targets from real files: a throwaway
# cluster (segstore installed into the PostgreSQL that PG_CONFIG names,
# preloaded) gets small collections of every field type, deletes, flushes
# and both index types; their binlogs and index files are copied to
# corpus/binlog and corpus/index, the bloom filters inside the stats
# binlogs to corpus/bloom (the zstd CLI unpacks them), and a list of
# expressions covering the grammar to corpus/expr.  Run as a user that
# may run PostgreSQL (as root, the cluster runs as postgres):
#
#   test/fuzz/make_corpus.sh [CORPUS_DIR]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CORPUS=${1:-$HERE/corpus}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BIN=$($PG_CONFIG --bindir)
TMP=$(mktemp -d /tmp/segstore-corpus.XXXXXX)
trap 'runas "$BIN/pg_ctl" -D "$TMP/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT

runas() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

[ "$(id -u)" -eq 0 ] && chown postgres "$TMP"
runas "$BIN/initdb" -D "$TMP/data" -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >>"$TMP/data/postgresql.conf" <<CONF
shared_preload_libraries = 'segstore'
listen_addresses = ''
unix_socket_directories = '$TMP'
CONF
runas "$BIN/pg_ctl" -D "$TMP/data" -l "$TMP/log" -w start >/dev/null
psql() { runas "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$TMP" -d postgres "$@"; }

psql <<'SQL'
CREATE EXTENSION segstore;
SET segstore.insert_direct_threshold = 1;
SET segstore.min_index_rows = 64;
SELECT segstore.create_collection('every', 'id int8 PRIMARY KEY, vec float4[3], n int4, m int8, f float4, d float8, b bool, s text, v varchar(8), j jsonb');
SELECT segstore.insert('every', array_agg(i::int8), array_agg(ARRAY[i, -i, i / 3.0]::float4[]),
	array_agg(i::int4), array_agg(i * 1000::int8), array_agg(i / 7.0::float4), array_agg(i / 9.0::float8),
	array_agg(i % 2 = 0), array_agg(repeat('t', i % 5) || i), array_agg(left('v' || i, 8)),
	array_agg(jsonb_build_object('k', i)))
FROM generate_series(1, 40) i;
SELECT segstore.delete('every', 'id < 5 or id == 30');
SELECT segstore.flush('every');
SELECT segstore.create_index('every', 'vec', 'FLAT', 'IP', '{}');
SELECT segstore.create_collection('ivf', 'id int8 PRIMARY KEY, vec float4[4]');
SELECT segstore.insert('ivf', array_agg(i::int8 * 3), array_agg(ARRAY[i % 7, i % 5, i % 3, 1]::float4[]))
FROM generate_series(1, 100) i;
SELECT segstore.insert('ivf', array_agg(i::int8 * 3 + 1), array_agg(ARRAY[i % 7, i % 5, i % 3, 1]::float4[]))
FROM generate_series(1, 3) i;
SELECT segstore.delete('ivf', ARRAY[3, 6, 4]::int8[]);
SELECT segstore.flush('ivf');
SELECT segstore.create_index('ivf', 'vec', 'IVF_FLAT', 'L2', '{"nlist": 4}');
SELECT segstore.create_collection('cos', 'id int8 PRIMARY KEY, vec float4[2], s text');
SELECT segstore.insert('cos', array_agg(i::int8), array_agg(ARRAY[i, 1]::float4[]), array_agg('' || i))
FROM generate_series(-10, 10) i;
SELECT segstore.create_index('cos', 'vec', 'IVF_FLAT', 'COSINE', '{"nlist": 2}');
SQL

rm -rf "$CORPUS/binlog" "$CORPUS/index" "$CORPUS/bloom" "$CORPUS/expr"
mkdir -p "$CORPUS/binlog" "$CORPUS/index" "$CORPUS/bloom" "$CORPUS/expr"
psql -At -F ' ' -c "SELECT b.kind, b.path FROM segstore.collections c, segstore.binlogs(c.name) b ORDER BY 1, 2" |
while read -r kind path; do
	name=$(basename "$path")
	case "$kind" in
	index) cp "$TMP/data/$path" "$CORPUS/index/$name" ;;
	*) cp "$TMP/data/$path" "$CORPUS/binlog/$name" ;;
	esac
	[ "$kind" = stats ] || continue
	# The filter is column 3's only block: its offset and size are the
	# footer's last block entry; its payload is a 4-byte length, then it.
	perl -e '
		open(my $f, "<:raw", $ARGV[0]) or die; local $/; my $b = <$f>;
		my ($foff, $flen) = unpack("Q<Q<", substr($b, -20, 16));
		my $e = substr($b, $foff + $flen - 4 - 44, 44);
		my ($off, $csize) = unpack("Q<Q<", $e);
		print substr($b, $off, $csize);' "$TMP/data/$path" |
		zstd -dcq | tail -c +5 >"$CORPUS/bloom/$name"
done

# Expressions: every construct of the grammar, and errors.
n=0
while IFS= read -r e; do
	n=$((n + 1))
	printf '%s' "$e" >"$CORPUS/expr/$(printf '%03d' $n)"
done <<'EXPRS'
id == 3
id != 3 and id < 10
2 < id <= 5
id in [1, 3, 8]
id not in [-1, 9223372036854775807]
id in []
n > 25 and n < 55 or m == 1000
not (n > 20)
!(n > 20) && b || !b
b == true
f >= 0.5 and d < 1e10
d == -1.5e-3
s like "t%"
s like "a_b\%"
v == "v1" or v != 'x'
s in ["a", "b\"c"]
(id > 1) and ((n < 3) or (m >= 4))
id == 1.5
id > "x"
j == 1
vec > 1
id <
id in [1, 2
nosuch == 1
id == 99999999999999999999
s like "%é%"
1 <= id < 3 and 10 > n >= 2
EXPRS
echo "corpus: $(ls "$CORPUS/binlog" | wc -l) binlogs, $(ls "$CORPUS/index" | wc -l) index files, $(ls "$CORPUS/bloom" | wc -l) bloom filters, $n expressions in $CORPUS"
