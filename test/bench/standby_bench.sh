#!/usr/bin/env bash
# Search on a hot standby: the same workload on a primary and on its
# streaming standby, side by side, on one machine.  The standby is made
# from a base backup taken before any collection exists, so every segment,
# binlog and index file it searches reached it through the WAL.
#
#   rows     ROWS x 128 vectors around 64 centres, inserted in 10 batches,
#            flushed, with an IVF_FLAT index (nlist 128)
#   answers  the top 10 of every one of 100 queries, on both nodes at the
#            same replayed LSN: equal or the run fails
#   search   pgbench, top-10 search with nprobe 10, 1 and 2 clients,
#            DURATION seconds per measurement, the nodes alternating REPS
#            times; tps and p50 latency are medians over the repetitions
#
# The nodes share the machine's cores, so this shows that a standby
# answers as fast as its primary, not the throughput two machines give.
#
#   test/bench/standby_bench.sh
#   ROWS=20000 DURATION=5 REPS=3 test/bench/standby_bench.sh
set -euo pipefail

ROWS=${ROWS:-100000}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-1 2}
REPS=${REPS:-5}

# shellcheck source=SCRIPTDIR/../../scripts/demo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/demo.sh"

echo "Building and installing segstore..." >&2
segstore_install
WORK=$(mktemp -d /tmp/segstore-standby-bench.XXXXXX)
chmod 777 "$WORK"
STANDBY=$WORK/standby
stop_standby() {
	if [ -f "$STANDBY/data/postmaster.pid" ]; then
		"${CLUSTER_AS[@]}" "$PGBIN/pg_ctl" -D "$STANDBY/data" -m fast -w stop >/dev/null || true
	fi
}
cleanup() { stop_standby; cluster_stop; rm -rf "$WORK"; }
trap cleanup EXIT

cluster_start "shared_buffers = '1GB'" "max_wal_size = '8GB'" "checkpoint_timeout = '1h'" \
	"hot_standby = on" "max_wal_senders = 4" "segstore.enable_compaction = off"
PRIMARY=$PGHOST

echo "Starting the standby from a base backup..." >&2
mkdir -p "$STANDBY"
[ ${#CLUSTER_AS[@]} -eq 0 ] || chown postgres: "$STANDBY"
"${CLUSTER_AS[@]}" "$PGBIN/pg_basebackup" -h "$PRIMARY" -p "$PGPORT" -U postgres \
	-D "$STANDBY/data" -R -X stream -c fast
echo "unix_socket_directories = '$STANDBY'" | "${CLUSTER_AS[@]}" tee -a "$STANDBY/data/postgresql.conf" >/dev/null
"${CLUSTER_AS[@]}" "$PGBIN/pg_ctl" -D "$STANDBY/data" -l "$STANDBY/server.log" -w start >/dev/null

# psql on one node, given by its socket directory.
node_psql() {
	local host=$1
	shift
	PGHOST=$host cluster_psql -At "$@"
}

echo "Loading $ROWS rows on the primary..." >&2
node_psql "$PRIMARY" -v rows="$ROWS" >/dev/null <<'SQL'
CREATE EXTENSION segstore;
SELECT setseed(0.25);
CREATE TABLE centres AS
SELECT c, ARRAY(SELECT random()::float4 FROM generate_series(1, 128) WHERE c >= 0) AS v
FROM generate_series(0, 63) c;
CREATE FUNCTION near(c int, salt int8) RETURNS float4[] LANGUAGE sql AS
$$ SELECT array_agg((x + (random() - 0.5) * 0.1)::float4 ORDER BY o)
   FROM centres, unnest(v) WITH ORDINALITY u(x, o) WHERE centres.c = near.c AND salt >= 0 $$;
CREATE TABLE src AS SELECT i::int8 AS id, near(i % 64, i) AS v FROM generate_series(0, :rows - 1) i;
CREATE TABLE queries AS SELECT q, near((q * 13) % 64, q) AS v FROM generate_series(1, 100) q;
ALTER TABLE queries ADD PRIMARY KEY (q);
SELECT segstore.create_collection('docs', 'id int8 PRIMARY KEY, v float4[128]');
SELECT segstore.insert('docs', array_agg(id ORDER BY id), array_agg(v ORDER BY id))
FROM src GROUP BY id % 10;
SELECT segstore.flush('docs');
SELECT segstore.create_index('docs', 'v', 'IVF_FLAT', 'L2', '{"nlist": 128}');
SQL

# Waits until the standby has replayed everything the primary wrote.
catch_up() {
	local lsn
	lsn=$(node_psql "$PRIMARY" -c "SELECT pg_current_wal_insert_lsn()")
	node_psql "$PRIMARY" -c "SELECT pg_switch_wal()" >/dev/null
	until [ "$(node_psql "$STANDBY" -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ]; do
		sleep 0.2
	done
}
catch_up

# Every query's top 10 (ids and distances) on one node, as one digest.
answers() {
	node_psql "$1" <<'SQL'
SELECT md5(string_agg(r, ';' ORDER BY q)) FROM (
	SELECT q.q, (SELECT string_agg(s.id || ':' || s.distance, ',' ORDER BY s.distance, s.id)
				 FROM segstore.search('docs', q.v, 10, '{"nprobe": 10}') s) AS r
	FROM queries q) a;
SQL
}
on_primary=$(answers "$PRIMARY")
on_standby=$(answers "$STANDBY")
if [ "$on_primary" != "$on_standby" ]; then
	echo "standby_bench: the standby's answers differ from the primary's" >&2
	exit 1
fi
files_primary=$(cd "$PGDATA/segstore" && find . -type f | sort | xargs md5sum | md5sum)
files_standby=$(cd "$STANDBY/data/segstore" && find . -type f | sort | xargs md5sum | md5sum)
if [ "$files_primary" != "$files_standby" ]; then
	echo "standby_bench: the standby's segstore files differ from the primary's" >&2
	exit 1
fi

printf '\\set q random(1, 100)\nSELECT * FROM segstore.search('"'docs'"', (SELECT v FROM queries WHERE q = :q), 10, '"'"'{"nprobe": 10}'"'"');\n' \
	>"$WORK/search.sql"
chmod 644 "$WORK/search.sql"

# pgbench's tps and p50 latency in ms of the search script on one node.
measure() {
	local host=$1 clients=$2 dir
	dir=$(mktemp -d "$WORK/run.XXXXXX")
	chmod 777 "$dir"
	(cd "$dir" && "${CLUSTER_AS[@]}" "$PGBIN/pgbench" -h "$host" -p "$PGPORT" -U postgres \
		-n -M prepared -c "$clients" -j "$clients" -T "$DURATION" -l -f "$WORK/search.sql" postgres \
		>"$dir/out" 2>&1) || { cat "$dir/out" >&2; return 1; }
	printf '%s %s\n' \
		"$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$dir/out")" \
		"$(cat "$dir"/pgbench_log.* | awk '{ print $3 / 1000 }' | median)"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Load both nodes' caches once, so that no repetition pays for mapping.
node_psql "$PRIMARY" -c "SELECT segstore.load('docs')" >/dev/null
node_psql "$STANDBY" -c "SELECT segstore.load('docs')" >/dev/null

declare -A TPS P50
for rep in $(seq 1 "$REPS"); do
	for c in $CLIENTS; do
		for node in primary standby; do
			echo "Run $rep of $REPS, $c clients, $node..." >&2
			if [ "$node" = primary ]; then host=$PRIMARY; else host=$STANDBY; fi
			read -r t p < <(measure "$host" "$c")
			TPS[$node,$c]+="$t"$'\n'
			P50[$node,$c]+="$p"$'\n'
		done
	done
done

echo
echo "### Search on a primary and on its hot standby ($ROWS x 128, IVF_FLAT nlist 128, nprobe 10, top 10)"
echo
echo "Answers to 100 queries equal on both nodes; segstore files equal byte for byte."
echo
echo "| clients | primary tps | standby tps | standby / primary | primary p50 | standby p50 |"
echo "|---:|---:|---:|---:|---:|---:|"
for c in $CLIENTS; do
	tp=$(printf '%s' "${TPS[primary,$c]}" | median)
	ts=$(printf '%s' "${TPS[standby,$c]}" | median)
	pp=$(printf '%s' "${P50[primary,$c]}" | median)
	ps=$(printf '%s' "${P50[standby,$c]}" | median)
	awk -v c="$c" -v tp="$tp" -v ts="$ts" -v pp="$pp" -v ps="$ps" \
		'BEGIN { printf "| %d | %.0f | %.0f | %.2f | %.2f ms | %.2f ms |\n", c, tp, ts, ts / tp, pp, ps }'
done
echo
echo "CPU: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores; medians of $REPS runs of ${DURATION} s"
