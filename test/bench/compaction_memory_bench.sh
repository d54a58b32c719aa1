#!/usr/bin/env bash
# Compaction memory benchmark: what a compaction worker really uses while it
# merges sources whose keys interleave, against
# segstore.compaction_memory_limit.  For each row count, a collection of
# ROWS entities (int8 id, float4[DIM] vector, text) is loaded in batches of
# BATCH rows, batch b holding the ids i with i % nbatches = b, so every
# sealed segment spans the whole key range and every plan is a k-way merge;
# 10% of the rows are deleted; then compact(full => true) runs with one
# compaction worker, so that one process runs every plan.
#
#   test/bench/compaction_memory_bench.sh                    1,000,000 and 5,000,000 rows x 128
#   ROWS_LIST=1000000 INDEX=1 test/bench/compaction_memory_bench.sh
#   COMPACTION_MEMORY_LIMIT=64MB ROWS_LIST=1000000 test/bench/compaction_memory_bench.sh
#
# Settings (environment):
#   ROWS_LIST  row counts, one run each (default "1000000 5000000")
#   DIM        vector dimension (default 128)
#   BATCH      rows per insert call, one sealed segment each (default 100000)
#   INDEX      1: the collection has an IVF_FLAT index (nlist 128), so each
#              target's index file is built in the plan too (default 0)
#   COMPACTION_MEMORY_LIMIT  segstore.compaction_memory_limit (default: its
#              default, 256MB)
#
# What is measured, per run:
#   plan peak    the largest peak_memory of the plans (compaction_plans()):
#                what the plan's memory contexts held at their fullest,
#                zstd's state and index builds included
#   worker HWM   the worker's peak resident set: VmHWM of /proc/PID/status,
#                as the worker itself logs it after each plan (getrusage),
#                the largest over the run's plans.  It counts every page the
#                process touched: its private memory and the shared buffers
#                and WAL buffers it used (index files are written with
#                pwrite, so their pages are the page cache's, not the
#                worker's; they used to be filled through a mapping and
#                counted)
#   worker anon  the largest RssAnon sampled every 20 ms: the private memory
#                alone (palloc, malloc)
# Vectors repeat a set of 1000 random ones (drawing 128 random numbers for
# each of millions of rows would take longer than the compaction); they
# compress better than real data, which changes the file sizes, not what a
# plan holds in memory (blocks are cut by raw size).
#
# segstore is built and installed into a private copy of PostgreSQL, as
# scripts/test.sh does, so that the system's installation is not replaced.
set -euo pipefail

ROWS_LIST=${ROWS_LIST:-1000000 5000000}
DIM=${DIM:-128}
BATCH=${BATCH:-100000}
INDEX=${INDEX:-0}
COMPACTION_MEMORY_LIMIT=${COMPACTION_MEMORY_LIMIT:-}

for v in DIM BATCH; do
	if ! [[ "${!v}" =~ ^[1-9][0-9]*$ ]]; then
		echo "compaction_memory_bench: $v must be a positive integer, not '${!v}'" >&2
		exit 2
	fi
done
for r in $ROWS_LIST; do
	if ! [[ "$r" =~ ^[1-9][0-9]*$ ]]; then
		echo "compaction_memory_bench: ROWS_LIST holds positive integers, not '$r'" >&2
		exit 2
	fi
done

# shellcheck source=SCRIPTDIR/../../scripts/demo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/demo.sh"

log() { echo "compaction_memory_bench: $*" >&2; }

WORK=$(mktemp -d /tmp/segstore-membench.XXXXXX)
SAMPLER_PID=""
cleanup() {
	if [ -n "$SAMPLER_PID" ]; then
		kill "$SAMPLER_PID" 2>/dev/null || true
		wait "$SAMPLER_PID" 2>/dev/null || true
	fi
	cluster_stop
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private copy of PostgreSQL 15 with this tree's segstore installed.
private_install() {
	local build=$WORK/build inst=$WORK/inst
	"$SEGSTORE_SRC/scripts/setup.sh"
	mkdir -p "$build" "$inst/usr/lib/postgresql" "$inst/usr/share/postgresql"
	cp -a /usr/lib/postgresql/15 "$inst/usr/lib/postgresql/"
	cp -a /usr/share/postgresql/15 "$inst/usr/share/postgresql/"
	tar -C "$SEGSTORE_SRC" --exclude=./.git --exclude='*.o' --exclude='*.so' \
		--exclude='*.bc' -cf - . | tar -C "$build" -xf -
	if ! make -C "$build" -s -j"$(nproc)" PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config \
		>"$build/make.log" 2>&1; then
		cat "$build/make.log"
		return 1
	fi
	make -C "$build" -s install DESTDIR="$inst" PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config >/dev/null
	PGBIN=$inst/usr/lib/postgresql/15/bin
	[ ${#CLUSTER_AS[@]} -eq 0 ] || chown -R postgres: "$WORK"
}

# Samples the compaction worker's RssAnon every 20 ms until killed, keeping
# the largest in $1 (kB).
sample_worker_anon() {
	local out=$1 postmaster pid="" key val anon=0
	postmaster=$(head -n 1 "$PGDATA/postmaster.pid")
	while :; do
		if [ -z "$pid" ] || [ ! -e "/proc/$pid" ]; then
			pid=$(ps -o pid=,args= --ppid "$postmaster" 2>/dev/null |
				awk '/segstore compaction worker/ { print $1; exit }') || pid=""
		fi
		if [ -n "$pid" ]; then
			while read -r key val _; do
				[ "$key" != RssAnon: ] || [ "$val" -le "$anon" ] || anon=$val
			done < <(cat "/proc/$pid/status" 2>/dev/null || true)
			echo "$anon" >"$out.tmp" && mv "$out.tmp" "$out"
		fi
		sleep 0.02
	done
}

sql() {
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off -U postgres -d postgres "$@"
}

log "building segstore into a private PostgreSQL copy under $WORK"
private_install
extra=()
[ -z "$COMPACTION_MEMORY_LIMIT" ] ||
	extra+=("segstore.compaction_memory_limit = '$COMPACTION_MEMORY_LIMIT'")
cluster_start "segstore.enable_compaction = off" "segstore.max_compaction_workers = 1" \
	"max_wal_size = '32GB'" "checkpoint_timeout = '1h'" "log_min_messages = debug1" \
	"${extra[@]}"
sql -c "CREATE EXTENSION segstore" >/dev/null
limit_kb=$(sql -At -c "SELECT setting FROM pg_settings WHERE name = 'segstore.compaction_memory_limit'")
rev=$(git -C "$SEGSTORE_SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)

report=$WORK/report
printf '| rows x dim | segments (interleaved) | plans | compaction | plan peak (MiB) | worker HWM (MiB) | worker anon (MiB) | limit (MiB) | within |\n' >"$report"
printf '|---|---:|---:|---:|---:|---:|---:|---:|---|\n' >>"$report"

for rows in $ROWS_LIST; do
	coll=mem_$rows
	nb=$(( (rows + BATCH - 1) / BATCH ))
	log "$rows rows x $DIM in $nb interleaved segments"
	sql -v coll="$coll" -v rows="$rows" -v nb="$nb" -v dim="$DIM" -v index="$INDEX" >/dev/null <<'SQL'
SELECT segstore.create_collection(:'coll',
	'id int8 PRIMARY KEY, vector float4[' || :dim || '], text text');
SELECT segstore.alter_collection(:'coll', auto_compaction => false);
CREATE TEMP TABLE vecs AS
SELECT v, ARRAY(SELECT random()::float4 FROM generate_series(1, :dim) WHERE v IS NOT NULL) AS vec
FROM generate_series(0, 999) v;
SELECT format($$SELECT segstore.insert(%L, array_agg(i ORDER BY i), array_agg(vec ORDER BY i),
									  array_agg('doc ' || i ORDER BY i))
			   FROM generate_series(%s, %s, %s) i JOIN vecs ON vecs.v = i %% 1000$$,
			  :'coll', b, :rows - 1, :nb)
FROM generate_series(0, :nb - 1) b \gexec
SELECT segstore.delete(:'coll', ARRAY(SELECT generate_series(0, :rows - 1, 10))::int8[]);
SELECT segstore.flush(:'coll');
SELECT CASE WHEN :index = 1 THEN segstore.create_index(:'coll', 'vector') END;
SQL
	anonfile=$WORK/anon_$rows
	rm -f "$anonfile"
	sample_worker_anon "$anonfile" &
	SAMPLER_PID=$!
	logstart=$(wc -l <"$CLUSTER_DIR/server.log")
	out=$(sql -At -v coll="$coll" <<'SQL'
SELECT clock_timestamp() AS t0 \gset
SELECT segstore.compact(:'coll', "full" => true) AS cid \gset
SELECT segstore.wait_for_compaction(:cid, '60 min') AS state \gset
SELECT :'state', extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric(10, 1),
	   count(*), max(peak_memory)
FROM segstore.compaction_plans(:cid);
SQL
	)
	sleep 0.2
	kill "$SAMPLER_PID" 2>/dev/null || true
	wait "$SAMPLER_PID" 2>/dev/null || true
	SAMPLER_PID=""
	IFS='|' read -r state secs plans peak <<<"$out"
	hwm=$(tail -n +"$((logstart + 1))" "$CLUSTER_DIR/server.log" |
		sed -n 's/.*worker peak RSS \([0-9]*\) kB.*/\1/p' | sort -n | tail -1)
	anon=$(cat "$anonfile" 2>/dev/null || echo 0)
	if [ "$state" != Completed ] || [ -z "$hwm" ]; then
		log "compaction of $coll ended $state; see the server log:"
		tail -n 30 "$CLUSTER_DIR/server.log" >&2
		exit 1
	fi
	within=no
	[ "$hwm" -gt "$limit_kb" ] || within=yes
	awk -v r="$rows" -v d="$DIM" -v nb="$nb" -v p="$plans" -v s="$secs" -v peak="$peak" \
		-v hwm="$hwm" -v anon="$anon" -v lim="$limit_kb" -v w="$within" 'BEGIN {
		printf "| %s x %s | %s | %s | %s s | %.1f | %.1f | %.1f | %.0f | %s |\n",
			r, d, nb, p, s, peak / 1048576, hwm / 1024, anon / 1024, lim / 1024, w }' >>"$report"
	# psql interpolates variables in its input, not in -c commands
	sql -v coll="$coll" >/dev/null <<'SQL'
SELECT segstore.drop_collection(:'coll');
SELECT * FROM segstore.gc();
SQL
done

echo "Compaction memory at $rev (index: $([ "$INDEX" = 1 ] && echo IVF_FLAT || echo none)), load $(cut -d' ' -f1-3 /proc/loadavg):"
cat "$report"
