
# Seals delete the growing rows they move into segments; the maintenance
# worker vacuums the growing table as soon as a seal commits, not at its
# next interval, so that its pages are reused and searches do not scan an
# ever longer table of dead rows.  The worker's interval is a day here:
# only the seal's request can have started the vacuum.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);
use SegstoreTest qw(poll_true);

my $node = PostgreSQL::Test::Cluster->new('growing_vacuum');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'segstore'
segstore.compaction_interval = '1d'
segstore.growing_max_size = '64kB'
autovacuum = off
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION segstore');
$node->safe_psql('postgres',
	"SELECT segstore.create_collection('g', 'id int8 PRIMARY KEY, v float4[16], t text')");
my $growing = 'segstore_internal.growing_'
  . $node->safe_psql('postgres',
	"SELECT collection_id FROM segstore.collection WHERE name = 'g'");

# Poll $sql until it returns 't' or $timeout seconds pass.
sub wait_for { return poll_true($node, 'postgres', @_); }

# Insert 3,000 rows from $first in 10-row batches, each its own transaction.
sub ingest
{
	my ($first) = @_;
	my $script = '';
	for my $b (0 .. 299)
	{
		my $lo = $first + $b * 10;
		my $hi = $lo + 9;
		$script .= "SELECT segstore.insert('g', array_agg(i::int8), "
		  . "array_agg(array_fill(i::float4, ARRAY[16])), array_agg(repeat('x', 50))) "
		  . "FROM generate_series($lo, $hi) i;\n";
	}
	$node->safe_psql('postgres', $script);
}

sub vacuums
{
	return $node->safe_psql('postgres',
		"SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = '$growing'::regclass");
}

sub blocks
{
	return $node->safe_psql('postgres',
		"SELECT pg_relation_size('$growing') / 8192");
}

is(vacuums(), '0', 'no vacuum before any seal');
ingest(0);
ok( $node->safe_psql('postgres',
		"SELECT flushed_segments >= 3 FROM segstore.collection_stats('g')") eq 't',
	'small batches were sealed several times');
ok(wait_for("SELECT vacuum_count > 0 FROM pg_stat_user_tables WHERE relid = '$growing'::regclass"),
	'the worker vacuumed the growing table after the seals');
# 3,000 rows of some 180 bytes fill about 70 blocks: unvacuumed, the
# table would hold them all, dead or not.  Vacuum runs once the table is
# twice the limit (16 blocks), so it stays near that.
my $after_first = blocks();
my $vacuums_first = vacuums();
cmp_ok($after_first, '<', 40, "the growing table stays small ($after_first blocks)");

# The same amount again: unvacuumed, the table would double (some 140
# blocks); vacuumed, its free pages are reused.
ingest(100000);
ok( wait_for(
		"SELECT vacuum_count > $vacuums_first FROM pg_stat_user_tables WHERE relid = '$growing'::regclass"
	),
	'the second round was vacuumed too');
my $after_second = blocks();
cmp_ok($after_second, '<', 40,
	"the growing table reuses its pages ($after_first blocks, then $after_second)");

is( $node->safe_psql('postgres',
		"SELECT segstore.num_entities('g')"),
	'6000', 'every row is there');
is( $node->safe_psql('postgres',
		"SELECT id FROM segstore.search('g', array_fill(2242::float4, ARRAY[16]), 1)"),
	'2242', 'a sealed row is found');
is( $node->safe_psql('postgres',
		"SELECT id FROM segstore.search('g', array_fill(102995::float4, ARRAY[16]), 1)"),
	'102995', 'a row of the last batches is found');

# A seal in a transaction that rolls back asks for nothing.
my $before = vacuums();
$node->safe_psql('postgres', "BEGIN; SELECT segstore.flush('g'); ROLLBACK;");
sleep(1);
is(vacuums(), $before, 'a rolled-back seal asks for no vacuum');

$node->stop;
done_testing();
