
# pg_cron schedules segstore compaction: a job that calls compact() runs,
# its run is recorded as succeeded in cron.job_run_details, and the
# compaction it queued completes in background workers (segstore.compactions)
# and compacts the collection.  The weekly full-compaction recipe is only
# registered.  Jobs run in pg_cron's background workers, so no libpq
# connection or password is involved.
#
# pg_cron 1.5 and later accept '1 seconds'; older versions (Debian 12 ships
# 1.4) only minutes, so the job may wait for the next minute boundary.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);

my $node = PostgreSQL::Test::Cluster->new('pg_cron');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'segstore,pg_cron'
# the maintenance worker stays out of the way: this test drives compaction
segstore.compaction_interval = '1d'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 20
});
$node->start;

my $cron_version = $node->safe_psql('postgres', q{
CREATE EXTENSION segstore;
CREATE EXTENSION pg_cron;
SELECT extversion FROM pg_extension WHERE extname = 'pg_cron';
});
note("pg_cron extension version $cron_version");

# Six sealed segments of 20 rows, a quarter of the rows deleted.
$node->safe_psql(
	'postgres', q{
SET segstore.insert_direct_threshold = 10;
SELECT segstore.create_collection('coll', 'id int8 PRIMARY KEY, v float4[2]');
SELECT sum(segstore.insert('coll', ids, vs)) FROM (
	SELECT array_agg(i::int8 ORDER BY i) AS ids,
		   array_agg(ARRAY[i, -i]::float4[] ORDER BY i) AS vs
	FROM generate_series(0, 119) i GROUP BY i / 20) b;
SELECT segstore.delete('coll', ARRAY(SELECT i::int8 FROM generate_series(0, 119, 4) i));
SELECT segstore.flush('coll');
});

# flushed segments, their rows, deleted rows among them, entities
my $shape_sql = q{
SELECT count(*), sum(num_rows), sum(deleted_rows), segstore.num_entities('coll')
FROM segstore.segments('coll') WHERE state = 'flushed'};
is($node->safe_psql('postgres', $shape_sql),
	'6|120|30|90', 'before: six flushed segments with 30 deleted rows');
my $rows_before = $node->safe_psql('postgres',
	q{SELECT string_agg(q::text, ',' ORDER BY (q->>'id')::int8) FROM segstore.query('coll', NULL) q});

# Poll $sql until it returns 't' or $timeout seconds pass; returns whether
# it did.
sub wait_for
{
	my ($sql, $timeout) = @_;
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		return 1 if $node->safe_psql('postgres', $sql) eq 't';
		sleep(0.2);
	}
	return 0;
}

# The daily recipe's command, on the fastest schedule the installed
# pg_cron accepts.
my $command = q{SELECT segstore.compact('coll')};
my ($schedule, $wait);
my ($ret, $jobid, $stderr) = $node->psql('postgres',
	qq{SELECT cron.schedule('segstore-compact', '1 seconds', \$\$$command\$\$)});
if ($ret == 0)
{
	($schedule, $wait) = ('1 seconds', 20);
}
else
{
	note("no seconds schedule in this pg_cron: $stderr");
	($schedule, $wait) = ('* * * * *', 75);
	$jobid = $node->safe_psql('postgres',
		qq{SELECT cron.schedule('segstore-compact', '$schedule', \$\$$command\$\$)});
}
note("job $jobid scheduled '$schedule' at "
	  . $node->safe_psql('postgres', 'SELECT now()'));
is( $node->safe_psql(
		'postgres',
		"SELECT schedule, command, database, active FROM cron.job WHERE jobid = $jobid"),
	"$schedule|$command|postgres|t",
	'the compaction job is registered');

my $start = time();
my $ran = wait_for(
	qq{SELECT EXISTS (SELECT FROM cron.job_run_details
					  WHERE jobid = $jobid AND status IN ('succeeded', 'failed'))},
	$wait);
my $runs = $node->safe_psql('postgres',
	"SELECT runid, status, return_message, start_time, end_time FROM cron.job_run_details WHERE jobid = $jobid ORDER BY runid"
);
note(sprintf("first run finished after %.1f s; runs:\n%s", time() - $start, $runs));
ok($ran, "pg_cron ran the job within $wait s")
  or diag("cron.job_run_details:\n$runs");
is( $node->safe_psql(
		'postgres',
		"SELECT status, return_message FROM cron.job_run_details WHERE jobid = $jobid ORDER BY runid LIMIT 1"
	),
	'succeeded|SELECT 1',
	'its first run succeeded');

# Stop further runs; one more may have started meanwhile, which finds
# nothing left to compact or queues plans of its own: wait for all of them.
is($node->safe_psql('postgres', q{SELECT cron.unschedule('segstore-compact')}),
	't', 'the compaction job is unscheduled');
ok( wait_for(
		q{SELECT count(*) > 0 AND bool_and(state <> 'Executing')
		  FROM segstore.compactions WHERE collection = 'coll'},
		30),
	'the compaction queued by the job finished')
  or diag($node->safe_psql('postgres', 'SELECT * FROM segstore.compactions'));

# The README's query pairing each run with the compaction it queued.
is( $node->safe_psql(
		'postgres', qq{
SELECT r.status, r.return_message, c.collection, c.trigger, c.state, c.rows_before, c.rows_after
FROM cron.job_run_details r
LEFT JOIN segstore.compactions c ON c.created_at BETWEEN r.start_time AND r.end_time
WHERE r.jobid = $jobid
ORDER BY r.runid, c.compaction_id LIMIT 1}),
	'succeeded|SELECT 1|coll|manual|Completed|120|90',
	'segstore.compactions shows the manual compaction the run queued, Completed');

my ($count, $rows, $deleted, $entities) =
  split /\|/, $node->safe_psql('postgres', $shape_sql);
cmp_ok($count, '<', 6, "after: fewer flushed segments ($count)");
is("$rows|$deleted", '90|0', 'after: deleted rows purged');
is($entities, '90', 'after: num_entities unchanged');
is( $node->safe_psql(
		'postgres',
		q{SELECT string_agg(q::text, ',' ORDER BY (q->>'id')::int8) FROM segstore.query('coll', NULL) q}
	),
	$rows_before,
	'after: the same entities');

# The weekly full compaction recipe: registered, not run.
my $full_command = q{SELECT segstore.compact('coll', "full" => true)};
my $full_jobid = $node->safe_psql('postgres',
	qq{SELECT cron.schedule('segstore-weekly-full', '0 3 * * 0', \$\$$full_command\$\$)});
is( $node->safe_psql(
		'postgres',
		"SELECT jobname, schedule, command, database, active FROM cron.job WHERE jobid = $full_jobid"
	),
	"segstore-weekly-full|0 3 * * 0|$full_command|postgres|t",
	'the weekly full compaction job is registered');
is($node->safe_psql('postgres', q{SELECT cron.unschedule('segstore-weekly-full')}),
	't', 'the weekly job is unscheduled');
is($node->safe_psql('postgres', 'SELECT count(*) FROM cron.job'),
	'0', 'no job is left');

$node->stop;
done_testing();
