
# The launcher and the per-database maintenance workers, preloaded, with a
# one-second interval: automatic merge and delete compactions with no call,
# both switches, idle sealing, live progress, the log line, history
# pruning, a second database coming and going, and workers that die.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);
use SegstoreTest qw(poll_true);

my $node = PostgreSQL::Test::Cluster->new('worker');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'segstore'
max_worker_processes = 16
segstore.compaction_interval = 1
segstore.seal_idle_time = 2
segstore.log_min_duration = 0
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION segstore');

# Poll $sql in $db until it returns 't' or $timeout seconds pass.
sub wait_for { return poll_true($node, @_); }

# The maintenance worker's pid in $db, or '' if none runs.
sub worker_pid
{
	my ($db) = @_;
	return $node->safe_psql('postgres',
		qq{SELECT pid FROM pg_stat_activity WHERE backend_type = 'segstore worker' AND datname = '$db'});
}

# Create $name and insert $nseg sealed segments of $rows rows each, all in
# one transaction so that no rule sees a part of them.
sub make_collection
{
	my ($name, $nseg, $rows, $auto) = @_;
	my $alter = defined $auto
	  ? "SELECT segstore.alter_collection('$name', auto_compaction => $auto);"
	  : '';
	$node->safe_psql(
		'postgres', qq{
BEGIN;
SET LOCAL segstore.insert_direct_threshold = 1;
SELECT segstore.create_collection('$name', 'id int8 PRIMARY KEY, v float4[2]');
$alter
SELECT sum(segstore.insert('$name', ids, vs)) FROM (
	SELECT array_agg(i::int8 ORDER BY i) AS ids,
		   array_agg(ARRAY[i, -i]::float4[] ORDER BY i) AS vs
	FROM generate_series(0, $nseg * $rows - 1) i GROUP BY i / $rows) b;
COMMIT;
});
}

# Is there a completed automatic compaction of $name?
sub auto_done_sql
{
	my ($name) = @_;
	return qq{SELECT EXISTS (SELECT 1 FROM segstore.compactions
		WHERE collection = '$name' AND trigger = 'auto' AND state = 'Completed')};
}

my $flushed_sql = q{SELECT count(*) || '|' || sum(num_rows) || '|' || segstore.num_entities('%s')
	FROM segstore.segments('%s') WHERE state = 'flushed'};

# -- the launcher starts a worker for the database --------------------------
ok(wait_for('postgres', q{SELECT EXISTS (SELECT 1 FROM segstore.worker_status
	WHERE datname = 'postgres' AND state = 'running' AND runs > 0)}),
	'the launcher started a worker in the database with the extension');
is($node->safe_psql('postgres',
	q{SELECT string_agg(backend_type, ',' ORDER BY backend_type) FROM pg_stat_activity
	  WHERE backend_type LIKE 'segstore%'}),
	'segstore launcher,segstore worker', 'launcher and worker show in pg_stat_activity');

# -- 12 small segments are merged without a call -----------------------------
make_collection('merged', 12, 20);
ok(wait_for('postgres', auto_done_sql('merged')), '12 small segments: automatic compaction completed');
is($node->safe_psql('postgres', sprintf($flushed_sql, 'merged', 'merged')),
	'1|240|240', 'merged into one segment, no row lost');
is($node->safe_psql('postgres',
	q{SELECT trigger || ': ' || reason FROM segstore.compactions WHERE collection = 'merged'}),
	'auto: 12 small segments (more than 10)', 'recorded as automatic, with the rule that fired');
ok($node->wait_for_log(qr/segstore: auto compaction \d+ of collection "merged" finished: 1 plans, rows 240 -> 240, bytes \d+ -> \d+, reclaimed -?\d+ bytes, [\d.]+ s/),
	'one log line for the finished compaction');

# -- 25% deleted triggers a delete compaction, 15% does not ------------------
make_collection('del15', 1, 100);
make_collection('del25', 1, 100);
$node->safe_psql(
	'postgres', q{
SELECT segstore.delete('del15', 'id < 15');
SELECT segstore.delete('del25', 'id < 25');
SELECT segstore.flush('del15');
SELECT segstore.flush('del25');
});
ok(wait_for('postgres', auto_done_sql('del25')), '25% deleted: automatic compaction completed');
is($node->safe_psql('postgres', sprintf($flushed_sql, 'del25', 'del25')),
	'1|75|75', 'deleted rows purged');
# two more runs after the one that compacted del25
my $runs = $node->safe_psql('postgres', q{SELECT runs FROM segstore.worker_status WHERE datname = 'postgres'});
ok(wait_for('postgres', qq{SELECT runs >= $runs + 2 FROM segstore.worker_status WHERE datname = 'postgres'}),
	'the worker ran twice more');
is($node->safe_psql('postgres', q{SELECT count(*) FROM segstore.compactions WHERE collection = 'del15'}),
	'0', '15% deleted: no compaction');
like($node->safe_psql('postgres', q{SELECT last_decision FROM segstore.worker_status WHERE datname = 'postgres'}),
	qr/del15: no rule fired: 1 small segments \(merge above 10\), most deleted 15% of a segment \(delete at 20%\)/,
	'worker_status says why nothing fired for del15');

# -- the switches -------------------------------------------------------------
make_collection('switched', 12, 20, 'false');
$runs = $node->safe_psql('postgres', q{SELECT runs FROM segstore.worker_status WHERE datname = 'postgres'});
ok(wait_for('postgres', qq{SELECT runs >= $runs + 2 FROM segstore.worker_status WHERE datname = 'postgres'}),
	'the worker ran twice more');
is($node->safe_psql('postgres', q{SELECT count(*) FROM segstore.compactions WHERE collection = 'switched'}),
	'0', 'per-collection switch off: nothing compacted');
like($node->safe_psql('postgres', q{SELECT last_decision FROM segstore.worker_status WHERE datname = 'postgres'}),
	qr/switched: automatic compaction off for the collection/, 'worker_status says the collection is off');

$node->safe_psql('postgres', q{ALTER SYSTEM SET segstore.enable_compaction = off; SELECT pg_reload_conf()});
ok(wait_for('postgres', q{SELECT last_decision LIKE '%(segstore.enable_compaction)%'
	FROM segstore.worker_status WHERE datname = 'postgres'}), 'the worker saw the reload');
$node->safe_psql('postgres', q{SELECT segstore.alter_collection('switched', auto_compaction => true)});
$runs = $node->safe_psql('postgres', q{SELECT runs FROM segstore.worker_status WHERE datname = 'postgres'});
ok(wait_for('postgres', qq{SELECT runs >= $runs + 2 FROM segstore.worker_status WHERE datname = 'postgres'}),
	'the worker ran twice more');
is($node->safe_psql('postgres', q{SELECT count(*) FROM segstore.compactions WHERE collection = 'switched'}),
	'0', 'enable_compaction off: nothing compacted');
$node->safe_psql('postgres', q{ALTER SYSTEM SET segstore.enable_compaction = on; SELECT pg_reload_conf()});
ok(wait_for('postgres', auto_done_sql('switched')), 'on again with ALTER SYSTEM and reload: compacted');
is($node->safe_psql('postgres', sprintf($flushed_sql, 'switched', 'switched')),
	'1|240|240', 'switched: one segment, no row lost');

# -- an idle growing segment is sealed, pending deletes written out ----------
$node->safe_psql(
	'postgres', q{
SELECT segstore.create_collection('idle', 'id int8 PRIMARY KEY, v float4[2]');
-- a third deleted would otherwise get it compacted
SELECT segstore.alter_collection('idle', auto_compaction => false);
SELECT segstore.insert('idle', ARRAY[1, 2, 3]::int8[], ARRAY[[1, 1], [2, 2], [3, 3]]::float4[]);
});
is($node->safe_psql('postgres', q{SELECT growing_rows || '|' || flushed_segments FROM segstore.collection_stats('idle')}),
	'3|0', 'three rows growing');
ok(wait_for('postgres', q{SELECT flushed_segments = 1 AND growing_rows = 0 FROM segstore.collection_stats('idle')}),
	'the idle growing segment was sealed');
$node->safe_psql('postgres', q{SELECT segstore.delete('idle', 'id == 2')});
is($node->safe_psql('postgres', q{SELECT pending_deletes FROM segstore.collection_stats('idle')}),
	'1', 'one pending delete');
ok(wait_for('postgres', q{SELECT pending_deletes = 0 FROM segstore.collection_stats('idle')}),
	'the idle collection\'s pending delete was written out');
is($node->safe_psql('postgres', q{SELECT delta_binlogs || '|' || live_rows FROM segstore.segments('idle')}),
	'1|2', 'as a delta binlog');

# -- a segment without its index file gets one -----------------------------
make_collection('indexed', 2, 50, 'false');
$node->safe_psql('postgres', q{SELECT segstore.create_index('indexed', 'v', 'FLAT', 'L2', '{}')});
# The check runs in the deleting transaction: once it commits, the worker
# (every second) may rebuild the file before another session could look.
my ($lost, $state) = split /\n/, $node->safe_psql('postgres', q{
BEGIN;
DELETE FROM segstore.binlog WHERE kind = 'index' AND segment_id =
	(SELECT min(segment_id) FROM segstore.segments('indexed'))
RETURNING segment_id;
SELECT index_state FROM segstore.segments('indexed')
WHERE segment_id = (SELECT min(segment_id) FROM segstore.segments('indexed'));
COMMIT;});
is($state, 'none', "segment $lost lost its index file's catalog row");
ok(wait_for('postgres', q{SELECT bool_and(index_state = 'FLAT') FROM segstore.segments('indexed')}),
	'the worker built the missing index file');
is($node->safe_psql('postgres', q{SELECT string_agg(id::text, ',') FROM segstore.search('indexed', ARRAY[10, -10]::float4[], 3)}),
	'10,9,11', 'search finds the nearest rows');

# -- live progress of a running plan -----------------------------------------
# Two segments with interleaved keys take the merge path; compression level
# 19 makes the plan last long enough to be watched.
$node->safe_psql(
	'postgres', q{
SELECT segstore.create_collection('big', 'id int8 PRIMARY KEY, v float4[16]');
SELECT segstore.alter_collection('big', auto_compaction => false);
SELECT segstore.insert('big', ARRAY(SELECT i::int8 FROM generate_series(p, 99999, 2) i),
	ARRAY(SELECT array_fill(i::float4, ARRAY[16]) FROM generate_series(p, 99999, 2) i))
FROM generate_series(0, 1) p;
ALTER SYSTEM SET segstore.compression_level = 19;
SELECT pg_reload_conf();
});
$node->safe_psql(
	'postgres', q{
CREATE FUNCTION watch_progress() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r record;
	q text;
BEGIN
	FOR i IN 1..60000 LOOP
		SELECT * INTO r FROM segstore.compaction_progress WHERE collection = 'big';
		IF FOUND THEN
			SELECT query INTO q FROM pg_stat_activity WHERE pid = r.pid;
			RETURN (r.phase IN ('reading', 'writing', 'swapping') AND r.rows_total = 100000
				AND r.rows_done <= r.rows_total AND r.bytes_total > 0
				AND r.compaction_id = (SELECT max(compaction_id) FROM segstore.compactions)
				AND q LIKE 'segstore: compaction % plan % (merge of 2 segments)')::text;
		END IF;
		PERFORM pg_sleep(0.001);
	END LOOP;
	RETURN 'not seen';
END $$;
});
$node->safe_psql('postgres', q{SELECT segstore.compact('big')});
is($node->safe_psql('postgres', q{SELECT watch_progress()}), 'true', 'compaction_progress shows the running plan, pg_stat_activity what it does');
ok(wait_for('postgres', q{SELECT state = 'Completed' FROM segstore.compactions WHERE collection = 'big'}),
	'the watched compaction completed');
is($node->safe_psql('postgres', q{SELECT count(*) FROM segstore.compaction_progress}),
	'0', 'no progress row once it is done');
$node->safe_psql('postgres', q{ALTER SYSTEM RESET segstore.compression_level; SELECT pg_reload_conf()});

# -- a second database ---------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE db2');
ok(wait_for('postgres', q{SELECT EXISTS (SELECT 1 FROM segstore.worker_status
	WHERE datname = 'db2' AND state = 'no extension')}),
	'a new database without segstore gets no worker');
$node->safe_psql('db2', 'CREATE EXTENSION segstore');
ok(wait_for('postgres', q{SELECT EXISTS (SELECT 1 FROM segstore.worker_status
	WHERE datname = 'db2' AND state = 'running' AND runs > 0)}),
	'CREATE EXTENSION: the second database gets its own worker');
isnt(worker_pid('db2'), '', 'its worker is connected');
make_collection_in_db2();
my $db2_worker = worker_pid('db2');
my ($ret, $out, $err) = $node->psql('postgres',
	'CREATE ROLE regress_nobody; SET ROLE regress_nobody; DROP DATABASE db2');
like($err, qr/must be owner of database db2/, 'a role that may not drop db2 cannot');
is(worker_pid('db2'), $db2_worker, 'and its attempt left db2\'s worker alone');
$node->safe_psql('postgres', 'DROP DATABASE db2');
pass('DROP DATABASE succeeded while its worker ran');
ok(wait_for('postgres', q{SELECT NOT EXISTS (SELECT 1 FROM segstore.worker_status WHERE datname IS NULL OR datname = 'db2')}),
	'the dropped database left worker_status');
is(worker_pid('postgres') ne '', 1, 'the other database\'s worker is untouched');

# A collection in db2, so that its worker has something to do while dropped.
sub make_collection_in_db2
{
	$node->safe_psql('db2', q{
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[2]');
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1, 1]]::float4[]);
});
}

# -- history is pruned after segstore.history_retention ----------------------
$node->safe_psql('postgres', q{ALTER SYSTEM SET segstore.history_retention = 1; SELECT pg_reload_conf()});
ok(wait_for('postgres', q{SELECT count(*) = 0 FROM segstore.compactions}),
	'finished compactions pruned from the history');
like($node->safe_psql('postgres', q{SELECT last_decision FROM segstore.worker_status WHERE datname = 'postgres'}),
	qr/pruned \d+ compactions from the history|no rule fired/, 'the worker ran after pruning');
$node->safe_psql('postgres', q{ALTER SYSTEM RESET segstore.history_retention; SELECT pg_reload_conf()});

# -- SIGTERM stops a worker promptly; the launcher starts a new one ----------
my $pid = worker_pid('postgres');
my $start = time();
kill 'TERM', $pid;
my $gone = 0;
while (time() - $start < 5)
{
	if (!kill(0, $pid))
	{
		$gone = time() - $start;
		last;
	}
	sleep(0.01);
}
ok($gone > 0 && $gone < 1, sprintf('SIGTERM stopped the worker in %.3f s', $gone));
ok(wait_for('postgres', qq{SELECT EXISTS (SELECT 1 FROM segstore.worker_status
	WHERE datname = 'postgres' AND state = 'running' AND pid IS NOT NULL AND pid <> $pid)}),
	'the launcher started it again');

# -- SIGKILL: the cluster recovers, the worker comes back, no data is lost ---
my $entities_sql = q{SELECT string_agg(name || '=' || segstore.num_entities(name), ',' ORDER BY name)
	FROM segstore.collections};
my $before = $node->safe_psql('postgres', $entities_sql);
$pid = worker_pid('postgres');
kill 'KILL', $pid;
ok(wait_for('postgres', qq{SELECT EXISTS (SELECT 1 FROM segstore.worker_status
	WHERE datname = 'postgres' AND state = 'running' AND runs > 0 AND pid <> $pid)}),
	'after SIGKILL and crash recovery a new worker runs');
is($node->safe_psql('postgres', $entities_sql), $before, 'no data lost');
make_collection('after_crash', 12, 20);
ok(wait_for('postgres', auto_done_sql('after_crash')), 'and it compacts automatically again');

$node->stop;
done_testing();
