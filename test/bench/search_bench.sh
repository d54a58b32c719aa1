#!/usr/bin/env bash
# Search benchmark on the tutorial's data: 100,000 entities of dim 128
# (random components), half deleted ("id < 50000"), so 50,000 live.
# Latency of segstore.search() through SQL, measured with pgbench (one
# client, prepared statements, per-transaction log; p50 and p99 over all
# transactions), for:
#   - IVF_FLAT (L2, nlist 128), nprobe 10, top 10, on the compacted collection
#   - FLAT, top 10, on the same rows
#   - an exact ORDER BY over a heap table holding the same 50,000 rows
#     (float4[] and a SQL distance function; no extension)
#   - the seed's comparison: the same IVF_FLAT search over the collection
#     written as 100 small segments (1,000 rows each, so FLAT files) before
#     compaction, and over the compacted collection after
# Prints a Markdown table and the CPU model.
#
#   test/bench/search_bench.sh
#   TXNS=500 test/bench/search_bench.sh    fewer searches per measurement
set -euo pipefail

ROWS=${ROWS:-100000}
TXNS=${TXNS:-3000}          # searches per segstore measurement
HEAP_TXNS=${HEAP_TXNS:-20}  # exact ORDER BY scans (each takes about a second)

# shellcheck source=SCRIPTDIR/../../scripts/demo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/demo.sh"

echo "Building and installing segstore..." >&2
segstore_install
trap cluster_stop EXIT
# Only the compactions the benchmark asks for run.
cluster_start "shared_buffers = '1GB'" "max_wal_size = '8GB'" "checkpoint_timeout = '1h'" \
	"segstore.enable_compaction = off"

echo "Preparing $ROWS rows and two collections..." >&2
cluster_psql -v rows="$ROWS" >/dev/null <<'SQL'
CREATE EXTENSION segstore;
SELECT setseed(0.25);
CREATE TABLE bench_rows AS
SELECT i::int8 AS id,
	   ARRAY(SELECT random()::float4 FROM generate_series(1, 128) WHERE i >= 0) AS vector
FROM generate_series(0, :rows - 1) i;
CREATE TABLE bench_queries AS
SELECT q, ARRAY(SELECT random()::float4 FROM generate_series(1, 128) WHERE q >= 0) AS v
FROM generate_series(1, 100) q;
ALTER TABLE bench_queries ADD PRIMARY KEY (q);

-- the tutorial: one insert of every row, flush, delete half, flush, compact
SELECT segstore.create_collection('big', 'id int8 PRIMARY KEY, vector float4[128]');
SELECT segstore.insert('big', array_agg(id ORDER BY id), array_agg(vector ORDER BY id)) FROM bench_rows;
SELECT segstore.flush('big');
SELECT segstore.create_index('big', 'vector', 'IVF_FLAT', 'L2', '{"nlist": 128}');
SELECT segstore.delete('big', 'id < ' || (:rows / 2));
SELECT segstore.flush('big');
SELECT segstore.compact('big') AS cid \gset
SELECT segstore.wait_for_compaction(:cid);

-- the same rows as 100 small segments
SELECT segstore.create_collection('small', 'id int8 PRIMARY KEY, vector float4[128]');
SELECT segstore.create_index('small', 'vector', 'IVF_FLAT', 'L2', '{"nlist": 128}');
DO $$
DECLARE
	n int := (SELECT count(*) FROM bench_rows);
BEGIN
	FOR s IN 0 .. 99 LOOP
		PERFORM segstore.insert('small', array_agg(id ORDER BY id), array_agg(vector ORDER BY id))
		FROM bench_rows WHERE id >= s * n / 100 AND id < (s + 1) * n / 100;
		PERFORM segstore.flush('small');
		COMMIT;
	END LOOP;
END $$;
SELECT segstore.delete('small', 'id < ' || (:rows / 2));
SELECT segstore.flush('small');

-- the heap table with the live rows
CREATE TABLE heap AS SELECT * FROM bench_rows WHERE id >= :rows / 2;
ALTER TABLE heap ADD PRIMARY KEY (id);
CREATE FUNCTION l2(a float4[], b float4[]) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS 'SELECT sum((x - y)::float8 ^ 2) FROM unnest(a, b) u(x, y)';
VACUUM ANALYZE;
SQL

WORK=$(mktemp -d /tmp/segstore-search-bench.XXXXXX)
chmod 777 "$WORK"
cleanup() { rm -rf "$WORK"; cluster_stop; }
trap cleanup EXIT

# Runs pgbench on one query for n transactions; prints "p50_ms p99_ms".
measure() {
	local name=$1 n=$2 query=$3
	printf '\\set q random(1, 100)\n%s\n' "$query" >"$WORK/$name.sql"
	rm -f "$WORK"/pgbench_log.*
	(cd "$WORK" && "${CLUSTER_AS[@]}" "$PGBIN/pgbench" -h "$PGHOST" -p "$PGPORT" -U postgres \
		-n -M prepared -c 1 -t "$n" -l -f "$WORK/$name.sql" postgres >"$WORK/$name.out" 2>&1) ||
		{ cat "$WORK/$name.out" >&2; return 1; }
	# log lines: client transaction latency_us script epoch epoch_us
	awk '{ print $3 }' "$WORK"/pgbench_log.* | sort -n | awk '
		{ v[NR] = $1 }
		END { i50 = int(NR * 0.50); i99 = int(NR * 0.99); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1;
			  printf "%.3f %.3f\n", v[i50] / 1000, v[i99] / 1000 }'
}

search_sql() {
	echo "SELECT * FROM segstore.search('$1', (SELECT v FROM bench_queries WHERE q = :q), 10, '$2');"
}

# Warm-up: every backend maps and checks the files once; pgbench's client
# connects once, so its first search pays that.  load() does it up front.
cluster_psql -c "SELECT segstore.load('big'), segstore.load('small')" >/dev/null

echo "Measuring: small segments before compaction..." >&2
read -r small_p50 small_p99 < <(measure small "$TXNS" "$(search_sql small '{"nprobe": 10}')")
nsmall=$(cluster_psql -At -c "SELECT count(*) FROM segstore.segments('small') WHERE state = 'flushed'")
cid=$(cluster_psql -At -c "SELECT segstore.compact('small')")
cluster_psql -At -c "SELECT segstore.wait_for_compaction($cid)" >/dev/null
nsmall_after=$(cluster_psql -At -c "SELECT count(*) FROM segstore.segments('small') WHERE state = 'flushed'")
echo "Measuring: small segments after compaction..." >&2
read -r compacted_p50 compacted_p99 < <(measure compacted "$TXNS" "$(search_sql small '{"nprobe": 10}')")

echo "Measuring: IVF_FLAT..." >&2
read -r ivf_p50 ivf_p99 < <(measure ivf "$TXNS" "$(search_sql big '{"nprobe": 10}')")
cluster_psql -c "SELECT segstore.drop_index('big', 'vector'), segstore.create_index('big', 'vector', 'FLAT')" >/dev/null
echo "Measuring: FLAT..." >&2
read -r flat_p50 flat_p99 < <(measure flat "$TXNS" "$(search_sql big '{}')")
echo "Measuring: exact ORDER BY over the heap table..." >&2
read -r heap_p50 heap_p99 < <(measure heap "$HEAP_TXNS" \
	"SELECT id, l2(vector, (SELECT v FROM bench_queries WHERE q = :q)) AS d FROM heap ORDER BY d LIMIT 10;")

live=$(cluster_psql -At -c "SELECT segstore.num_entities('big')")
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cat <<EOF
Search latency through SQL ($live live of $ROWS x 128, top 10; pgbench, 1 client, prepared; p50 / p99 over $TXNS searches, $HEAP_TXNS for the heap scan)

| search | p50 ms | p99 ms |
|---|---:|---:|
| IVF_FLAT nlist 128, nprobe 10 (1 compacted segment) | $ivf_p50 | $ivf_p99 |
| FLAT (1 compacted segment) | $flat_p50 | $flat_p99 |
| heap table, exact ORDER BY l2(vector, q) LIMIT 10 | $heap_p50 | $heap_p99 |
| IVF_FLAT nprobe 10 over $nsmall small segments, before compaction | $small_p50 | $small_p99 |
| the same after compaction ($nsmall_after segments) | $compacted_p50 | $compacted_p99 |

Compaction made search $(awk -v a="$small_p50" -v b="$compacted_p50" 'BEGIN { printf "%.1f", a / b }')x faster (p50).
FLAT vs heap ORDER BY: $(awk -v a="$heap_p50" -v b="$flat_p50" 'BEGIN { printf "%.0f", a / b }')x faster (p50).
CPU: $cpu ($(nproc) cores; distance kernel: $(grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && echo "AVX2+FMA" || echo "scalar")).
EOF
