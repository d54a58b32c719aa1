#!/usr/bin/env bash
# Compaction benchmark: the seed workload (ROWS entities of int8 id,
# float4[128] vector, varchar(500) text) with a share of its rows deleted,
# compacted by segstore, next to a heap table holding the same rows with the
# same deletes, shrunk by VACUUM FULL and by pg_repack.  All three run side
# by side in one throwaway cluster, REPS times per share; the report is a
# set of Markdown tables of medians and one verdict line per target.
#
#   test/bench/compaction_bench.sh                  100,000 rows; 10, 30, 50, 70% deleted; 5 runs
#   REPS=3 FRACTIONS="50" test/bench/compaction_bench.sh
#   ROWS=1000000 FRACTIONS=50 REPS=1 MEMCHECK=1 test/bench/compaction_bench.sh
#
# Settings (environment):
#   ROWS       entities (default 100000)
#   REPS       runs per share, each on fresh data (default 5)
#   FRACTIONS  percentages deleted, "id < pct * ROWS / 100" (default "10 30 50 70")
#   MEMCHECK   1: also sample the compaction worker's memory, and judge the
#              plans' peak memory against segstore.compaction_memory_limit
#   BATCH      rows per segstore.insert call (default 100000); each call of at
#              least segstore.insert_direct_threshold rows writes one sealed
#              segment, so ROWS / BATCH segments are compacted
#   COMPACTION_MEMORY_LIMIT  e.g. 64MB: set segstore.compaction_memory_limit
#   RESULTS_CSV  a file to receive every run's figures as CSV
#
# What is timed, and how:
#   segstore     compact(), then wait_for_compaction() returning 'Completed',
#                two autocommit statements in one psql session; the time is
#                the difference of clock_timestamp() read in the statements
#                just before and just after them, so it holds both
#                statements, their commits and the two round trips over the
#                Unix socket.  Garbage collection of the sources comes after
#                and is not timed; "bytes after" is read after segstore.gc().
#   VACUUM FULL  the same clock_timestamp() bracket around the statement.
#   pg_repack    wall time of the whole client command (process start,
#                connection, its triggers and log table, copy, index build,
#                swap), read by the shell; --no-order --no-analyze, so that
#                it does what VACUUM FULL does (no sort, no ANALYZE).
# Each heap table has a primary key (its index is rebuilt by both) and
# autovacuum off, so that nothing touches it between the DELETE and the
# timed statement.  A CHECKPOINT precedes every timed step, and every timed
# step waits until no compaction worker is left running.  fsync and
# synchronous_commit stay on: durability costs what it costs.
set -euo pipefail

ROWS=${ROWS:-100000}
REPS=${REPS:-5}
FRACTIONS=${FRACTIONS:-10 30 50 70}
MEMCHECK=${MEMCHECK:-0}
BATCH=${BATCH:-100000}
COMPACTION_MEMORY_LIMIT=${COMPACTION_MEMORY_LIMIT:-}
RESULTS_CSV=${RESULTS_CSV:-}

for v in ROWS REPS BATCH; do
	if ! [[ "${!v}" =~ ^[1-9][0-9]*$ ]]; then
		echo "compaction_bench: $v must be a positive integer, not '${!v}'" >&2
		exit 2
	fi
done
for f in $FRACTIONS; do
	if ! [[ "$f" =~ ^[0-9]+$ ]] || [ "$f" -gt 100 ]; then
		echo "compaction_bench: FRACTIONS holds percentages 0-100, not '$f'" >&2
		exit 2
	fi
done

# shellcheck source=SCRIPTDIR/../../scripts/demo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/demo.sh"

log() { echo "compaction_bench: $*" >&2; }

# ---------------------------------------------------------------- set-up

# The revision built, for the report; then packages (pg_repack among them)
# and the build, installed system-wide (scripts/demo.sh).
build_and_install() {
	BUILT_REV=$(git -C "$SEGSTORE_SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
	[ -z "$(git -C "$SEGSTORE_SRC" status --porcelain --untracked-files=no -- src Makefile '*.sql' '*.control' 2>/dev/null)" ] ||
		BUILT_REV="$BUILT_REV + uncommitted changes to the sources"
	segstore_install
}

BENCH_DIR=""

# A throwaway cluster (scripts/demo.sh) with room for the data in memory,
# no checkpoint inside a timed step (one is forced before each), and only
# the timed compactions: no automatic one in between.
start_cluster() {
	local extra=()
	[ -z "$COMPACTION_MEMORY_LIMIT" ] ||
		extra+=("segstore.compaction_memory_limit = '$COMPACTION_MEMORY_LIMIT'")
	cluster_start "shared_buffers = '1GB'" "max_wal_size = '16GB'" "checkpoint_timeout = '1h'" \
		"segstore.enable_compaction = off" "${extra[@]}"
	BENCH_DIR=$CLUSTER_DIR
	export PGUSER=postgres PGDATABASE=postgres
}

SAMPLER_PID=""

stop_cluster() {
	if [ -n "$SAMPLER_PID" ]; then
		kill "$SAMPLER_PID" 2>/dev/null || true
		wait "$SAMPLER_PID" 2>/dev/null || true
		SAMPLER_PID=""
	fi
	cluster_stop
	BENCH_DIR=""
}

sql() {
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off "$@"
}

# Seconds since the epoch, with nanoseconds.
now_s() { date +%s.%N; }

# Samples the compaction worker's memory from /proc every 20 ms until
# killed, keeping in $1 "<largest RssAnon> <last VmHWM>" in kB: RssAnon is
# the worker's private memory (palloc, malloc, zstd), VmHWM its peak
# resident set, which also counts the shared buffers it touched.
sample_worker_memory() {
	local out=$1 postmaster pid="" key val anon=0 hwm=0
	postmaster=$(head -n 1 "$PGDATA/postmaster.pid")
	while :; do
		if [ -z "$pid" ] || [ ! -e "/proc/$pid" ]; then
			pid=$(ps -o pid=,args= --ppid "$postmaster" 2>/dev/null |
				awk '/segstore compaction worker/ { print $1; exit }') || pid=""
		fi
		if [ -n "$pid" ]; then
			while read -r key val _; do
				case $key in
					RssAnon:) [ "$val" -le "$anon" ] || anon=$val ;;
					VmHWM:) [ "$val" -le "$hwm" ] || hwm=$val ;;
				esac
			done < <(cat "/proc/$pid/status" 2>/dev/null || true)
			echo "$anon $hwm" >"$out.tmp" && mv "$out.tmp" "$out"
		fi
		sleep 0.02
	done
}

# ---------------------------------------------------------------- run

log "building and installing segstore"
build_and_install
installed_so=$("$PGBIN/pg_config" --pkglibdir)/segstore.so
so_sum=$(sha256sum "$installed_so" | cut -d' ' -f1)

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
trap stop_cluster EXIT
trap 'exit 130' INT TERM
start_cluster
log "cluster in $BENCH_DIR"

REPACK=$PGBIN/pg_repack
[ -x "$REPACK" ] || REPACK=$(command -v pg_repack)

log "generating $ROWS rows"
sql -v rows="$ROWS" -v batch="$BATCH" >/dev/null <<'SQL'
CREATE EXTENSION segstore;
CREATE EXTENSION pg_repack;

-- The entities, once: ids 0 .. rows-1, 128 random components in [0, 1)
-- (multiples of 2^-24, exact in float4), 'document <id>'.  The WHERE that
-- names i makes PostgreSQL draw a new vector for every row.
CREATE TABLE staging AS
SELECT i::int8 AS id,
	   ARRAY(SELECT (floor(random() * 16777216) / 16777216)::float4
			 FROM generate_series(1, 128) WHERE i IS NOT NULL) AS vector,
	   ('document ' || i)::varchar(500) AS text
FROM generate_series(0, :rows - 1) AS i;
ALTER TABLE staging ADD PRIMARY KEY (id);

-- The same rows as the arrays segstore.insert takes, one row per call.
CREATE TABLE staging_batches AS
SELECT id / :batch AS batch, array_agg(id ORDER BY id) AS ids,
	   array_agg(vector ORDER BY id) AS vectors, array_agg(text ORDER BY id) AS texts
FROM staging GROUP BY 1;
VACUUM ANALYZE staging, staging_batches;

CREATE TABLE result (
	pct int, rep int, system text,
	seconds float8,				-- the timed step
	state text,					-- segstore: what wait_for_compaction returned
	bytes_before bigint, bytes_after bigint,
	rows_before bigint, rows_after bigint,
	segments_before int, segments_after int, plans int,
	call_s float8,				-- compact() statement, with its commit
	start_s float8,				-- compact() sent .. first plan started
	exec_s float8,				-- first plan started .. last plan finished
	tail_s float8,				-- last plan finished .. wait returned
	peak_memory bigint, memory_limit bigint,
	worker_anon_kb bigint, worker_hwm_kb bigint,
	errors text);				-- segstore: the failed plans' errors

-- Waits (bounded) until no compaction worker runs in the cluster, so that
-- none is busy during a timed step.
CREATE FUNCTION wait_workers_gone(timeout interval DEFAULT '60 s') RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + timeout;
BEGIN
	LOOP
		PERFORM pg_stat_clear_snapshot();
		EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity
							  WHERE backend_type = 'segstore compaction worker');
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'a segstore compaction worker is still running after %', timeout;
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
END $$;
SQL

raw_bytes=$(sql -At -c "SELECT sum(8 + 4 * cardinality(vector) + octet_length(text)) FROM staging")

runs=0
total_runs=$(( $(wc -w <<<"$FRACTIONS") * REPS ))
for rep in $(seq 1 "$REPS"); do
	for pct in $FRACTIONS; do
		runs=$((runs + 1))
		ndel=$((ROWS * pct / 100))
		coll=bench_${pct}_$rep
		log "run $runs of $total_runs: $pct% deleted (id < $ndel), repetition $rep"

		# --- segstore: load, delete, flush, compact.
		sql -v coll="$coll" -v ndel="$ndel" >/dev/null <<'SQL'
SELECT segstore.create_collection(:'coll',
	'id int8 PRIMARY KEY, vector float4[128], text varchar(500)');
-- Only the timed manual compaction may touch it.
SELECT segstore.alter_collection(:'coll', auto_compaction => false);
SELECT count(segstore.insert(:'coll', ids, vectors, texts))
FROM (SELECT * FROM staging_batches ORDER BY batch) b;
SELECT segstore.flush(:'coll');
SELECT segstore.delete(:'coll', 'id < ' || :ndel);
SELECT segstore.flush(:'coll');
SQL
		memfile=$BENCH_DIR/worker_memory
		rm -f "$memfile"
		if [ "$MEMCHECK" = 1 ]; then
			sample_worker_memory "$memfile" &
			SAMPLER_PID=$!
		fi
		sql -v coll="$coll" -v pct="$pct" -v rep="$rep" >/dev/null <<'SQL'
SELECT wait_workers_gone();
SELECT disk_bytes, rows, flushed_segments FROM segstore.collection_stats(:'coll') \gset before_
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
SELECT segstore.compact(:'coll') AS cid \gset
SELECT clock_timestamp() AS t1 \gset
SELECT segstore.wait_for_compaction(:cid, '30 min') AS state \gset
SELECT clock_timestamp() AS t2 \gset
SELECT * FROM segstore.gc() \gset
SELECT disk_bytes AS after_disk_bytes, flushed_segments AS after_segments
FROM segstore.collection_stats(:'coll') \gset
INSERT INTO result (pct, rep, system, seconds, state, bytes_before, bytes_after,
					rows_before, rows_after, segments_before, segments_after, plans,
					call_s, start_s, exec_s, tail_s, peak_memory, memory_limit, errors)
SELECT :pct, :rep, 'segstore',
	   extract(epoch FROM :'t2'::timestamptz - :'t0'::timestamptz), :'state',
	   :before_disk_bytes, :after_disk_bytes,
	   sum(p.rows_in), sum(p.rows_out), :before_flushed_segments, :after_segments, count(*),
	   extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz),
	   extract(epoch FROM min(p.started_at) - :'t0'::timestamptz),
	   extract(epoch FROM max(p.finished_at) - min(p.started_at)),
	   extract(epoch FROM :'t2'::timestamptz - max(p.finished_at)),
	   max(p.peak_memory),
	   (SELECT max(memory_limit) FROM segstore.compaction_plan WHERE compaction_id = :cid),
	   string_agg(format('plan %s %s: %s', p.plan_id, p.state, p.error), '; ')
		   FILTER (WHERE p.state <> 'completed')
FROM segstore.compaction_plans(:cid) p;
SQL
		if [ -n "$SAMPLER_PID" ]; then
			kill "$SAMPLER_PID" 2>/dev/null || true
			wait "$SAMPLER_PID" 2>/dev/null || true
			SAMPLER_PID=""
			read -r anon hwm 2>/dev/null <"$memfile" || { anon=0; hwm=0; }
			sql -c "UPDATE result SET worker_anon_kb = $anon, worker_hwm_kb = $hwm
					WHERE system = 'segstore' AND pct = $pct AND rep = $rep"
		fi
		state=$(sql -At -c "SELECT state || coalesce(' (' || errors || ')', '') FROM result
							 WHERE system = 'segstore' AND pct = $pct AND rep = $rep")
		[ "$state" = Completed ] || log "WARNING: compaction of $coll ended $state"
		sql -v coll="$coll" >/dev/null <<'SQL'
SELECT segstore.drop_collection(:'coll');
SELECT wait_workers_gone();
SELECT * FROM segstore.gc();
SQL

		# --- heap: two identical tables, one for each tool.
		sql -v ndel="$ndel" >/dev/null <<'SQL'
CREATE TABLE heap_vf (id int8 PRIMARY KEY, vector float4[], text varchar(500))
	WITH (autovacuum_enabled = off);
CREATE TABLE heap_rp (id int8 PRIMARY KEY, vector float4[], text varchar(500))
	WITH (autovacuum_enabled = off);
-- In key order, as segstore stores them (and a synchronised scan of the
-- staging table cannot start midway and split the index's pages).
INSERT INTO heap_vf SELECT id, vector, text FROM staging ORDER BY id;
INSERT INTO heap_rp SELECT id, vector, text FROM staging ORDER BY id;
DELETE FROM heap_vf WHERE id < :ndel;
DELETE FROM heap_rp WHERE id < :ndel;
SQL
		sql -v pct="$pct" -v rep="$rep" >/dev/null <<'SQL'
SELECT pg_total_relation_size('heap_vf') AS before \gset
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
VACUUM FULL heap_vf;
SELECT clock_timestamp() AS t1 \gset
INSERT INTO result (pct, rep, system, seconds, bytes_before, bytes_after)
VALUES (:pct, :rep, 'vacuum_full', extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz),
		:before, pg_total_relation_size('heap_vf'));
SQL
		before=$(sql -At -c "SELECT pg_total_relation_size('heap_rp')")
		sql -c "CHECKPOINT"
		t0=$(now_s)
		if ! "$REPACK" --no-order --no-analyze --table=public.heap_rp \
			-h "$PGHOST" -p "$PGPORT" -U postgres -d postgres >"$BENCH_DIR/repack.log" 2>&1; then
			cat "$BENCH_DIR/repack.log" >&2
			exit 1
		fi
		t1=$(now_s)
		sql -v pct="$pct" -v rep="$rep" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')" \
			-v before="$before" >/dev/null <<'SQL'
INSERT INTO result (pct, rep, system, seconds, bytes_before, bytes_after)
VALUES (:pct, :rep, 'pg_repack', :s, :before, pg_total_relation_size('heap_rp'));
DROP TABLE heap_vf, heap_rp;
SQL
	done
done

# The server preloaded the build installed above, and every backend and
# worker it forks keeps using that copy (PostgreSQL finds a library it has
# loaded by its path), so another build installed meanwhile does not change
# what was measured; it is worth a note all the same.
if [ "$(sha256sum "$installed_so" | cut -d' ' -f1)" != "$so_sum" ]; then
	log "note: $installed_so was replaced by another build during the run; the server kept the one it preloaded at its start"
fi
if grep -qE '(ERROR|FATAL|PANIC):' "$BENCH_DIR/server.log"; then
	log "errors in the server log:"
	grep -E '(ERROR|FATAL|PANIC):' "$BENCH_DIR/server.log" | head -20 >&2
fi

# ---------------------------------------------------------------- report

if [ -n "$RESULTS_CSV" ]; then
	sql -c "\\copy (SELECT * FROM result ORDER BY pct, system, rep) TO STDOUT WITH (FORMAT csv, HEADER)" \
		>"$RESULTS_CSV"
	log "every run's figures: $RESULTS_CSV"
fi

cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
pgver=$(sql -At -c "SHOW server_version")
repackver=$("$REPACK" --version 2>/dev/null | head -n 1)

cat <<EOF
### Compaction benchmark: $ROWS entities (int8, float4[128], varchar(500)), share deleted

Machine: $(nproc) cores, ${cpu:-unknown CPU}, $mem RAM; PostgreSQL $pgver, fsync on; $repackver; segstore $BUILT_REV.
Load average (1, 5, 15 min) at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg).
Data: $ROWS rows, $(awk -v b="$raw_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB raw (MB = 10^6 bytes), inserted in batches of $BATCH rows; deleted: id < share x $ROWS.
Medians of $REPS runs, each on fresh data. segstore: compact() until
wait_for_compaction() returns Completed (server clock, both statements with
commits); bytes are the collection's files (collection_stats.disk_bytes)
after flush and before compact(), and after gc(). Heap: pg_total_relation_size
(table, primary key index, TOAST) after the DELETE and after VACUUM FULL /
after pg_repack --no-order --no-analyze (wall time of the command).

EOF

sql -At <<'SQL'
CREATE VIEW med AS
SELECT pct, system, count(*) AS runs,
	   count(*) FILTER (WHERE system <> 'segstore' OR state = 'Completed') AS ok,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS s,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY bytes_before) AS b0,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY bytes_after) AS b1,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY bytes_after::float8 / bytes_before) AS ratio,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY rows_before) AS r0,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY rows_after) AS r1,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY segments_before) AS g0,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY segments_after) AS g1,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY plans) AS plans,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY call_s) AS call_s,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY start_s) AS start_s,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY exec_s) AS exec_s,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY tail_s) AS tail_s,
	   max(peak_memory) AS peak, max(memory_limit) AS lim,
	   min(seconds) AS s_min, max(seconds) AS s_max
FROM result GROUP BY pct, system;
CREATE VIEW side AS
SELECT m1.pct, m1 AS seg, m2 AS vf, m3 AS rp
FROM med m1 JOIN med m2 ON m2.pct = m1.pct AND m2.system = 'vacuum_full'
JOIN med m3 ON m3.pct = m1.pct AND m3.system = 'pg_repack'
WHERE m1.system = 'segstore';

\echo '#### Time to reclaim (seconds, median; min-max in brackets)'
\echo
SELECT '| deleted | segstore compact -> Completed | VACUUM FULL | pg_repack | segstore / VACUUM FULL | segstore / pg_repack |';
SELECT '|---:|---:|---:|---:|---:|---:|';
SELECT format('| %s%% | %s (%s-%s)%s | %s (%s-%s) | %s (%s-%s) | %s (%sx as fast) | %s (%sx as fast) |',
			  pct,
			  round((seg).s::numeric, 3), round((seg).s_min::numeric, 3), round((seg).s_max::numeric, 3),
			  CASE WHEN (seg).ok < (seg).runs
				   THEN format(' **%s of %s runs not Completed**', (seg).runs - (seg).ok, (seg).runs)
				   ELSE '' END,
			  round((vf).s::numeric, 3), round((vf).s_min::numeric, 3), round((vf).s_max::numeric, 3),
			  round((rp).s::numeric, 3), round((rp).s_min::numeric, 3), round((rp).s_max::numeric, 3),
			  round(((seg).s / (vf).s)::numeric, 2), round(((vf).s / (seg).s)::numeric, 2),
			  round(((seg).s / (rp).s)::numeric, 2), round(((rp).s / (seg).s)::numeric, 2))
FROM side ORDER BY pct;

\echo
\echo '#### Space (MB = 10^6 bytes, median; after / before)'
\echo
SELECT '| deleted | segstore rows in -> out | segstore MB before -> after | after / before | heap MB before | after VACUUM FULL | after / before | after pg_repack | after / before |';
SELECT '|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
SELECT format('| %s%% | %s -> %s | %s -> %s | %s | %s | %s | %s | %s | %s |',
			  pct, (seg).r0::bigint, (seg).r1::bigint,
			  round(((seg).b0 / 1e6)::numeric, 1), round(((seg).b1 / 1e6)::numeric, 1),
			  round((seg).ratio::numeric, 3),
			  round(((vf).b0 / 1e6)::numeric, 1), round(((vf).b1 / 1e6)::numeric, 1),
			  round((vf).ratio::numeric, 3),
			  round(((rp).b1 / 1e6)::numeric, 1), round((rp).ratio::numeric, 3))
FROM side ORDER BY pct;

\echo
\echo '#### Where segstore''s time goes (seconds, median; the first, third and fourth add up to the total)'
\echo
SELECT '| deleted | compact() sent -> first plan started | (of which the compact() statement) | plan execution | last plan finished -> wait returns | plans | segments before -> after | peak plan memory (MiB) / limit |';
SELECT '|---:|---:|---:|---:|---:|---:|---:|---:|';
SELECT format('| %s%% | %s | (%s) | %s | %s | %s | %s -> %s | %s / %s |',
			  pct, coalesce(round((seg).start_s::numeric, 3)::text, '-'),
			  round((seg).call_s::numeric, 3),
			  coalesce(round((seg).exec_s::numeric, 3)::text, '-'),
			  coalesce(round((seg).tail_s::numeric, 3)::text, '-'),
			  (seg).plans, (seg).g0, (seg).g1,
			  coalesce(round(((seg).peak / 1048576.0)::numeric, 1)::text, '-'),
			  round(coalesce((seg).lim,
							 pg_size_bytes(current_setting('segstore.compaction_memory_limit')))
					/ 1048576.0))
FROM side ORDER BY pct;
SQL

echo
echo "#### Verdicts"
echo
sql -At -v rows="$ROWS" <<'SQL'
SELECT CASE WHEN NOT EXISTS (SELECT FROM side WHERE pct = 50)
			THEN '- Targets at 50% deleted: not measured (50 is not in FRACTIONS).'
			ELSE (SELECT format(E'- Time, %s rows, 50%% deleted, compaction to Completed at least 2x faster than VACUUM FULL: **%s**: %s s against %s s: %sx as fast.%s%s\n'
								'- Space, %s rows, 50%% deleted, bytes after at most 55%% of before: **%s**: %s%% (%s MB -> %s MB); VACUUM FULL %s%%, pg_repack %s%%.',
								:rows,
								CASE WHEN (seg).ok = (seg).runs AND (vf).s >= 2 * (seg).s THEN 'met' ELSE 'not met' END,
								round((seg).s::numeric, 3), round((vf).s::numeric, 3),
								round(((vf).s / (seg).s)::numeric, 2),
								CASE WHEN (seg).ok < (seg).runs
									 THEN format(' (%s of %s compactions did not end Completed)',
												 (seg).runs - (seg).ok, (seg).runs)
									 ELSE '' END,
								CASE WHEN :rows <> 100000
									 THEN ' (The target is stated for the seed''s 100,000 rows.)' ELSE '' END,
								:rows,
								CASE WHEN (seg).ok = (seg).runs AND (seg).ratio <= 0.55 THEN 'met' ELSE 'not met' END,
								round((100 * (seg).ratio)::numeric, 1),
								round(((seg).b0 / 1e6)::numeric, 1), round(((seg).b1 / 1e6)::numeric, 1),
								round((100 * (vf).ratio)::numeric, 1), round((100 * (rp).ratio)::numeric, 1))
				  FROM side WHERE pct = 50)
	   END;
SQL

if [ "$MEMCHECK" = 1 ]; then
	sql -At -v rows="$ROWS" <<'SQL'
SELECT format('- Memory, %s rows: the plans'' peak memory stays within segstore.compaction_memory_limit: **%s**: largest peak_memory %s MiB against a limit of %s MiB (%s%%), %s plan(s) in %s compaction(s).%s',
			  :rows,
			  CASE WHEN bool_and(state = 'Completed') AND max(peak_memory) <= min(memory_limit)
				   THEN 'met' ELSE 'not met' END,
			  round(max(peak_memory) / 1048576.0, 1), round(min(memory_limit) / 1048576.0),
			  round(100.0 * max(peak_memory) / min(memory_limit), 1),
			  sum(plans), count(*),
			  CASE WHEN :rows <> 1000000
				   THEN ' (The target is stated for 1,000,000 rows; this run had ' || :rows || '.)'
				   ELSE '' END)
FROM result WHERE system = 'segstore';
SELECT format('- Memory, for comparison: the compaction worker process, sampled every 20 ms from /proc: largest private memory (RssAnon) %s MiB, peak resident set (VmHWM, with the shared buffers it touched) %s MiB.',
			  round(max(worker_anon_kb) / 1024.0, 1), round(max(worker_hwm_kb) / 1024.0, 1))
FROM result WHERE system = 'segstore';
SQL
fi
