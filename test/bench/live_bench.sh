#!/usr/bin/env bash
# The live workload, side by side with a heap table holding the same rows
# (int8 primary key with its btree, float4[] vector), on one throwaway
# cluster: what users run besides the seed's batch story.
#
#   writes   tps of 1-, 10- and 100-row insert batches from 1, 2 and 4
#            clients (pgbench, DURATION seconds each) into a collection and
#            a heap table that each already hold BASE rows
#   search   top-10 IVF_FLAT search (nlist 128, nprobe 10) p50 over a
#            collection of BASE*0.8 sealed, indexed rows: alone, while two
#            clients ingest 10-row batches, and after INGEST rows arrived in
#            10-row batches with no flush; recall@10 against an exact search
#            (nprobe = nlist) at each point; vectors lie around 64 centres
#   bulk     insert of BULK pre-built rows (arrays ready in a table) vs heap
#            INSERT ... SELECT; delete of half the keys by id plus flush vs
#            heap DELETE of the same keys
#   compact  compaction after deleting every other id, and after id < half,
#            vs VACUUM FULL of the heap table with the same deletes
#   load     loading BULK rows from a table: array_agg into insert(), and
#            insert_from() streaming the query, vs heap INSERT ... SELECT
#
# Times are medians of REPS runs (each side measured in the same run);
# tps are pgbench's.  Prints Markdown tables and the CPU.
#
#   test/bench/live_bench.sh
#   PARTS="writes search" DURATION=10 test/bench/live_bench.sh
set -euo pipefail

PARTS=${PARTS:-writes search bulk compact load}
BASE=${BASE:-100000}        # rows already in the collection and the heap table
DURATION=${DURATION:-15}    # seconds per pgbench write measurement
CLIENTS=${CLIENTS:-1 2 4}
BATCHES=${BATCHES:-1 10 100}
INGEST=${INGEST:-100000}    # rows arriving in 10-row batches before the last search
SEARCHES=${SEARCHES:-2000}  # searches per latency measurement
BULK=${BULK:-100000}
REPS=${REPS:-3}
DIM=128

# shellcheck source=SCRIPTDIR/../../scripts/demo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/demo.sh"

echo "Building and installing segstore..." >&2
segstore_install
WORK=$(mktemp -d /tmp/segstore-live-bench.XXXXXX)
chmod 777 "$WORK"
cleanup() { cluster_stop; rm -rf "$WORK"; }
trap cleanup EXIT
# Only the compactions the benchmark asks for run; the worker otherwise
# runs as a user's would (sealing idle growing segments, building indexes).
cluster_start "shared_buffers = '2GB'" "max_wal_size = '16GB'" "checkpoint_timeout = '1h'" \
	"max_connections = 50" "segstore.enable_compaction = off"

sql() { cluster_psql -At "$@"; }

echo "Preparing rows..." >&2
cluster_psql -v base="$BASE" -v bulk="$BULK" -v dim="$DIM" >/dev/null <<'SQL'
CREATE EXTENSION segstore;
SELECT setseed(0.5);
-- Vectors around 64 centres, as real embeddings cluster (uniform random
-- vectors have no neighbours worth the name, and no IVF index reaches a
-- useful recall on them).  Every row of every table comes from here: ids
-- 0 .. n-1.
CREATE TABLE centres AS
SELECT c, ARRAY(SELECT random()::float4 FROM generate_series(1, :dim) WHERE c >= 0) AS v
FROM generate_series(0, 63) c;
CREATE FUNCTION near(c int, salt int8) RETURNS float4[] LANGUAGE sql AS
$$ SELECT array_agg((x + (random() - 0.5) * 0.1)::float4 ORDER BY o)
   FROM centres, unnest(v) WITH ORDINALITY u(x, o) WHERE centres.c = near.c AND salt >= 0 $$;
CREATE TABLE src AS SELECT i::int8 AS id, near(i % 64, i) AS v
FROM generate_series(0, greatest(:base, :bulk) - 1) i;
ALTER TABLE src ADD PRIMARY KEY (id);
-- vectors that writers insert under new ids, 1000 of them
CREATE TABLE pool AS SELECT p, near((p * 7) % 64, p) AS v FROM generate_series(0, 999) p;
ALTER TABLE pool ADD PRIMARY KEY (p);
CREATE TABLE queries AS SELECT q, near((q * 13) % 64, q) AS v FROM generate_series(1, 100) q;
ALTER TABLE queries ADD PRIMARY KEY (q);
CREATE TABLE bulk_input AS
SELECT array_agg(id ORDER BY id) AS ids, array_agg(v ORDER BY id) AS vs FROM src WHERE id < :bulk;
VACUUM ANALYZE;
SQL

# Median of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Seconds a psql script takes, measured in the server from its first
# statement's start to the end of its last.
seconds() {
	{
		echo "SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset"
		cat
		echo "SELECT extract(epoch FROM clock_timestamp()) - :t0;"
	} | cluster_psql -At | tail -n 1
}

# Runs pgbench with a script; prints its tps (excluding connection time).
tps() {
	local clients=$1 script=$2
	(cd "$WORK" && "${CLUSTER_AS[@]}" "$PGBIN/pgbench" -h "$PGHOST" -p "$PGPORT" -U postgres \
		-n -M prepared -c "$clients" -j "$clients" -T "$DURATION" -f "$script" postgres \
		>"$WORK/pgbench.out" 2>&1) || { cat "$WORK/pgbench.out" >&2; return 1; }
	sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$WORK/pgbench.out"
}

# A collection and a heap table with the first n rows of src.
fresh_pair() {
	local n=$1
	cluster_psql -v n="$n" >/dev/null <<'SQL'
SELECT segstore.drop_collection('live', true);
DROP TABLE IF EXISTS heap_live;
DROP SEQUENCE IF EXISTS live_ids;
SELECT segstore.create_collection('live', 'id int8 PRIMARY KEY, v float4[128]');
SELECT segstore.insert('live', array_agg(id ORDER BY id), array_agg(v ORDER BY id)) FROM src WHERE id < :n;
SELECT segstore.flush('live');
SELECT segstore.create_index('live', 'v', 'IVF_FLAT', 'L2', '{"nlist": 128}');
CREATE TABLE heap_live (id int8 PRIMARY KEY, v float4[]);
INSERT INTO heap_live SELECT id, v FROM src WHERE id < :n;
CREATE SEQUENCE live_ids START 10000000;
VACUUM ANALYZE heap_live;
SQL
}

# pgbench scripts inserting batches of n pool vectors under new ids.
write_scripts() {
	local n=$1
	printf '\\set p random(0, %d)\nSELECT segstore.insert('"'live'"', array_agg(nextval('"'live_ids'"')), array_agg(v)) FROM (SELECT v FROM pool WHERE p >= :p ORDER BY p LIMIT %d) s;\n' \
		$((1000 - n)) "$n" >"$WORK/seg_$n.sql"
	printf '\\set p random(0, %d)\nINSERT INTO heap_live SELECT nextval('"'live_ids'"'), v FROM (SELECT v FROM pool WHERE p >= :p ORDER BY p LIMIT %d) s;\n' \
		$((1000 - n)) "$n" >"$WORK/heap_$n.sql"
}

cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)

part_writes() {
	local n c seg heap
	echo
	echo "### Small insert batches: tps, $BASE rows already there, ${DURATION} s each"
	echo
	echo "| rows per insert | clients | segstore tps | heap + btree tps | segstore / heap |"
	echo "|---:|---:|---:|---:|---:|"
	for n in $BATCHES; do
		write_scripts "$n"
		for c in $CLIENTS; do
			echo "writes: batch $n, $c clients..." >&2
			fresh_pair "$BASE"
			seg=$(tps "$c" "$WORK/seg_$n.sql")
			heap=$(tps "$c" "$WORK/heap_$n.sql")
			awk -v n="$n" -v c="$c" -v s="$seg" -v h="$heap" \
				'BEGIN { printf "| %d | %d | %.0f | %.0f | %.2f |\n", n, c, s, h, s / h }'
		done
	done
}

# p50 latency in ms and recall@10 of searches over 'live'.
search_p50() {
	local script="$WORK/search.sql"
	printf '\\set q random(1, 100)\nSELECT * FROM segstore.search('"'live'"', (SELECT v FROM queries WHERE q = :q), 10, '"'"'{"nprobe": 10}'"'"');\n' >"$script"
	rm -f "$WORK"/pgbench_log.*
	(cd "$WORK" && "${CLUSTER_AS[@]}" "$PGBIN/pgbench" -h "$PGHOST" -p "$PGPORT" -U postgres \
		-n -M prepared -c 1 -t "$SEARCHES" -l -f "$script" postgres >"$WORK/search.out" 2>&1) ||
		{ cat "$WORK/search.out" >&2; return 1; }
	awk '{ print $3 / 1000 }' "$WORK"/pgbench_log.* | median
}

recall() {
	sql <<'SQL'
SELECT round(avg(hits) / 10, 3) FROM (
	SELECT (SELECT count(*) FROM segstore.search('live', q.v, 10, '{"nprobe": 10}') a
			JOIN segstore.search('live', q.v, 10, '{"nprobe": 128}') e USING (id)) AS hits
	FROM queries q WHERE q.q <= 20) r;
SQL
}

part_search() {
	local sealed=$((BASE * 8 / 10)) alone alone_r during during_r after after_r ingest_pid
	echo "search: preparing $sealed sealed rows..." >&2
	fresh_pair "$sealed"
	write_scripts 10
	sql -c "SELECT segstore.load('live')" >/dev/null
	alone=$(search_p50)
	alone_r=$(recall)
	echo "search: while two clients ingest..." >&2
	(cd "$WORK" && "${CLUSTER_AS[@]}" "$PGBIN/pgbench" -h "$PGHOST" -p "$PGPORT" -U postgres \
		-n -M prepared -c 2 -j 2 -T 36000 -f "$WORK/seg_10.sql" postgres >"$WORK/ingest.out" 2>&1) &
	ingest_pid=$!
	sleep 5
	during=$(search_p50)
	during_r=$(recall)
	kill "$ingest_pid" 2>/dev/null || true
	wait "$ingest_pid" 2>/dev/null || true
	echo "search: $INGEST more rows in 10-row batches..." >&2
	(cd "$WORK" && "${CLUSTER_AS[@]}" "$PGBIN/pgbench" -h "$PGHOST" -p "$PGPORT" -U postgres \
		-n -M prepared -c 2 -j 2 -t $((INGEST / 20)) -f "$WORK/seg_10.sql" postgres >"$WORK/ingest2.out" 2>&1)
	after=$(search_p50)
	after_r=$(recall)
	echo
	echo "### Search under ingestion: top 10, IVF_FLAT nlist 128, nprobe 10, p50 of $SEARCHES"
	echo
	echo "| | p50 | recall@10 |"
	echo "|---|---:|---:|"
	printf '| %d sealed rows, nothing growing | %.3f ms | %s |\n' "$sealed" "$alone" "$alone_r"
	printf '| the same while 2 clients insert 10-row batches | %.3f ms | %s |\n' "$during" "$during_r"
	printf '| after %d more rows arrived in 10-row batches, no flush | %.3f ms | %s |\n' "$INGEST" "$after" "$after_r"
	echo
	sql -c "SELECT 'growing rows at the end: ' || growing_rows || ', sealed segments: ' || flushed_segments FROM segstore.collection_stats('live')"
}

part_bulk() {
	local r seg_ins=() heap_ins=() seg_del=() heap_del=() half=$((BULK / 2))
	for r in $(seq 1 "$REPS"); do
		echo "bulk: run $r of $REPS..." >&2
		sql >/dev/null <<'SQL'
SELECT segstore.drop_collection('bulk', true);
DROP TABLE IF EXISTS heap_bulk;
SELECT segstore.create_collection('bulk', 'id int8 PRIMARY KEY, v float4[128]');
CREATE TABLE heap_bulk (id int8 PRIMARY KEY, v float4[]);
CHECKPOINT;
SQL
		seg_ins+=("$(seconds <<<"SELECT segstore.insert('bulk', ids, vs) FROM bulk_input;")")
		heap_ins+=("$(seconds <<<"INSERT INTO heap_bulk SELECT id, v FROM src WHERE id < $BULK;")")
		sql -c "CHECKPOINT" >/dev/null
		seg_del+=("$(seconds <<<"SELECT segstore.delete('bulk', ARRAY(SELECT generate_series(0, $BULK - 1, 2)::int8)); SELECT segstore.flush('bulk');")")
		heap_del+=("$(seconds <<<"DELETE FROM heap_bulk WHERE id = ANY (ARRAY(SELECT generate_series(0, $BULK - 1, 2)::int8));")")
	done
	echo
	echo "### Bulk writes: $BULK rows, medians of $REPS"
	echo
	echo "| | segstore | heap + btree | heap / segstore |"
	echo "|---|---:|---:|---:|"
	awk -v s="$(printf '%s\n' "${seg_ins[@]}" | median)" -v h="$(printf '%s\n' "${heap_ins[@]}" | median)" -v n="$BULK" \
		'BEGIN { printf "| insert %d pre-built rows (arrays) vs INSERT ... SELECT | %.3f s | %.3f s | %.2f |\n", n, s, h, h / s }'
	awk -v s="$(printf '%s\n' "${seg_del[@]}" | median)" -v h="$(printf '%s\n' "${heap_del[@]}" | median)" -v n="$half" \
		'BEGIN { printf "| delete %d keys by id (+ flush) vs DELETE ... = ANY | %.3f s | %.3f s | %.2f |\n", n, s, h, h / s }'
}

part_compact() {
	local pattern r seg=() vac=() cid
	echo
	echo "### Compaction vs VACUUM FULL: $BULK rows, medians of $REPS"
	echo
	echo "| deleted | segstore compact -> Completed | VACUUM FULL | VACUUM FULL / segstore |"
	echo "|---|---:|---:|---:|"
	for pattern in "every other id" "id < half"; do
		seg=()
		vac=()
		for r in $(seq 1 "$REPS"); do
			echo "compact: $pattern, run $r of $REPS..." >&2
			if [ "$pattern" = "every other id" ]; then
				keys="ARRAY(SELECT generate_series(0, $BULK - 1, 2)::int8)"
			else
				keys="ARRAY(SELECT generate_series(0, $BULK / 2 - 1)::int8)"
			fi
			sql >/dev/null <<SQL
SELECT segstore.drop_collection('cmp', true);
DROP TABLE IF EXISTS heap_cmp;
SELECT segstore.create_collection('cmp', 'id int8 PRIMARY KEY, v float4[128]');
SELECT segstore.insert('cmp', ids, vs) FROM bulk_input;
SELECT segstore.delete('cmp', $keys);
SELECT segstore.flush('cmp');
CREATE TABLE heap_cmp (id int8 PRIMARY KEY, v float4[]);
INSERT INTO heap_cmp SELECT id, v FROM src WHERE id < $BULK;
DELETE FROM heap_cmp WHERE id = ANY ($keys);
CHECKPOINT;
SQL
			seg+=("$(seconds <<<"SELECT segstore.compact('cmp') AS cid \\gset
SELECT segstore.wait_for_compaction(:cid);")")
			vac+=("$(seconds <<<"VACUUM FULL heap_cmp;")")
		done
		awk -v p="$pattern" -v s="$(printf '%s\n' "${seg[@]}" | median)" -v v="$(printf '%s\n' "${vac[@]}" | median)" \
			'BEGIN { printf "| %s | %.3f s | %.3f s | %.2f |\n", p, s, v, v / s }'
	done
}

part_load() {
	local r seg=() stream=() heap=()
	for r in $(seq 1 "$REPS"); do
		echo "load: run $r of $REPS..." >&2
		for c in load load_from; do
			sql >/dev/null <<SQL
SELECT segstore.drop_collection('$c', true);
SELECT segstore.create_collection('$c', 'id int8 PRIMARY KEY, v float4[128]');
SQL
		done
		sql >/dev/null <<'SQL'
DROP TABLE IF EXISTS heap_load;
CREATE TABLE heap_load (id int8 PRIMARY KEY, v float4[]);
CHECKPOINT;
SQL
		seg+=("$(seconds <<<"SELECT segstore.insert('load', array_agg(id ORDER BY id), array_agg(v ORDER BY id)) FROM src WHERE id < $BULK;")")
		stream+=("$(seconds <<<"SELECT segstore.insert_from('load_from', 'SELECT id, v FROM src WHERE id < $BULK');")")
		heap+=("$(seconds <<<"INSERT INTO heap_load SELECT id, v FROM src WHERE id < $BULK;")")
	done
	echo
	echo "### Loading $BULK rows from a table, medians of $REPS"
	echo
	echo "| | segstore | heap + btree INSERT ... SELECT | heap / segstore |"
	echo "|---|---:|---:|---:|"
	local h
	h=$(printf '%s\n' "${heap[@]}" | median)
	awk -v s="$(printf '%s\n' "${seg[@]}" | median)" -v h="$h" \
		'BEGIN { printf "| insert(array_agg(...)) from the table | %.3f s | %.3f s | %.2f |\n", s, h, h / s }'
	awk -v s="$(printf '%s\n' "${stream[@]}" | median)" -v h="$h" \
		'BEGIN { printf "| insert_from(query) from the table | %.3f s | %.3f s | %.2f |\n", s, h, h / s }'
}

echo "## Live workload ($(date -u +%Y-%m-%d), $cpu, $(nproc) cores)"
for part in $PARTS; do
	"part_$part"
done
