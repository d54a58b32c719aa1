
# Recall of IVF_FLAT on clustered data: 50,000 vectors of dim 128 around 64
# centres, nlist 128.  recall@10 at nprobe 10 must be at least 0.95 against
# exact search (nprobe = nlist, itself checked against a brute-force
# ORDER BY for a few queries).  The same after deleting a third of the
# rows and compacting, where the index is rebuilt for the new segment.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $ROWS = 50000;
my $QUERIES = 100;

my $node = PostgreSQL::Test::Cluster->new('recall');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'segstore'");
$node->start;

$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION segstore;
SELECT setseed(0.5);
CREATE TABLE centres AS
SELECT c, array_agg((random() * 2 - 1)::float4 ORDER BY d) AS v
FROM generate_series(0, 63) c, generate_series(1, 128) d GROUP BY c;
CREATE TABLE pts AS
SELECT i::int8 AS id, ARRAY(SELECT (x.v[d] + (random() - 0.5) * 0.4)::float4
							FROM generate_series(1, 128) d) AS v
FROM generate_series(0, $ROWS - 1) i JOIN centres x ON x.c = i % 64;
CREATE TABLE queries AS
SELECT q, ARRAY(SELECT (x.v[d] + (random() - 0.5) * 0.4)::float4
				FROM generate_series(1, 128) d) AS v
FROM generate_series(1, $QUERIES) q JOIN centres x ON x.c = (q * 7) % 64;
SELECT segstore.create_collection('r', 'id int8 PRIMARY KEY, vector float4[128]');
SELECT segstore.insert('r', array_agg(id ORDER BY id), array_agg(v ORDER BY id)) FROM pts;
SELECT segstore.create_index('r', 'vector', 'IVF_FLAT', 'L2', '{"nlist": 128}');
});
is($node->safe_psql('postgres', "SELECT string_agg(index_state, ',') FROM segstore.segments('r')"),
	'IVF_FLAT', 'one IVF_FLAT segment');

# nprobe = nlist is exact: compare with brute force over the heap table.
is( $node->safe_psql(
		'postgres', q{
SELECT bool_and(s.ids = b.ids) FROM queries qs,
	LATERAL (SELECT ARRAY(SELECT id FROM segstore.search('r', qs.v, 10, '{"nprobe": 128}'))) s(ids),
	LATERAL (SELECT ARRAY(SELECT p.id FROM pts p
						  ORDER BY (SELECT sum((x - y)::float8 ^ 2) FROM unnest(p.v, qs.v) u(x, y)), p.id
						  LIMIT 10)) b(ids)
WHERE qs.q <= 3}),
	't',
	'nprobe = nlist returns the brute-force top 10');

# Fraction of the exact top 10 that nprobe 10 finds.
sub recall
{
	return $node->safe_psql(
		'postgres', q{
SELECT round(avg(cardinality(ARRAY(SELECT unnest(a.ids) INTERSECT SELECT unnest(e.ids))) / 10.0), 4)
FROM queries qs,
	LATERAL (SELECT ARRAY(SELECT id FROM segstore.search('r', qs.v, 10, '{"nprobe": 10}'))) a(ids),
	LATERAL (SELECT ARRAY(SELECT id FROM segstore.search('r', qs.v, 10, '{"nprobe": 128}'))) e(ids)});
}

my $recall = recall();
diag("recall\@10 at nprobe 10: $recall");
cmp_ok($recall, '>=', 0.95, 'recall@10 at nprobe 10 is at least 0.95');

$node->safe_psql(
	'postgres', q{
SELECT segstore.delete('r', (SELECT array_agg(id) FROM pts WHERE id % 3 = 0));
SELECT segstore.flush('r');
});
my $cid = $node->safe_psql('postgres', "SELECT segstore.compact('r')");
is($node->safe_psql('postgres', "SELECT segstore.wait_for_compaction($cid)"),
	'Completed', 'compaction completed');
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(index_state || ' ' || num_rows, ',') FROM segstore.segments('r') WHERE state = 'flushed'"),
	'IVF_FLAT ' . ($ROWS - int(($ROWS + 2) / 3)),
	'the compacted segment has its own IVF_FLAT file');
$recall = recall();
diag("recall\@10 at nprobe 10 after compaction: $recall");
cmp_ok($recall, '>=', 0.95, 'recall@10 at nprobe 10 after compaction is at least 0.95');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM queries qs, segstore.search('r', qs.v, 10, '{"nprobe": 10}') s WHERE s.id % 3 = 0}),
	'0',
	'no deleted row is returned');

$node->stop;
done_testing();
