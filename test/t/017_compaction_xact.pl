
# What a compaction's state and the actions segstore defers to commit do
# across transaction boundaries.
#
# A plan's end is committed by its worker, which then exits: a reader whose
# snapshot predates that commit, looking at the worker's process only
# afterwards, must not take the plan for one left behind by a dead worker
# (that read "Failed" for a compaction that completed, at random, in the
# differential test under ASan).  The reader's snapshot is held here by a
# REPEATABLE READ transaction, so the order of events is fixed.
#
# Worker launches and cancel signals wait for commit: a savepoint rolled
# back forgets its own, a released one hands them on, and PREPARE
# TRANSACTION refuses them (0A000), since COMMIT PREPARED could not act on
# them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('xact');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'segstore'
max_prepared_transactions = 5
segstore.compaction_interval = '1d'
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION segstore;
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[2]');
INSERT INTO segstore.compaction (compaction_id, collection_id, trigger)
SELECT id, collection_id, 'manual' FROM segstore.collections, (VALUES (9001), (9002)) v(id)
WHERE name = 'c';
});

# The state of compaction $id as compaction_state() and the view say, in
# session $s.
sub states
{
	my ($s, $id) = @_;
	return $s->query_safe(
		"SELECT (SELECT state FROM segstore.compaction_state($id)) || ' ' || "
		  . "(SELECT state FROM segstore.compactions WHERE compaction_id = $id)");
}

# Session $s plays a worker: it claims a plan of compaction $id.
sub claim
{
	my ($s, $id) = @_;
	$s->query_safe(
		qq{
INSERT INTO segstore.compaction_plan (plan_id, compaction_id, collection_id, priority, plan_type,
	sources, state, max_segment_size, memory_limit, retention_s, timeout_s, worker_pid, started_at)
SELECT $id, $id, collection_id, 0, 'merge', '{}', 'executing', 1, 1, 0, 0, pg_backend_pid(), now()
FROM segstore.collections WHERE name = 'c'});
	return $s->query_safe('SELECT pg_backend_pid()');
}

# Ends session $s and waits until its process is gone.
sub quit_and_wait
{
	my ($s, $pid) = @_;
	$s->quit;
	$node->poll_query_until('postgres',
		"SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $pid)")
	  or die "session $pid did not exit";
}

### A plan that ends after a reader's snapshot, its worker gone since

my $worker = $node->background_psql('postgres');
my $pid = claim($worker, 9001);
my $reader = $node->background_psql('postgres');
$reader->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
is(states($reader, 9001), 'Executing Executing', 'a running plan is executing');
$worker->query_safe(
	"UPDATE segstore.compaction_plan SET state = 'completed', finished_at = clock_timestamp() "
	  . "WHERE plan_id = 9001");
quit_and_wait($worker, $pid);
is(states($reader, 9001), 'Executing Executing',
	'a plan that completed after the snapshot, its worker gone, is still executing in it');
$reader->query_safe('COMMIT');
is(states($reader, 9001), 'Completed Completed', 'and completed in a new snapshot');

### A plan whose worker died: failed, and recorded so by the next worker

$worker = $node->background_psql('postgres');
$pid = claim($worker, 9002);
quit_and_wait($worker, $pid);
is(states($reader, 9002), 'Failed Failed', 'a plan left executing by a dead worker has failed');
$node->safe_psql('postgres', 'SELECT segstore.gc()');
is( $node->safe_psql(
		'postgres',
		'SELECT plan_id, state, error FROM segstore.compaction_plan ORDER BY plan_id'),
	"9001|completed|\n9002|failed|the worker running the plan exited before it finished",
	'garbage collection records the orphan as failed and leaves the completed plan');
$reader->quit;

### What segstore defers to commit, across savepoints and PREPARE TRANSACTION

# The error that PREPARE TRANSACTION after $sql ends with, '' if it
# prepared (then rolled back).
sub prepare_error
{
	my ($sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nBEGIN;\n$sql;\nPREPARE TRANSACTION 'p';");
	$node->safe_psql('postgres', "ROLLBACK PREPARED 'p'")
	  if $node->safe_psql('postgres', "SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'p'") eq '1';
	my ($line) = $err =~ /^(?:psql:[^:]*:\d+: )?(ERROR:.*)$/m;
	return $line // '';
}

my $no_prepare = qr/^ERROR:  0A000: cannot prepare a transaction that/;
# Two small segments: compact() queues a plan that merges them.
$node->safe_psql('postgres', q{
SELECT segstore.create_collection('d', 'id int8 PRIMARY KEY, v float4[2]');
SELECT segstore.insert('d', ARRAY[1, 2]::int8[], ARRAY[[1, 1], [2, 2]]::float4[]);
SELECT segstore.flush('d');
SELECT segstore.insert('d', ARRAY[3, 4]::int8[], ARRAY[[3, 3], [4, 4]]::float4[]);
SELECT segstore.flush('d');
});
like(prepare_error("SELECT segstore.compact('d')"), $no_prepare,
	'a queued compaction cannot be prepared (no worker would start it)');
is(prepare_error("SAVEPOINT s; SELECT segstore.compact('d'); ROLLBACK TO s"), '',
	'a compaction rolled back to a savepoint launches nothing: the transaction prepares');
like(prepare_error("SAVEPOINT s; SELECT segstore.compact('d'); RELEASE s"), $no_prepare,
	'a released savepoint hands its launch to the transaction');

$node->safe_psql('postgres', q{
INSERT INTO segstore.compaction (compaction_id, collection_id, trigger)
SELECT 9003, collection_id, 'manual' FROM segstore.collections WHERE name = 'c'});
$worker = $node->background_psql('postgres');
$pid = claim($worker, 9003);
like(prepare_error('SELECT segstore.cancel_compaction(9003)'), $no_prepare,
	'a cancel that would signal a worker cannot be prepared');
is(prepare_error('SAVEPOINT s; SELECT segstore.cancel_compaction(9003); ROLLBACK TO s'), '',
	'a cancel rolled back to a savepoint signals nothing: the transaction prepares');
like(
	prepare_error(
		'SAVEPOINT s; SAVEPOINT t; SELECT segstore.cancel_compaction(9003); RELEASE t; ROLLBACK TO s; '
		  . 'SAVEPOINT u; SELECT segstore.cancel_compaction(9003); RELEASE u'),
	$no_prepare,
	'only the cancels of aborted subtransactions are forgotten');
is($node->safe_psql('postgres', 'SELECT state FROM segstore.compaction_plan WHERE plan_id = 9003'),
	'executing', 'the plan still runs');
quit_and_wait($worker, $pid);

$node->stop;
done_testing();
