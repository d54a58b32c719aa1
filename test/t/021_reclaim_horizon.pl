
# Which snapshots hold back the reclaiming of compacted segments (issue
# 13): only those of the collection's own database, as vacuum counts them
# for its tables.  A transaction idle with a snapshot in another database
# and a logical replication slot (whose catalog horizon is not a data
# horizon) no longer keep the sources' files; a snapshot in the same
# database that may still see them flushed does, until it ends.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('horizon');
$node->init(allows_streaming => 'logical');
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'segstore'
segstore.compaction_interval = '1d'
});
$node->start;
$node->safe_psql('postgres', q{CREATE DATABASE other});
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION segstore;
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[2]');
SELECT pg_create_logical_replication_slot('held', 'test_decoding');
});

# Two flushed segments with deletes.
sub load
{
	my ($base) = @_;
	$node->safe_psql(
		'postgres', qq{
SELECT segstore.insert('c', array_agg(i::int8), array_agg(ARRAY[i, i]::float4[]))
FROM generate_series($base, $base + 99) i;
SELECT segstore.flush('c');
SELECT segstore.insert('c', array_agg(i::int8), array_agg(ARRAY[i, i]::float4[]))
FROM generate_series($base + 100, $base + 199) i;
SELECT segstore.flush('c');
SELECT segstore.delete('c', (SELECT array_agg(i::int8) FROM generate_series($base, $base + 199, 10) i));
SELECT segstore.flush('c');
});
}

# Compact the collection; returns how many segments its plans swapped out.
sub compact
{
	my $out = $node->safe_psql(
		'postgres', q{
SELECT segstore.compact('c') AS cid \gset
SELECT segstore.wait_for_compaction(:cid);
SELECT sum(cardinality(sources)) FROM segstore.compaction_plan WHERE compaction_id = :cid;
});
	die "compaction did not complete: $out" unless $out =~ /^Completed\n(\d+)$/;
	return $1;
}

# Are the swapped-out segments gone, by gc() or the compaction worker's own collection?
my $reclaimed = q{SELECT (SELECT removed_files FROM segstore.gc()) >= 0
	AND NOT EXISTS (SELECT FROM segstore.segment WHERE state = 'compacted')};

# A snapshot held in another database, from before the compaction.
my $other = $node->background_psql('other');
$other->query_safe(q{BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class});

load(1);
is(compact(), '2', 'the compaction swapped two segments out');
ok($node->poll_query_until('postgres', $reclaimed),
	'their files go despite the other database\'s snapshot and the logical slot');

# A snapshot of this database that saw them flushed still holds them.
load(1001);
my $same = $node->background_psql('postgres');
$same->query_safe(q{BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT segstore.num_entities('c')});
my $swapped = compact();
cmp_ok($swapped, '>=', 2, 'a second compaction swapped segments out');
sleep 2;
is($node->safe_psql('postgres', q{SELECT removed_files FROM segstore.gc()}),
	'0', 'gc() removes nothing while a snapshot that saw them flushed is open');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM segstore.segment WHERE state = 'compacted'}),
	$swapped, 'nor does the worker');
is($same->query_safe(q{SELECT count(*) FROM segstore.query('c', 'id >= 0')}),
	'360', 'and that snapshot reads them');
$same->query_safe('COMMIT');
ok($node->poll_query_until('postgres', $reclaimed), 'once it ends, they go');

$other->query_safe('COMMIT');
$other->quit;
$same->quit;
$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('held')});
ok(!$node->log_contains('TRAP|PANIC|server process .* was terminated'),
	'no crash in the log');
$node->stop;
done_testing();
