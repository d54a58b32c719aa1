
# Files of a dropped database go with it: at once when segstore is preloaded
# (utility hook), and at the next gc() in any database otherwise.  A binlog
# that has gone missing is reported, not mistaken for an empty segment.
# CREATE DATABASE ... TEMPLATE of a database with segstore files is
# refused; a copy made while segstore was not loaded shares its template's
# catalog paths, and nothing in it removes or changes the template's files.
# Without preloading, every write fails with an error that says so.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use SegstoreTest qw(files_under);

my $node = PostgreSQL::Test::Cluster->new('dropdb');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'segstore'");
$node->start;

# Create database $db with one collection of 50 rows in a sealed segment;
# returns its segstore directory.
sub make_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql(
		$db, q{
CREATE EXTENSION segstore;
SET segstore.insert_direct_threshold = 10;
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[2]');
SELECT segstore.insert('c', array_agg(i::int8), array_agg(ARRAY[i, i]::float4[]))
FROM generate_series(1, 50) i;
});
	my $oid = $node->safe_psql('postgres',
		"SELECT oid FROM pg_database WHERE datname = '$db'");
	return $node->data_dir . "/segstore/$oid";
}

# Database tmpl with a collection, copied as copy1 while segstore is not
# loaded (the server runs without preloading); returns tmpl's directory.
sub make_db_unloaded_copy
{
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'segstore'");
	$node->restart;
	my $d = make_db('tmpl');
	$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
	$node->restart;
	$node->safe_psql('postgres', 'CREATE DATABASE copy1 TEMPLATE tmpl');
	return $d;
}

my $dir = make_db('db1');
ok(-d $dir, 'a database with a collection has a segstore directory');
$node->safe_psql('postgres', 'DROP DATABASE db1');
ok(!-e $dir, 'DROP DATABASE removes it when segstore is preloaded');

# Without preloading, the dropping session runs no segstore code, and
# segstore refuses to write.
$dir = make_db('db2');
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->restart;
my ($ret, $stdout, $stderr) = $node->psql('db2', "SELECT segstore.flush('c')");
like($stderr, qr/segstore must be loaded via shared_preload_libraries to write/,
	'without preloading, a write fails and says why');
is($node->safe_psql('db2', "SELECT segstore.num_entities('c')"), '50',
	'without preloading, reads still answer');
$node->safe_psql('postgres', 'DROP DATABASE db2');
ok(-d $dir, 'without preloading the directory outlives DROP DATABASE');

# A copy made while segstore was not loaded shares the template's paths.
my $tdir = make_db_unloaded_copy();
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'segstore'");
$node->restart;
$node->safe_psql('postgres', 'CREATE EXTENSION segstore');
is($node->safe_psql('postgres', 'SELECT removed_files FROM segstore.gc()'),
	'2', 'gc() in another database removes the dropped database\'s files');
ok(!-e $dir, 'and its directory');

# CREATE DATABASE from a template with segstore files is refused.
($ret, $stdout, $stderr) = $node->psql('postgres', 'CREATE DATABASE copy2 TEMPLATE tmpl');
like($stderr, qr/cannot copy database "tmpl" because it holds segstore collections/,
	'CREATE DATABASE ... TEMPLATE of a database with collections is refused');
$node->safe_psql('postgres', 'CREATE DATABASE empty_ext');
$node->safe_psql('empty_ext', 'CREATE EXTENSION segstore');
$node->safe_psql('postgres', 'CREATE DATABASE copy3 TEMPLATE empty_ext');
is($node->safe_psql('copy3', "SELECT extversion FROM pg_extension WHERE extname = 'segstore'"),
	'0.2', 'a template with the extension but no files can be copied');

# In the unloaded copy, compaction, gc() and a drop leave the template's
# files alone; the template still answers.
my @before = files_under($tdir);
my $id = $node->safe_psql('copy1', "SELECT segstore.compact('c', \"full\" => true)");
is($node->safe_psql('copy1', "SELECT segstore.wait_for_compaction($id)"),
	'Completed', 'the copy compacts its collection into files of its own');
$node->poll_query_until('copy1',
	"SELECT (SELECT removed_files FROM segstore.gc()) >= 0 AND "
	  . "NOT EXISTS (SELECT 1 FROM segstore.segments('c') WHERE state = 'compacted') "
	  . "FROM (SELECT set_config('client_min_messages', 'error', false)) quiet")
  or die 'compacted segments never collected';
$node->safe_psql('copy1', "SELECT segstore.drop_collection('c')");
is(join(',', files_under($tdir)), join(',', @before),
	'gc() and drop_collection in the copy left the template\'s files untouched');
is($node->safe_psql('tmpl', "SELECT count(*) FROM segstore.query('c', 'id > 0')"),
	'50', 'the template still reads all its rows');
$node->safe_psql('postgres', 'DROP DATABASE copy1');
is(join(',', files_under($tdir)), join(',', @before),
	'dropping the copy left the template\'s files untouched');
$node->safe_psql('tmpl', "SELECT segstore.drop_collection('c')");
ok(!grep({ -f $_ } @before), 'the template removes its own files');

# A missing binlog is an error naming the file.
$dir = make_db('db3');
my $path = $node->safe_psql('db3',
	"SELECT path FROM segstore.binlogs('c') WHERE kind = 'insert'");
unlink($node->data_dir . "/$path") or die "unlink: $!";
($ret, $stdout, $stderr) =
  $node->psql('db3', "SELECT count(*) FROM segstore.query('c', 'id > 0')");
isnt($ret, 0, 'query over a missing binlog fails');
like($stderr, qr/could not open segstore file "\Q$path\E"/,
	'and names the missing file');

$node->stop;
done_testing();
