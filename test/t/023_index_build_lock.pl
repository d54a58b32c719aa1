# create_index() trains and writes its segments' index files holding only
# the collection lock in a mode no writer takes, and takes the state lock
# (which flush, sealing and the compaction swap need) only to register
# them.  Here a session holds the state lock, having flushed, while
# create_index() runs: the files of every segment already there must be
# written before create_index() waits for it.  Once it gets the lock, the
# segments sealed meanwhile get their file at once if they can borrow
# centroids, else are left to the maintenance worker with a notice.  Two
# create_index() calls at once: one wins, and the other removes the files
# it wrote before it reports the duplicate.
use strict;
use warnings;
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib $FindBin::RealBin;
use SegstoreTest qw(files_under poll_true);

my $node = PostgreSQL::Test::Cluster->new('index_build_lock');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'segstore'
segstore.compaction_interval = '1d'
});
$node->start;

# Rows $lo..$hi of the collection, each vector a function of its id.
sub insert_sql
{
	my ($lo, $hi) = @_;
	return qq{SELECT segstore.insert('c', array_agg(i::int8),
	array_agg((SELECT array_agg(sin(i * 7 + d)::float4) FROM generate_series(1, 64) d)))
FROM generate_series($lo, $hi) i};
}

# Four flushed segments of 10,000 rows: nlist 64 needs k-means on each.
$node->safe_psql('postgres', q{CREATE EXTENSION segstore;
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[64]')});
for my $s (0 .. 3)
{
	$node->safe_psql('postgres',
		insert_sql($s * 10000, $s * 10000 + 9999) . q{; SELECT segstore.flush('c')});
}
my $dir = $node->data_dir . '/segstore/'
  . $node->safe_psql('postgres',
	q{SELECT (SELECT oid FROM pg_database WHERE datname = current_database()) || '/' ||
		collection_id FROM segstore.collection WHERE name = 'c'});

# Index files on disk, registered or not.
sub index_files
{
	return scalar grep { /\.index$/ } files_under($dir);
}

# Whether the session running create_index() waits for a lock.
my $waits = q{SELECT count(*) = 1 FROM pg_stat_activity
	WHERE query LIKE '%create_index%' AND wait_event_type = 'Lock'};

# Seal two more segments and hold the state lock: 5,000 rows, which can
# borrow the centroids of a larger segment, and 10,000, which cannot.
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; ' . insert_sql(40000, 44999) . q{; SELECT segstore.flush('c');}
	  . insert_sql(45000, 54999) . q{; SELECT segstore.flush('c')});

my $builder = $node->background_psql('postgres', on_error_stop => 0);
$builder->query_until(qr/started/, q{\echo started
SELECT segstore.create_index('c', 'v', 'IVF_FLAT', 'L2', '{"nlist": 64}');
});
ok(poll_true($node, 'postgres', $waits, 600), 'create_index() comes to wait for the state lock');
is(index_files(), 4, 'having written the index files of the four segments before it');

$holder->query_safe('COMMIT');
$builder->query(q{SELECT 'registered'});
like($builder->{stderr},
	qr/NOTICE:  1 segment of collection "c" sealed while its index was built is left to the maintenance worker/,
	'the segment that would need k-means under the lock is left, with a notice');
unlike($builder->{stderr}, qr/ERROR/, 'create_index() succeeded');
is($node->safe_psql('postgres',
		q{SELECT string_agg(num_rows || ' ' || index_state, ', ' ORDER BY segment_id)
		  FROM segstore.segments('c') WHERE state = 'flushed'}),
	'10000 IVF_FLAT, 10000 IVF_FLAT, 10000 IVF_FLAT, 10000 IVF_FLAT, 5000 IVF_FLAT, 10000 none',
	'the others have their file, the 5,000 rows with borrowed centroids');
is($node->safe_psql('postgres', q{SELECT segstore.build_index('c')}),
	'1', 'build_index() builds the one left');
is(index_files(), 6, 'one file per segment on disk');

# Two create_index() calls, both building while the state lock is held.
$node->safe_psql('postgres', q{SELECT segstore.drop_index('c', 'v')});
is(index_files(), 0, 'drop_index() removed the files');
$holder->query_safe(q{BEGIN; SELECT segstore.flush('c')});
my $second = $node->background_psql('postgres', on_error_stop => 0);
$builder->{stderr} = '';
for my $session ($builder, $second)
{
	$session->query_until(qr/started/, q{\echo started
SELECT segstore.create_index('c', 'v', 'IVF_FLAT', 'L2', '{"nlist": 64}');
});
}
$waits =~ s/count\(\*\) = 1/count(*) = 2/;
ok(poll_true($node, 'postgres', $waits, 600), 'both come to wait for the state lock');
is(index_files(), 12, 'each having written its files');
$holder->query_safe('COMMIT');
$builder->query(q{SELECT 'registered'});
$second->query(q{SELECT 'registered'});
my @errors = grep { /ERROR/ } ($builder->{stderr}, $second->{stderr});
is(scalar @errors, 1, 'one of them fails');
like($errors[0] // '', qr/ERROR:  collection "c" already has an index on field "v"/,
	'as a duplicate');
is(index_files(), 6, 'having removed its files');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM segstore.segments('c') WHERE index_state = 'IVF_FLAT'}),
	'6', 'the winner registered its files');
is($node->safe_psql('postgres', q{SELECT id FROM segstore.search('c',
	(SELECT array_agg(sin(47000 * 7 + d)::float4) FROM generate_series(1, 64) d), 1,
	'{"nprobe": 64}')}),
	'47000', 'search finds a row through the new index');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM segstore.binlog b WHERE NOT EXISTS
			(SELECT FROM pg_stat_file(b.path, true) f WHERE f.size > 0)}),
	'0', 'every registered file exists');

$holder->quit;
$builder->quit;
$second->quit;
ok(!$node->log_contains('TRAP|PANIC|server process .* was terminated'),
	'no crash in the log');
$node->stop;
done_testing();
