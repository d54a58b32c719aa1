# A compaction plan holds no xid and no snapshot while it merges and builds
# its targets' index files (issue 13): the ids it needs are taken before,
# its files are stamped with the worker's virtual transaction id, and only
# the swap takes a snapshot and an xid.  So a long plan no longer holds back
# vacuum or the reclaiming of other compactions' sources.  The server's
# default isolation is REPEATABLE READ here, which the workers must not
# follow (their transaction snapshot would be held for the whole plan).
# Meanwhile gc() keeps the plan's files, whose writer it tells from the
# virtual stamp, and the plan completes with every row.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('plan_horizon');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'segstore'
segstore.compaction_interval = '1d'
default_transaction_isolation = 'repeatable read'
});
$node->start;

# Four flushed segments with deletes, and an IVF index: merging them and
# training the target's centroids takes seconds.
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION segstore;
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[64], tag int4');
SELECT segstore.create_index('c', 'v', 'IVF_FLAT', 'L2', '{"nlist": 16}');
});
for my $s (0 .. 3)
{
	$node->safe_psql(
		'postgres', qq{
SELECT segstore.insert('c', array_agg(i::int8),
	array_agg((SELECT array_agg(sin(i * 7 + d)::float4) FROM generate_series(1, 64) d)),
	array_agg((i % 97)::int4))
FROM generate_series($s, 200000, 4) i;
SELECT segstore.flush('c');
});
}
$node->safe_psql('postgres',
	q{SELECT segstore.delete('c', 'tag < 10'); SELECT segstore.flush('c')});
my $expected = $node->safe_psql('postgres', q{SELECT segstore.num_entities('c')});

# Watch the plan from another session until it ends: every sample taken
# while it reads, merges or indexes shows its worker without an xid or a
# snapshot; while it writes, the files being written carry a virtual
# stamp, and gc() run then removes none of them.
my $ret = $node->psql(
	'postgres', q{
SET default_transaction_isolation = 'read committed';
SELECT segstore.compact('c') AS cid \gset
DO $$
DECLARE
	samples int := 0;
	writing int := 0;
	held int := 0;
	virtual_tmp int := 0;
	removed int := 0;
	collected bool := false;
	n int;
	dir text := 'segstore/' ||
		(SELECT oid FROM pg_database WHERE datname = current_database()) || '/' ||
		(SELECT collection_id FROM segstore.collection WHERE name = 'c');
	r1 record;
	r2 record;
	a record;
BEGIN
	FOR i IN 1..60000 LOOP
		SELECT pid, plan_id, phase INTO r1 FROM segstore.compaction_progress;
		EXIT WHEN NOT FOUND AND samples > 0;
		IF FOUND AND r1.phase IN ('reading', 'writing', 'indexing') THEN
			-- The worker's state counts only if read between two readings of
			-- its progress in one of those phases: its snapshot is let go of
			-- before the progress appears and taken after it says swapping.
			PERFORM pg_stat_clear_snapshot();
			SELECT backend_xid, backend_xmin INTO a FROM pg_stat_activity
			WHERE pid = r1.pid;
			SELECT plan_id, phase INTO r2 FROM segstore.compaction_progress;
			IF FOUND AND r2.plan_id = r1.plan_id AND
				r2.phase IN ('reading', 'writing', 'indexing') THEN
				samples := samples + 1;
				IF a.backend_xid IS NOT NULL OR a.backend_xmin IS NOT NULL THEN
					held := held + 1;
				END IF;
			END IF;
			IF r1.phase = 'writing' THEN
				writing := writing + 1;
				-- a stamp at or above 2^63 is a virtual transaction id
				SELECT count(*) INTO n FROM pg_ls_dir(dir) f
				WHERE substring(f from '\.(\d+)\.tmp$')::numeric >= 9223372036854775808;
				virtual_tmp := greatest(virtual_tmp, n);
				IF n > 0 AND NOT collected THEN
					SELECT removed_files INTO removed FROM segstore.gc();
					collected := true;
				END IF;
			END IF;
		END IF;
		PERFORM pg_sleep(0.005);
	END LOOP;
	RAISE NOTICE 'samples % writing % held % virtual_tmp % removed %',
		samples, writing, held, virtual_tmp, removed;
END $$;
SELECT segstore.wait_for_compaction(:cid);
},
	stdout => \my $watch,
	stderr => \my $notice,
	on_error_stop => 1);
is($ret, 0, 'the watching session ran') or diag($notice);
like($watch, qr/^Completed$/m, 'the compaction completed');
note($notice);
my ($samples, $writing, $held, $virtual_tmp, $removed) =
  $notice =~ /samples (\d+) writing (\d+) held (\d+) virtual_tmp (\d+) removed (\d+)/
  or die "no samples: $notice";
cmp_ok($writing, '>=', 1, 'the plan was watched while it wrote its target');
is($held, 0, "in $samples samples while it merged, its worker held no xid and no snapshot");
cmp_ok($virtual_tmp, '>=', 1, 'the files it wrote were stamped with a virtual transaction id');
is($removed, 0, 'gc() during the merge removed none of them');

is($node->safe_psql('postgres', q{SELECT segstore.num_entities('c')}),
	$expected, 'every row is there after the swap');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM segstore.segment WHERE state = 'flushed'}),
	'1', 'in one target segment');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM segstore.query('c', 'tag < 10')}),
	'0', 'without the deleted rows');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM segstore.binlog b WHERE NOT EXISTS
			(SELECT FROM pg_stat_file(b.path, true) f WHERE f.size > 0)}),
	'0', 'every registered file exists');
is($node->safe_psql('postgres', q{SELECT id FROM segstore.search('c',
	(SELECT array_agg(sin(20 * 7 + d)::float4) FROM generate_series(1, 64) d), 1, '{"nprobe": 16}')}),
	'20', 'the target is searched');

ok(!$node->log_contains('TRAP|PANIC|server process .* was terminated'),
	'no crash in the log');
$node->stop;
done_testing();
