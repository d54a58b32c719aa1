#!/usr/bin/env bash
# What WAL-logging segstore's files costs: WAL bytes per byte of segment
# file written, and the time of a direct insert, a flush and a full
# compaction, on this tree and on BASE (a git revision from before the
# files were WAL-logged), each built and installed into a private copy of
# PostgreSQL 15 and run on its own throwaway cluster.  Prints a Markdown
# table of medians over REPS runs.
#
#   test/bench/wal_bench.sh
#   BASE=main ROWS=100000 REPS=3 test/bench/wal_bench.sh
#
# Durable settings as shipped (fsync on, synchronous_commit on,
# wal_level replica, full_page_writes on); checkpoints are kept out of the
# timed statements.  Times are the server's (clock_timestamp() around each
# statement, autocommit, so including the commit and its WAL flush).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BASE=${BASE:-5455003}
ROWS=${ROWS:-100000}
REPS=${REPS:-3}
if [ "$(id -u)" -eq 0 ]; then AS=(runuser -u postgres --); else AS=(); fi

WORK=$(mktemp -d /tmp/segstore-walbench.XXXXXX)
[ ${#AS[@]} -eq 0 ] || chown postgres: "$WORK"
cleanup() {
	for d in "$WORK"/*/data; do
		[ -f "$d/postmaster.pid" ] && "${AS[@]}" "$(dirname "$d")/inst/usr/lib/postgresql/15/bin/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

# Build the tree in $2 into a private PostgreSQL copy under $1; start it.
setup() {
	local dir=$1 tree=$2 bin
	mkdir -p "$dir/inst/usr/lib/postgresql" "$dir/inst/usr/share/postgresql"
	cp -a /usr/lib/postgresql/15 "$dir/inst/usr/lib/postgresql/"
	cp -a /usr/share/postgresql/15 "$dir/inst/usr/share/postgresql/"
	bin=$dir/inst/usr/lib/postgresql/15/bin
	make -C "$tree" -s -j2 PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config >/dev/null
	make -C "$tree" -s install PG_CONFIG="$bin/pg_config" >/dev/null
	[ ${#AS[@]} -eq 0 ] || chown -R postgres: "$dir"
	"${AS[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres --locale=C.UTF-8 -E UTF8 >/dev/null
	cat >>"$dir/data/postgresql.conf" <<CONF
shared_preload_libraries = 'segstore'
listen_addresses = ''
unix_socket_directories = '$dir'
shared_buffers = '1GB'
max_wal_size = '8GB'
checkpoint_timeout = '1h'
segstore.enable_compaction = off
segstore.compaction_interval = '1d'
CONF
	"${AS[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
}

psql_on() {
	local dir=$1
	shift
	"$dir/inst/usr/lib/postgresql/15/bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -U postgres -d postgres "$@"
}

# One run of the workload; prints "op seconds wal_bytes file_bytes" lines.
run() {
	local dir=$1 rep=$2
	psql_on "$dir" -At -v rows="$ROWS" -v rep="$rep" <<'SQL'
SET client_min_messages = warning;
SELECT segstore.create_collection('d' || :rep, 'id int8 PRIMARY KEY, vector float4[128], text varchar(500)');
SELECT segstore.create_collection('g' || :rep, 'id int8 PRIMARY KEY, vector float4[128], text varchar(500)');
CREATE TEMP TABLE input AS
SELECT array_agg(id ORDER BY id) AS ids, array_agg(vector ORDER BY id) AS vectors,
	   array_agg(text ORDER BY id) AS texts FROM bench_rows;
CHECKPOINT;
SELECT clock_timestamp() AS t0, pg_current_wal_insert_lsn() AS l0 \gset
SELECT segstore.insert('d' || :rep, ids, vectors, texts) FROM input \gset
SELECT 'insert', extract(epoch FROM clock_timestamp() - :'t0'),
	   pg_current_wal_insert_lsn() - :'l0', (SELECT sum(size_bytes) FROM segstore.binlogs('d' || :rep));
SELECT count(*) AS batches FROM (SELECT segstore.insert('g' || :rep, ids[b * 1000 + 1 : b * 1000 + 1000],
	   vectors[b * 1000 + 1 : b * 1000 + 1000], texts[b * 1000 + 1 : b * 1000 + 1000])
FROM input, generate_series(0, (:rows - 1) / 1000) b) s \gset
CHECKPOINT;
SELECT clock_timestamp() AS t0, pg_current_wal_insert_lsn() AS l0 \gset
SELECT segstore.flush('g' || :rep) \gset
SELECT 'flush', extract(epoch FROM clock_timestamp() - :'t0'),
	   pg_current_wal_insert_lsn() - :'l0', (SELECT sum(size_bytes) FROM segstore.binlogs('g' || :rep));
SELECT segstore.delete('d' || :rep, 'id < ' || (:rows / 2)) \gset
SELECT segstore.flush('d' || :rep) \gset
SELECT coalesce(string_agg(path, ','), '') AS before_paths FROM segstore.binlogs('d' || :rep) \gset
CHECKPOINT;
SELECT clock_timestamp() AS t0, pg_current_wal_insert_lsn() AS l0 \gset
SELECT segstore.compact('d' || :rep, "full" => true) AS cid \gset
SELECT segstore.wait_for_compaction(:cid) \gset
SELECT 'compaction', extract(epoch FROM clock_timestamp() - :'t0'),
	   pg_current_wal_insert_lsn() - :'l0',
	   (SELECT sum(size_bytes) FROM segstore.binlogs('d' || :rep) WHERE path <> ALL (string_to_array(:'before_paths', ',')));
SQL
}

declare -A RESULT
for side in base wal; do
	dir=$WORK/$side
	mkdir -p "$dir/tree"
	if [ "$side" = base ]; then
		git -C "$SRC" archive "$BASE" | tar -C "$dir/tree" -xf -
	else
		tar -C "$SRC" --exclude=./.git --exclude='*.o' --exclude='*.so' -cf - . | tar -C "$dir/tree" -xf -
	fi
	echo "Building $side..." >&2
	setup "$dir" "$dir/tree"
	psql_on "$dir" -v rows="$ROWS" >/dev/null <<'SQL'
CREATE EXTENSION segstore;
CREATE TABLE bench_rows AS
SELECT i::int8 AS id,
	   ARRAY(SELECT (floor(random() * 16777216) / 16777216)::float4
			 FROM generate_series(1, 128) WHERE i >= 0) AS vector,
	   ('document ' || i)::varchar(500) AS text
FROM generate_series(0, :rows - 1) i;
SQL
done

# Alternate the sides run by run, so that the machine's load hits both.
for rep in $(seq 1 "$REPS"); do
	for side in base wal; do
		echo "Run $rep of $REPS, $side..." >&2
		while read -r line; do
			[ -n "$line" ] || continue
			op=${line%%|*}
			RESULT[$side,$op]+="${line#*|} "$'\n'
		done < <(run "$WORK/$side" "$rep")
	done
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
col() { tr '|' ' ' | awk -v c="$1" '{print $c}'; }

echo "| operation ($ROWS x 128 float4 + text) | without WAL-logging ($BASE) | with | ratio | WAL bytes / file byte, with | without | added by segstore's records |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for op in insert flush compaction; do
	tb=$(printf '%s' "${RESULT[base,$op]}" | col 1 | median)
	tw=$(printf '%s' "${RESULT[wal,$op]}" | col 1 | median)
	rw=$(printf '%s' "${RESULT[wal,$op]}" | awk -F'|' 'NF {print $2 / $3}' | median)
	rb=$(printf '%s' "${RESULT[base,$op]}" | awk -F'|' 'NF {print $2 / $3}' | median)
	printf '| %s | %.3f s | %.3f s | %.2f | %.3f | %.3f | %.3f |\n' "$op" "$tb" "$tw" "$(echo "$tw / $tb" | bc -l)" "$rw" "$rb" "$(echo "$rw - $rb" | bc -l)"
done
