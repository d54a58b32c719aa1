#!/usr/bin/env bash
# Storage benchmark on the tutorial's data: ROWS entities of (int8 id,
# float4[128] vector, varchar(500) text), written once with
# segstore.insert + segstore.flush and once into a heap table with
# INSERT ... SELECT.  Prints a Markdown table (medians of REPS runs).
#
#   test/bench/storage_bench.sh
#   ROWS=20000 REPS=3 test/bench/storage_bench.sh
#
# Times are taken in the server around each statement (clock_timestamp()
# before and after, in autocommit mode), so they include the commit but not
# the transfer of the input: the input is built once, server-side, into
# staging tables (bench_rows: one row per entity; bench_input: the same as
# the one array per field that segstore.insert takes).
set -euo pipefail

ROWS=${ROWS:-100000}
REPS=${REPS:-5}

# shellcheck source=SCRIPTDIR/../../scripts/demo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/demo.sh"

echo "Building and installing segstore..." >&2
segstore_install
trap cluster_stop EXIT
# Durable settings as shipped (fsync, synchronous_commit on); checkpoints
# are kept out of the timed statements.
cluster_start "shared_buffers = '1GB'" "max_wal_size = '8GB'" "checkpoint_timeout = '1h'" \
	"segstore.enable_compaction = off"

# Progress goes to stderr and the statements' results are dropped, so that
# stdout carries only the Markdown report.
echo "Preparing $ROWS rows..." >&2
cluster_psql -v rows="$ROWS" >/dev/null <<'SQL'
CREATE EXTENSION segstore;
-- Random components in [0, 1): multiples of 2^-24 below 1 are exact float4.
CREATE TABLE bench_rows AS
SELECT i::int8 AS id,
	   ARRAY(SELECT (floor(random() * 16777216) / 16777216)::float4
			 FROM generate_series(1, 128) WHERE i >= 0) AS vector,
	   ('document ' || i)::varchar(500) AS text
FROM generate_series(0, :rows - 1) i;
CREATE TABLE bench_input AS
SELECT array_agg(id ORDER BY id) AS ids, array_agg(vector ORDER BY id) AS vectors,
	   array_agg(text ORDER BY id) AS texts
FROM bench_rows;
VACUUM ANALYZE bench_rows, bench_input;
CREATE TABLE bench_result (rep int, system text, seconds float8, flush_seconds float8,
						   bytes bigint, du_bytes bigint);
SQL

raw_bytes=$(cluster_psql -At -c "SELECT sum(8 + 4 * cardinality(vector) + octet_length(text)) FROM bench_rows")

for rep in $(seq 1 "$REPS"); do
	echo "Repetition $rep of $REPS..." >&2
	coll=bench_$rep
	cluster_psql -v coll="$coll" -v rep="$rep" >/dev/null <<'SQL'
SELECT segstore.create_collection(:'coll',
	'id int8 PRIMARY KEY, vector float4[128], text varchar(500)');
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
SELECT segstore.insert(:'coll', ids, vectors, texts) FROM bench_input;
SELECT clock_timestamp() AS t1 \gset
SELECT segstore.flush(:'coll');
SELECT clock_timestamp() AS t2 \gset
INSERT INTO bench_result
SELECT :rep, 'segstore',
	   extract(epoch FROM :'t2'::timestamptz - :'t0'::timestamptz),
	   extract(epoch FROM :'t2'::timestamptz - :'t1'::timestamptz),
	   (SELECT sum(size_bytes) FROM segstore.binlogs(:'coll'));

CREATE TABLE bench_heap (id int8 PRIMARY KEY, vector float4[], text varchar(500));
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
INSERT INTO bench_heap SELECT id, vector, text FROM bench_rows;
SELECT clock_timestamp() AS t1 \gset
INSERT INTO bench_result
SELECT :rep, 'heap', extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz), NULL,
	   pg_total_relation_size('bench_heap');
DROP TABLE bench_heap;
SQL
	# Space the files take, from the directories the catalog names.
	du_bytes=0
	while IFS= read -r dir; do
		[[ "$dir" = /* ]] || dir=$PGDATA/$dir
		du_bytes=$((du_bytes + $(du -s --block-size=1 "$dir" | cut -f1)))
	done < <(cluster_psql -At -v coll="$coll" <<'SQL'
SELECT DISTINCT regexp_replace(path, '/[^/]*$', '') FROM segstore.binlogs(:'coll');
SQL
	)
	cluster_psql -v coll="$coll" -v rep="$rep" -v du="$du_bytes" >/dev/null <<'SQL'
UPDATE bench_result SET du_bytes = :du WHERE rep = :rep AND system = 'segstore';
SELECT segstore.drop_collection(:'coll');
SQL
done

cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
pgver=$(cluster_psql -At -c "SHOW server_version")

cat <<EOF
### Storage benchmark: $ROWS entities (int8, float4[128], varchar text)

Machine: $(nproc) cores, ${cpu:-unknown CPU}; PostgreSQL $pgver, fsync on.
Raw data: $raw_bytes bytes ($(awk -v b="$raw_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB, MB = 10^6 bytes): 8 + 512 + length(text) per row.
Medians of $REPS runs, each into a fresh collection / table; time is server
time per statement including commit; heap = table with a primary key,
INSERT ... SELECT from a staging table.

EOF
cluster_psql -At -v raw="$raw_bytes" -v rows="$ROWS" <<'SQL'
WITH m AS (
	SELECT system,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS s,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY flush_seconds) AS flush_s,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY bytes) AS bytes,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY du_bytes) AS du
	FROM bench_result GROUP BY system),
s AS (SELECT * FROM m WHERE system = 'segstore'),
h AS (SELECT * FROM m WHERE system = 'heap')
SELECT '| | segstore (insert + flush) | heap table | segstore / heap |'
UNION ALL SELECT '|---|---:|---:|---:|'
UNION ALL SELECT format('| time (s) | %s (flush %s) | %s | %s |',
	round(s.s::numeric, 3), round(s.flush_s::numeric, 3), round(h.s::numeric, 3),
	round((s.s / h.s)::numeric, 2)) FROM s, h
UNION ALL SELECT format('| rows/s | %s | %s | %s |',
	round(:rows / s.s), round(:rows / h.s), round((h.s / s.s)::numeric, 2)) FROM s, h
UNION ALL SELECT format('| MB/s (raw data) | %s | %s | %s |',
	round((:raw / 1e6 / s.s)::numeric, 1), round((:raw / 1e6 / h.s)::numeric, 1),
	round((h.s / s.s)::numeric, 2)) FROM s, h
UNION ALL SELECT format('| bytes on disk | %s (du: %s) | %s | %s |',
	s.bytes::bigint, s.du::bigint, h.bytes::bigint,
	round((s.bytes / h.bytes)::numeric, 3)) FROM s, h
UNION ALL SELECT format('| bytes / raw bytes | %s | %s | |',
	round((s.bytes / :raw)::numeric, 3), round((h.bytes / :raw)::numeric, 3)) FROM s, h;
SQL
