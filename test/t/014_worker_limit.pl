# Compaction workers stay within segstore.max_compaction_workers per
# database however many compact() calls commit (issue 13): a compaction
# with no plans starts none, one with plans starts no more than it has
# plans and than the limit leaves room for, a running worker takes the
# plans queued after it started, and workers that keep collecting garbage
# (retention holds the compacted sources) hold their slot meanwhile, so
# none beyond the limit lingers.  The server's default max_worker_processes
# (8) is kept: the calls must leave room for parallel query, and the log
# must not fill with "could not start a segstore compaction worker".
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker_limit');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'segstore'
segstore.compaction_interval = '1d'
segstore.max_compaction_workers = 2
segstore.retention_duration = 3600
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION segstore');

# Four collections of six segments each, every segment with deletes, so
# that each compact() queues plans; and one with nothing to compact.
for my $c (1 .. 4)
{
	$node->safe_psql(
		'postgres', qq{
SET segstore.insert_direct_threshold = 1;
SELECT segstore.create_collection('c$c', 'id int8 PRIMARY KEY, v float4[2]');
SELECT sum(segstore.insert('c$c', ids, vs)) FROM (
	SELECT array_agg(i::int8 ORDER BY i) AS ids, array_agg(ARRAY[i, -i]::float4[] ORDER BY i) AS vs
	FROM generate_series(0, 5999) i GROUP BY i / 1000) b;
SELECT segstore.delete('c$c', (SELECT array_agg(i::int8) FROM generate_series(0, 5999, 10) i));
SELECT segstore.flush('c$c');
});
}
$node->safe_psql('postgres',
	q{SELECT segstore.create_collection('empty', 'id int8 PRIMARY KEY, v float4[2]')});

# One session commits compact() after compact(), with no pause, and
# samples the compaction workers of the database after each commit and
# while they run; seven calls: the four collections, three of them twice
# (whose second call finds the segments busy: no plans) and the empty one.
$node->safe_psql(
	'postgres', q{
CREATE TABLE samples (n int);
CREATE PROCEDURE sample(times int) LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1 .. times LOOP
		INSERT INTO samples SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'segstore compaction worker';
		COMMIT;
		PERFORM pg_sleep(0.01);
	END LOOP;
END $$;
CREATE PROCEDURE compact_all() LANGUAGE plpgsql AS $$
DECLARE
	c text;
BEGIN
	FOREACH c IN ARRAY ARRAY['c1', 'c2', 'c1', 'c3', 'c2', 'empty', 'c4', 'c3'] LOOP
		PERFORM segstore.compact(c);
		COMMIT;
		CALL sample(5);
	END LOOP;
	CALL sample(100);
END $$;
CALL compact_all();
});

my ($max, $nsamples) = split /\|/,
  $node->safe_psql('postgres', q{SELECT max(n) || '|' || count(*) FROM samples});
cmp_ok($nsamples, '>=', 140, 'sampled after each commit and while the plans ran');
cmp_ok($max, '<=', 2, "at most max_compaction_workers compaction workers at once (saw $max)");
cmp_ok($max, '>=', 1, 'the compactions did start workers');

# Every compaction ends, each of its plans run by one of those workers.
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg(segstore.wait_for_compaction(compaction_id, '3 min'), ',' ORDER BY compaction_id)
FROM segstore.compactions}),
	join(',', ('Completed') x 8),
	'every compaction completed');
my ($nplans, $npids) = split /\|/, $node->safe_psql('postgres',
	q{SELECT count(*) || '|' || count(DISTINCT worker_pid) FROM segstore.compaction_plan});
cmp_ok($nplans, '>=', 4, "the calls queued plans ($nplans)");
cmp_ok($npids, '<=', 2, "which ran in at most two workers ($npids)");
is( $node->safe_psql(
		'postgres', q{SELECT s.total_plan_no FROM segstore.compactions c,
	LATERAL segstore.compaction_state(c.compaction_id) s WHERE c.collection = 'empty'}),
	'0', 'the empty collection\'s compaction has no plans');

# Retention holds the compacted sources, so the workers keep collecting
# garbage for a while: still no more than two, and room for parallel query.
is( $node->safe_psql(
		'postgres', q{SELECT count(*) <= 2 FROM pg_stat_activity
	WHERE backend_type = 'segstore compaction worker'}),
	't', 'no worker beyond the limit lingers');
my $plan = $node->safe_psql(
	'postgres', q{
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
CREATE TABLE big AS SELECT i FROM generate_series(1, 100000) i;
ANALYZE big;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM big;
});
like($plan, qr/Workers Launched: [12]/, 'parallel query still gets workers');

# A compaction with nothing to do starts no worker: the lingering workers
# give up collecting what retention holds after their 30 s and exit, and a
# compact() of the empty collection afterwards leaves the database without
# compaction workers (sampled after its commit, as above).
ok( $node->poll_query_until(
		'postgres', q{SELECT count(*) = 0 FROM pg_stat_activity
	WHERE backend_type = 'segstore compaction worker'}),
	'the workers exit once no garbage is held');
$node->safe_psql(
	'postgres', q{
TRUNCATE samples;
CREATE PROCEDURE compact_empty() LANGUAGE plpgsql AS $$
BEGIN
	PERFORM segstore.compact('empty');
	COMMIT;
	CALL sample(50);
END $$;
CALL compact_empty();
});
is($node->safe_psql('postgres', q{SELECT max(n) FROM samples}),
	'0', 'compact() with no plans started no worker');

ok(!$node->log_contains('could not start a segstore compaction worker'),
	'no "could not start a segstore compaction worker" in the log');
$node->stop;
done_testing();
