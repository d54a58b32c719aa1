
# Files of a dropped database go with it: at once when segstore is preloaded
# (utility hook), and at the next gc() in any database otherwise.  A binlog
# that has gone missing is reported, not mistaken for an empty segment.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

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

my $dir = make_db('db1');
ok(-d $dir, 'a database with a collection has a segstore directory');
$node->safe_psql('postgres', 'DROP DATABASE db1');
ok(!-e $dir, 'DROP DATABASE removes it when segstore is preloaded');

# Without preloading, the dropping session runs no segstore code.
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->restart;
$dir = make_db('db2');
$node->safe_psql('postgres', 'DROP DATABASE db2');
ok(-d $dir, 'without preloading the directory outlives DROP DATABASE');
$node->safe_psql('postgres', 'CREATE EXTENSION segstore');
is($node->safe_psql('postgres', 'SELECT removed_files FROM segstore.gc()'),
	'2', 'gc() in another database removes the dropped database\'s files');
ok(!-e $dir, 'and its directory');

# A missing binlog is an error naming the file.
$dir = make_db('db3');
my $path = $node->safe_psql('db3',
	"SELECT path FROM segstore.binlogs('c') WHERE kind = 'insert'");
unlink($node->data_dir . "/$path") or die "unlink: $!";
my ($ret, $stdout, $stderr) =
  $node->psql('db3', "SELECT count(*) FROM segstore.query('c', 'id > 0')");
isnt($ret, 0, 'query over a missing binlog fails');
like($stderr, qr/could not open segstore file "\Q$path\E"/,
	'and names the missing file');

$node->stop;
done_testing();
