
# Backups.  Point-in-time recovery from a base backup and archived WAL to a
# time between two commits gives exactly the collection as of that time,
# files included.  pg_basebackup taken while direct inserts, flushes and a
# compaction run restores to a consistent collection: every committed row,
# every referenced file present and whole, and after gc() no file that the
# catalog does not reference.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SegstoreTest qw(files_under);

my $node = PostgreSQL::Test::Cluster->new('primary');
$node->init(has_archiving => 1, allows_streaming => 1,
	extra => [ '--locale=C', '--encoding=UTF8' ]);
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'segstore'
segstore.compaction_interval = '1d'
segstore.insert_direct_threshold = 200
max_worker_processes = 16
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION segstore;
SELECT segstore.create_collection('b', 'id int8 PRIMARY KEY, v float4[16], note text');
});

sub insert_sql
{
	my ($lo, $hi) = @_;
	return qq{SELECT segstore.insert('b', array_agg(i::int8 ORDER BY i),
	array_agg(array_fill((i % 97)::float4, ARRAY[16]) ORDER BY i),
	array_agg(repeat('n', i % 50) ORDER BY i))
FROM generate_series($lo, $hi - 1) i};
}

# What a restored node holds: its entities, and whether its files are
# exactly those the catalog references once gc() has run.
sub check_restored
{
	my ($n, $what, $expect_rows) = @_;
	is($n->safe_psql('postgres', "SELECT segstore.num_entities('b')"),
		$expect_rows, "$what: the committed rows");
	is( $n->safe_psql('postgres',
			"SELECT count(*) FROM segstore.query('b', 'id >= 0')"),
		$expect_rows, "$what: every row reads from its files");
	$n->safe_psql('postgres', 'SELECT segstore.gc()');
	my $root = $n->data_dir;
	my @files = map { s{^\Q$root\E/}{}r } files_under("$root/segstore");
	my $refs = $n->safe_psql('postgres',
		"SELECT string_agg(path, ',' ORDER BY path) FROM segstore.binlogs('b')");
	is(join(',', sort @files), $refs // '',
		"$what: after gc(), exactly the referenced files, none half-installed");
}

# PITR: a base backup, then commits on either side of a recorded time.
$node->safe_psql('postgres', insert_sql(0, 1000));
$node->backup('base');
$node->safe_psql('postgres', insert_sql(1000, 1500));
$node->safe_psql('postgres', "SELECT segstore.delete('b', 'id < 100'); SELECT segstore.flush('b')");
sleep 1;
my $target = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
sleep 1;
$node->safe_psql('postgres', insert_sql(1500, 2500));
my $id = $node->safe_psql('postgres', "SELECT segstore.compact('b', \"full\" => true)");
$node->safe_psql('postgres', "SELECT segstore.wait_for_compaction($id)");
$node->poll_query_until('postgres',
	"SELECT (SELECT removed_files FROM segstore.gc()) >= 0 AND NOT EXISTS "
	  . "(SELECT 1 FROM segstore.segments('b') WHERE state = 'compacted')")
  or die 'no gc';
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
$node->poll_query_until('postgres',
	"SELECT last_archived_wal >= pg_walfile_name(pg_current_wal_lsn() - 1) FROM pg_stat_archiver")
  or die 'WAL not archived';

my $pitr = PostgreSQL::Test::Cluster->new('pitr');
$pitr->init_from_backup($node, 'base', has_restoring => 1);
$pitr->append_conf('postgresql.conf', qq{
recovery_target_time = '$target'
recovery_target_action = 'promote'
});
$pitr->start;
$pitr->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die 'no promotion';
check_restored($pitr, 'PITR between two commits', 1400);
is($pitr->safe_psql('postgres',
		"SELECT min((e->>'id')::int8) || '-' || max((e->>'id')::int8) FROM segstore.query('b', NULL) e"),
	'100-1499', 'PITR: the collection as of the target time, not after it');
$pitr->stop;

# pg_basebackup while direct inserts, flushes and a full compaction run.
$node->safe_psql('postgres',
	"SELECT segstore.delete('b', (SELECT array_agg(i::int8) FROM generate_series(0, 2499, 3) i)); "
	  . "SELECT segstore.flush('b')");
my $base_rows = $node->safe_psql('postgres', "SELECT segstore.num_entities('b')");
my $writer = $node->background_psql('postgres');
$writer->query_until(qr/started/, q{
\echo started
SELECT segstore.compact('b', "full" => true) AS cid \gset
} . join('', map { insert_sql(10000 + $_ * 400, 10400 + $_ * 400) . ";\nSELECT segstore.flush('b');\n" } 0 .. 19)
 . q{SELECT segstore.wait_for_compaction(:cid);
\echo finished
});
$node->backup('during');
$writer->query_until(qr/finished/, '');
$writer->quit;
my $restored = PostgreSQL::Test::Cluster->new('restored');
$restored->init_from_backup($node, 'during');
$restored->start;
my $rows = $restored->safe_psql('postgres', "SELECT segstore.num_entities('b')");
ok($rows >= $base_rows && ($rows - $base_rows) % 400 == 0,
	"the backup holds the rows of whole inserts only ($rows)");
check_restored($restored, 'pg_basebackup during writes and a compaction', $rows);
my $cid = $restored->safe_psql('postgres',
	"SELECT max(compaction_id) FROM segstore.compactions");
# A compaction the backup caught running finishes, or fails cleanly, there.
$restored->poll_query_until('postgres',
	"SELECT state <> 'Executing' FROM segstore.compaction_state($cid)")
  or die 'compaction never settled';
check_restored($restored, 'after the caught compaction settled', $rows);
$restored->stop;
$node->stop;
done_testing();
