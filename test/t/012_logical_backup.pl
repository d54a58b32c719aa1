
# Logical backup between two clusters: segstore.dump() writes the SQL that
# rebuilds a collection, psql carries it to another cluster, and there
# every entity (key, vector, scalars), the index definition and the
# collection's settings are equal, and searches answer the same.  The
# restore is one transaction: the maintenance worker never sees a
# half-restored collection.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my @nodes;
for my $name ('src', 'dst')
{
	my $n = PostgreSQL::Test::Cluster->new($name);
	$n->init(extra => [ '--locale=C', '--encoding=UTF8' ]);
	$n->append_conf(
		'postgresql.conf', qq{
shared_preload_libraries = 'segstore'
segstore.compaction_interval = '1s'
segstore.insert_direct_threshold = 500
segstore.min_index_rows = 100
});
	$n->start;
	$n->safe_psql('postgres', 'CREATE EXTENSION segstore');
	push @nodes, $n;
}
my ($src, $dst) = @nodes;

# Every field type, values that test the spelling of floats and text.
$src->safe_psql(
	'postgres', q{
SELECT segstore.create_collection('docs',
	'id int8 PRIMARY KEY, emb float4[4], n4 int4, n8 int8, f4 float4, f8 float8, ok bool, body text, title varchar(20), meta jsonb',
	'a collection with every kind of field');
SELECT segstore.insert('docs',
	array_agg(i::int8 ORDER BY i),
	array_agg(ARRAY[i / 3.0, -i * 1e-7, 1e30, pi() * i]::float4[] ORDER BY i),
	array_agg((i * 7)::int4 ORDER BY i),
	array_agg((i::int8 * 100000000000) ORDER BY i),
	array_agg((1.0 / (i + 100))::float4 ORDER BY i),
	array_agg((i * 0.1)::float8 ORDER BY i),
	array_agg(i % 2 = 0 ORDER BY i),
	array_agg(E'line ' || i || E'\nquote '' and \\ backslash, comma' ORDER BY i),
	array_agg(left('title ' || i, 20) ORDER BY i),
	array_agg(jsonb_build_object('i', i, 'tags', jsonb_build_array('a', i)) ORDER BY i))
FROM generate_series(-20, 2480) i;
SELECT segstore.delete('docs', 'id in [-3, 7, 1000] or (id > 2000 and id < 2100)');
SELECT segstore.flush('docs');
SELECT segstore.create_index('docs', 'emb', 'IVF_FLAT', 'COSINE', '{"nlist": 16}');
SELECT segstore.alter_collection('docs', auto_compaction => false);
});

# The dump, as a user takes it: psql writes the statements to a file.
my $file = PostgreSQL::Test::Utils::tempdir() . '/docs.sql';
my ($out, $err) = ('', '');
IPC::Run::run([ 'psql', '-XAt', '-d', $src->connstr('postgres'),
		'-c', "SELECT segstore.dump('docs', 1000)" ], '>', $file, '2>', \$err)
  or die "dump failed: $err";
ok(-s $file, 'segstore.dump() wrote a script');

IPC::Run::run([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $dst->connstr('postgres'),
		'-f', $file ], '>', \$out, '2>', \$err)
  or die "restore failed: $err";
is($err, '', 'the script restores without an error');

# What must be equal on both sides.
sub state_of
{
	my ($node) = @_;
	return $node->safe_psql(
		'postgres', q{
SELECT name, fields, description, dim, auto_compaction FROM segstore.collections;
SELECT segstore.num_entities('docs');
SELECT md5(string_agg(e::text, E'\n' ORDER BY (e->>'id')::int8)) FROM segstore.query('docs', NULL) e;
SELECT field, index_type, metric_type, nlist FROM segstore.indexes;
SELECT string_agg(id || ':' || distance, ' ' ORDER BY distance, id)
FROM segstore.search('docs', ARRAY[1, 0, 0.5, 3]::float4[], 10, '{"nprobe": 16}');
});
}
is(state_of($dst), state_of($src),
	'every entity, vector, scalar, the index definition and the settings are equal');
is( $dst->safe_psql('postgres',
		"SELECT count(*) FROM segstore.segments('docs') WHERE state = 'flushed' AND index_state <> 'IVF_FLAT'"),
	'0', 'the restored segments have their index files');
is( $dst->safe_psql('postgres',
		"SELECT count(*) FROM segstore.segments('docs') WHERE state = 'growing' AND num_rows > 0"),
	'0', 'the restore flushed everything');

# A restored collection takes writes at once.
$dst->safe_psql('postgres',
	"SELECT segstore.delete('docs', 'id < 0'); SELECT segstore.flush('docs')");
is($dst->safe_psql('postgres', "SELECT segstore.num_entities('docs')"),
	$src->safe_psql('postgres', "SELECT segstore.num_entities('docs') - 19"),
	'the restored collection takes deletes');

# Errors.
my ($ret, $o, $e) = $src->psql('postgres', "SELECT segstore.dump('nope')");
like($e, qr/collection "nope" does not exist/, 'dump of an unknown collection fails');
($ret, $o, $e) = $src->psql('postgres', "SELECT segstore.dump('docs', 0)");
like($e, qr/batch_rows must be at least 1/, 'dump checks its batch size');

$src->stop;
$dst->stop;
done_testing();
