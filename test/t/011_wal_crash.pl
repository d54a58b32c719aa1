
# Immediate stops (no shutdown checkpoint, processes killed) while files
# are being written and WAL-logged: on the primary during direct inserts,
# flushes and a compaction, and on the standby while it replays them.
# After each restart nothing committed is lost, every referenced file is
# whole, nothing half-installed is read, and after gc() the files are
# exactly those the catalog references, on both nodes alike.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SegstoreTest qw(files_under);

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1, extra => [ '--locale=C', '--encoding=UTF8' ]);
$primary->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'segstore'
segstore.compaction_interval = '1d'
segstore.insert_direct_threshold = 200
max_worker_processes = 16
});
$primary->start;
$primary->safe_psql(
	'postgres', q{
CREATE EXTENSION segstore;
CREATE TABLE committed (lo int8, hi int8);
SELECT segstore.create_collection('w', 'id int8 PRIMARY KEY, v float4[32]');
});
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;

# Insert [lo, hi) and note it in the same transaction.
sub insert_sql
{
	my ($lo, $hi) = @_;
	return qq{BEGIN;
SELECT segstore.insert('w', array_agg(i::int8 ORDER BY i),
	array_agg(array_fill((i % 13)::float4, ARRAY[32]) ORDER BY i))
FROM generate_series($lo, $hi - 1) i;
INSERT INTO committed VALUES ($lo, $hi);
COMMIT;
};
}

# Each committed batch is there, nothing else, every row reads, and after
# gc() the files are the referenced ones.
sub check_node
{
	my ($n, $what) = @_;
	is( $n->safe_psql('postgres',
			"SELECT segstore.num_entities('w') = coalesce(sum(hi - lo), 0) FROM committed"),
		't', "$what: every committed row and nothing else");
	is( $n->safe_psql('postgres',
			"SELECT count(*) = (SELECT coalesce(sum(hi - lo), 0) FROM committed) "
			  . "FROM segstore.query('w', 'id >= 0')"),
		't', "$what: every row reads from whole files");
}

sub check_files
{
	my ($n, $what) = @_;
	my $root = $n->data_dir;
	my @files = map { s{^\Q$root\E/}{}r } files_under("$root/segstore");
	is(join(',', sort @files),
		$n->safe_psql('postgres',
			"SELECT coalesce(string_agg(path, ',' ORDER BY path), '') FROM segstore.binlogs('w')"),
		"$what: exactly the referenced files");
}

# Writes running in the background on the primary: batches, flushes and a
# compaction in between.
sub start_writes
{
	my ($from) = @_;
	my $h = $primary->background_psql('postgres', on_error_stop => 0);
	$h->query_until(qr/started/, "\\echo started\n"
		  . join('', map {
				insert_sql($from + $_ * 500, $from + $_ * 500 + 500)
				  . ($_ == 5 ? "SELECT segstore.compact('w', \"full\" => true);\n" : '')
				  . "SELECT segstore.flush('w');\n" } 0 .. 39));
	return $h;
}

# 1. The primary stops at once mid-way through the writes.
my $h = start_writes(0);
$primary->poll_query_until('postgres', 'SELECT count(*) >= 8 FROM committed') or die;
$primary->stop('immediate');
eval { $h->quit };
$primary->start;
check_node($primary, 'primary after an immediate stop');
$primary->poll_query_until('postgres',
	"SELECT (SELECT removed_files FROM segstore.gc()) >= 0 AND NOT EXISTS "
	  . "(SELECT 1 FROM segstore.segments('w') WHERE state = 'compacted') "
	  . "AND NOT EXISTS (SELECT 1 FROM segstore.compactions WHERE state = 'Executing')")
  or die 'no quiet state';
$primary->safe_psql('postgres', 'SELECT segstore.gc()');
check_files($primary, 'primary after gc()');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('flush'));
check_node($standby, 'standby after the primary restarted');
check_files($standby, 'standby after the primary restarted');

# 2. The standby stops at once while it replays the writes.
$h = start_writes(100000);
$standby->poll_query_until('postgres', 'SELECT count(*) >= 8 FROM committed WHERE lo >= 100000')
  or die;
$standby->stop('immediate');
$standby->start;
$h->query_until(qr/done/, "\\echo done\n");
$h->quit;
$primary->poll_query_until('postgres',
	"SELECT (SELECT removed_files FROM segstore.gc()) >= 0 AND NOT EXISTS "
	  . "(SELECT 1 FROM segstore.segments('w') WHERE state = 'compacted') "
	  . "AND NOT EXISTS (SELECT 1 FROM segstore.compactions WHERE state = 'Executing')")
  or die 'no quiet state';
$primary->safe_psql('postgres', 'SELECT segstore.gc()');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('flush'));
check_node($primary, 'primary after the standby stopped');
check_node($standby, 'standby restarted during replay');
check_files($primary, 'primary');
check_files($standby, 'standby restarted during replay');

$standby->stop;
$primary->stop;
done_testing();
