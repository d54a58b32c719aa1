#!/usr/bin/env bash
# The demo: the user's tutorial story (shared/seeds) told in SQL against a
# throwaway PostgreSQL cluster.  Builds and installs segstore first.
#
#   scripts/demo.sh              100,000 entities, as in the story
#   ROWS=20000 scripts/demo.sh   a smaller run
#
# Sourced (as test/bench/storage_bench.sh does), it only defines the helper
# functions: segstore_install, cluster_start, cluster_stop, cluster_psql.
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin
SEGSTORE_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# PostgreSQL refuses to run as root: as root, the cluster belongs to postgres.
if [ "$(id -u)" -eq 0 ]; then
	CLUSTER_AS=(runuser -u postgres --)
	SUDO=()
else
	CLUSTER_AS=()
	SUDO=(sudo)
fi

# Installs the packages, then builds segstore in a copy of the tree (keeping
# object files out of the repository) and installs it.
segstore_install() {
	local build
	"$SEGSTORE_SRC/scripts/setup.sh"
	build=$(mktemp -d /tmp/segstore-build.XXXXXX)
	tar -C "$SEGSTORE_SRC" --exclude=./.git --exclude='*.o' --exclude='*.so' \
		--exclude='*.bc' -cf - . | tar -C "$build" -xf -
	if ! make -C "$build" -s -j"$(nproc)" >"$build/make.log" 2>&1; then
		cat "$build/make.log"
		rm -rf "$build"
		return 1
	fi
	"${SUDO[@]}" make -C "$build" -s install >/dev/null
	rm -rf "$build"
}

# Starts a cluster in a new temporary directory, with segstore preloaded.
# It listens only on a Unix socket in that directory, so its port can never
# clash with another server's.  Extra postgresql.conf lines may be given as
# arguments.  Sets CLUSTER_DIR, PGDATA, PGHOST, PGPORT.
cluster_start() {
	local line
	CLUSTER_DIR=$(mktemp -d /tmp/segstore-cluster.XXXXXX)
	PGDATA=$CLUSTER_DIR/data
	PGHOST=$CLUSTER_DIR
	PGPORT=5432
	export PGHOST PGPORT
	[ ${#CLUSTER_AS[@]} -eq 0 ] || chown postgres: "$CLUSTER_DIR"
	"${CLUSTER_AS[@]}" "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres \
		--locale=C.UTF-8 -E UTF8 >"$CLUSTER_DIR/initdb.log"
	{
		echo "shared_preload_libraries = 'segstore'"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$CLUSTER_DIR'"
		echo "port = $PGPORT"
		for line in "$@"; do echo "$line"; done
	} | "${CLUSTER_AS[@]}" tee -a "$PGDATA/postgresql.conf" >/dev/null
	"${CLUSTER_AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$CLUSTER_DIR/server.log" -w start >/dev/null
}

# Stops and removes the cluster cluster_start made, if any.
cluster_stop() {
	[ -n "${CLUSTER_DIR:-}" ] || return 0
	if [ -f "$PGDATA/postmaster.pid" ]; then
		"${CLUSTER_AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null || true
	fi
	rm -rf "$CLUSTER_DIR"
	CLUSTER_DIR=""
}

# psql on the cluster's postgres database; stops at the first error.
cluster_psql() {
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off -U postgres -d postgres "$@"
}

demo_main() {
	local rows=${ROWS:-100000}

	echo "=== Building and installing segstore"
	segstore_install
	trap cluster_stop EXIT
	# Automatic compaction starts switched off, so that steps 1-6 show the
	# manual path; step 8 switches it on.  pg_cron schedules step 8's jobs.
	cluster_start "max_wal_size = '2GB'" \
		"shared_preload_libraries = 'segstore,pg_cron'" \
		"segstore.enable_compaction = off" \
		"segstore.compaction_interval = 1"
	echo "Started a throwaway cluster in $CLUSTER_DIR"
	echo

	cluster_psql -v rows="$rows" <<'SQL'
SELECT (:rows / 2)::bigint AS half \gset
CREATE EXTENSION segstore;

\echo '=== 1. Create the collection'
SELECT segstore.create_collection('compaction_test',
	'id int8 PRIMARY KEY, vector float4[128], text varchar(500)',
	'Compaction test') AS collection_id;
SELECT name, owner, dim, fields FROM segstore.collections;

\echo
\echo '=== 2. Insert' :rows 'entities, then flush'
-- Random components in [0, 1): multiples of 2^-24 below 1 are exact float4.
CREATE TEMP TABLE demo_rows AS
SELECT i::int8 AS id,
	   ARRAY(SELECT (floor(random() * 16777216) / 16777216)::float4
			 FROM generate_series(1, 128) WHERE i >= 0) AS vector,
	   'document ' || i AS text
FROM generate_series(0, :rows - 1) i;
CREATE TEMP TABLE demo_input AS
SELECT array_agg(id ORDER BY id) AS ids, array_agg(vector ORDER BY id) AS vectors,
	   array_agg(text ORDER BY id) AS texts
FROM demo_rows;
\echo 'Input prepared:' :rows 'ids, a' :rows 'x 128 float4[][] and' :rows 'texts.'

SELECT clock_timestamp() AS insert_start \gset
SELECT segstore.insert('compaction_test', ids, vectors, texts) AS inserted
FROM demo_input \gset
SELECT clock_timestamp() AS insert_end \gset
SELECT segstore.flush('compaction_test') \gset
SELECT clock_timestamp() AS flush_end \gset
SELECT round(extract(epoch FROM :'flush_end'::timestamptz - :'insert_start'::timestamptz)::numeric, 3)
	AS load_s \gset
SELECT :inserted AS inserted,
	   round(extract(epoch FROM :'insert_end'::timestamptz - :'insert_start'::timestamptz)::numeric, 3)
		   AS insert_s,
	   round(extract(epoch FROM :'flush_end'::timestamptz - :'insert_end'::timestamptz)::numeric, 3)
		   AS flush_s,
	   round(:inserted / nullif(:load_s, 0)) AS rows_per_s,
	   segstore.num_entities('compaction_test') AS num_entities;

\echo
SELECT format('=== 3. Delete 50%% with the expression "id < %s", then flush', :half) AS title \gset
\echo :title
SELECT clock_timestamp() AS delete_start \gset
SELECT segstore.delete('compaction_test', 'id < ' || :half) AS deleted \gset
SELECT segstore.flush('compaction_test') \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'delete_start'::timestamptz)::numeric, 3)
	AS delete_s \gset
SELECT :deleted AS deleted, :delete_s AS delete_and_flush_s,
	   segstore.num_entities('compaction_test') AS num_entities;

\echo
\echo '=== 7a. Build an IVF_FLAT index (L2, nlist 128); search 100 times with nprobe 10, top 10 (before compaction)'
SELECT clock_timestamp() AS index_start \gset
SELECT segstore.create_index('compaction_test', 'vector', 'IVF_FLAT', 'L2', '{"nlist": 128}');
SELECT round(extract(epoch FROM clock_timestamp() - :'index_start'::timestamptz)::numeric, 3) AS index_s;
CREATE TEMP TABLE demo_queries AS
SELECT q, ARRAY(SELECT random()::float4 FROM generate_series(1, 128) WHERE q >= 0) AS v
FROM generate_series(1, 100) q;
-- Average latency of 100 searches, timed in the server; load() maps the
-- index files first, as Milvus loads a collection before searching it.
CREATE FUNCTION pg_temp.search_100() RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	n bigint := 0;
BEGIN
	PERFORM segstore.load('compaction_test');
	t0 := clock_timestamp();
	FOR i IN 1 .. 100 LOOP
		n := n + (SELECT count(*) FROM segstore.search('compaction_test',
			(SELECT v FROM demo_queries WHERE q = i), 10, '{"nprobe": 10}'));
	END LOOP;
	IF n <> 1000 THEN
		RAISE 'expected 1000 results, got %', n;
	END IF;
	RETURN round((extract(epoch FROM clock_timestamp() - t0) * 1000 / 100)::numeric, 3);
END $$;
SELECT pg_temp.search_100() AS search_ms_before \gset
\echo 'Average search latency before compaction:' :search_ms_before 'ms'
SELECT id, distance FROM segstore.search('compaction_test',
	(SELECT v FROM demo_queries WHERE q = 1), 10, '{"nprobe": 10}');

\echo
\echo '=== 4. The segments (before compaction)'
SELECT count(*) AS segments, sum(num_rows) AS total_rows,
	   sum(deleted_rows) AS deleted_rows, sum(live_rows) AS live_rows,
	   pg_size_pretty(sum(size_bytes)) AS size
FROM segstore.segments('compaction_test')
WHERE state IN ('growing', 'flushed') AND num_rows > 0;
SELECT segment_id, state, num_rows, deleted_rows, live_rows, insert_binlogs,
	   delta_binlogs, pg_size_pretty(size_bytes) AS size, index_state
FROM segstore.segments('compaction_test') ORDER BY segment_id;

\echo 'Files (binlogs) by kind:'
SELECT kind, count(*) AS files, sum(rows) AS rows,
	   pg_size_pretty(sum(size_bytes)) AS size, pg_size_pretty(sum(raw_bytes)) AS raw,
	   round(sum(raw_bytes)::numeric / nullif(sum(size_bytes), 0), 2) AS compression_ratio
FROM segstore.binlogs('compaction_test') GROUP BY kind ORDER BY kind;

\echo 'Collection statistics:'
\x on
SELECT * FROM segstore.collection_stats('compaction_test');
\x off

SELECT sum(size_bytes) AS bytes_before, count(*) AS segments_before,
	   sum(num_rows) AS rows_before
FROM segstore.segments('compaction_test') WHERE state IN ('growing', 'flushed') \gset

\echo
\echo '=== 5. Compact, and poll its state until it is Completed'
SELECT segstore.compact('compaction_test') AS cid \gset
\echo 'Compaction id:' :cid
SELECT set_config('demo.cid', :'cid', false) IS NOT NULL AS noted \gset
DO $$
DECLARE
	s record;
BEGIN
	LOOP
		SELECT * INTO s FROM segstore.compaction_state(current_setting('demo.cid')::bigint);
		RAISE NOTICE 'state: %, progress: %/% (completed %, failed %)',
			s.state, s.executing_plan_no, s.total_plan_no, s.completed_plan_no, s.failed_plan_no;
		EXIT WHEN s.state <> 'Executing';
		PERFORM pg_sleep(0.05);
	END LOOP;
END $$;
SELECT plan_id, plan_type, sources, targets, state, rows_in, rows_out, deleted_purged,
	   pg_size_pretty(bytes_in) AS bytes_in, pg_size_pretty(bytes_out) AS bytes_out,
	   pg_size_pretty(peak_memory) AS peak_memory, finished_at - started_at AS took
FROM segstore.compaction_plans(:cid);

\echo
\echo '=== 6. The segments again (after compaction)'
-- the worker removes the sources' files as soon as no snapshot needs them
SELECT segstore.wait_for_compaction(:cid) AS final_state;
SELECT removed_files >= 0 AS garbage_collected FROM segstore.gc();
SELECT segment_id, state, num_rows, deleted_rows, live_rows,
	   pg_size_pretty(size_bytes) AS size, compacted_from
FROM segstore.segments('compaction_test') ORDER BY segment_id;
SELECT sum(size_bytes) AS bytes_after, count(*) AS segments_after, sum(num_rows) AS rows_after
FROM segstore.segments('compaction_test') WHERE state IN ('growing', 'flushed') \gset

\echo
\echo '=== Report'
SELECT item, value FROM (VALUES
	(1, 'entities inserted', format('%s in %s s with flush (%s rows/s)',
									:inserted, :load_s, round(:inserted / nullif(:load_s, 0)))),
	(2, 'deleted by "id < ' || :half || '"', format('%s in %s s with flush', :deleted, :delete_s)),
	(3, 'live entities', segstore.num_entities('compaction_test')::text),
	(4, 'segments', format('%s -> %s', :segments_before, :segments_after)),
	(5, 'rows in segments', format('%s -> %s (%s purged)', :rows_before, :rows_after,
								   :rows_before - :rows_after)),
	(6, 'on disk', format('%s -> %s (%s reclaimed)', pg_size_pretty(:bytes_before::bigint),
						  pg_size_pretty(:bytes_after::bigint),
						  pg_size_pretty(:bytes_before::bigint - :bytes_after::bigint))),
	(7, 'compaction', (SELECT format('%s, %s plan(s), %s from compact() to finish',
									 state, plans, finished_at - created_at)
					  FROM segstore.compactions WHERE compaction_id = :cid))
) AS r(n, item, value) ORDER BY n;

\echo
\echo '=== 7b. The same 100 searches after compaction'
SELECT segment_id, num_rows, index_state FROM segstore.segments('compaction_test')
WHERE state = 'flushed' ORDER BY segment_id;
SELECT pg_temp.search_100() AS search_ms_after \gset
SELECT :search_ms_before AS avg_search_ms_before_compaction,
	   :search_ms_after AS avg_search_ms_after_compaction,
	   round(:search_ms_before / nullif(:search_ms_after, 0), 1) AS speedup;

\echo
\echo '=== 8. Schedule compaction: daily, and a full compaction weekly (pg_cron)'
CREATE EXTENSION pg_cron;
SELECT cron.schedule('compaction_test daily compaction', '0 3 * * *',
					 $$SELECT segstore.compact('compaction_test')$$) > 0 AS scheduled;
SELECT cron.schedule('compaction_test weekly full compaction', '0 4 * * 0',
					 $$SELECT segstore.compact('compaction_test', true)$$) > 0 AS scheduled;
SELECT jobname, schedule, command FROM cron.job ORDER BY jobid;
\echo 'Their runs will show in cron.job_run_details, their compactions in segstore.compactions.'

\echo
\echo '=== 8b. Automatic compaction by segstore''s own worker'
\echo 'Twelve small batches arrive (twelve more small segments) and 30% of the'
\echo 'compacted segment is deleted; then automatic compaction is switched on with'
\echo 'ALTER SYSTEM + reload.  No compact() call from here on.'
SET segstore.insert_direct_threshold = 100;
SELECT sum(segstore.insert('compaction_test', ids, vectors, texts)) AS inserted_in_12_batches
FROM (SELECT array_agg(id + :rows ORDER BY id) AS ids, array_agg(vector ORDER BY id) AS vectors,
			 array_agg(text ORDER BY id) AS texts
	  FROM demo_rows WHERE id < 6000 GROUP BY id / 500) b;
SELECT segstore.delete('compaction_test', format('id >= %s && id < %s', :half, :half + :rows * 3 / 20))
	AS deleted;
SELECT segstore.flush('compaction_test') \gset
SELECT count(*) AS flushed_segments, sum(deleted_rows) AS deleted_rows
FROM segstore.segments('compaction_test') WHERE state = 'flushed';
ALTER SYSTEM SET segstore.enable_compaction = on;
SELECT pg_reload_conf() AS reloaded;
SELECT clock_timestamp() AS auto_start \gset
DO $$
BEGIN
	FOR i IN 1..600 LOOP
		PERFORM 1 FROM segstore.compactions WHERE trigger = 'auto' AND state <> 'Executing';
		IF FOUND AND NOT EXISTS (SELECT 1 FROM segstore.compactions WHERE state = 'Executing') THEN
			RETURN;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RAISE EXCEPTION 'no automatic compaction within 60 s';
END $$;
SELECT round(extract(epoch FROM clock_timestamp() - :'auto_start'::timestamptz)::numeric, 1)
	AS seconds_until_compacted;
SELECT compaction_id, trigger, reason, state, plans, rows_before, rows_after,
	   pg_size_pretty(bytes_reclaimed) AS reclaimed
FROM segstore.compactions ORDER BY compaction_id;
SELECT segment_id, state, num_rows, deleted_rows, pg_size_pretty(size_bytes) AS size
FROM segstore.segments('compaction_test') WHERE state = 'flushed' ORDER BY segment_id;
SELECT segstore.num_entities('compaction_test') AS num_entities;
\echo 'What the worker decided on its last run, and when it runs next:'
\x on
SELECT datname, state, runs, last_run_at, last_decision, next_run_at
FROM segstore.worker_status WHERE datname = current_database();
\x off
SQL
	echo
	echo "The server log's line for each finished compaction:"
	grep -o 'segstore: [a-z]* compaction [0-9]* of collection .*' "$CLUSTER_DIR/server.log" || true
	echo
	echo "Demo finished; removing the cluster."
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	demo_main
fi
