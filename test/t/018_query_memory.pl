
# query() keeps bounded memory on a large collection: with a limit at most
# the limit's rows (a heap of the smallest keys, sources read a chunk at a
# time), without one no more than work_mem per sort and result, the rest in
# temporary files.  Memory is the backend's own: the peak resident size
# (VmHWM of /proc/self/status, read by the backend that runs the queries)
# above its resident size before them.  Under AddressSanitizer, whose
# allocator keeps freed memory in quarantine, the resident size says
# nothing about the server's allocations: the memory checks are skipped
# there, the answers are still checked.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $asan = ($ENV{LD_PRELOAD} // '') =~ /libasan/;
my $rows = 1_200_000;
my $half = $rows / 2;

my $node = PostgreSQL::Test::Cluster->new('query_memory');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'segstore'
segstore.compaction_interval = '1d'
log_temp_files = 0
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION segstore');

# Two sealed segments whose keys interleave (even keys, then odd keys), a
# few growing rows among them, deletes in both kinds of source.
$node->safe_psql(
	'postgres', qq{
SELECT segstore.create_collection('big', 'id int8 PRIMARY KEY, v float4[2], t text');
SELECT segstore.insert('big', array_agg(i), array_agg(ARRAY[i, 1]::float4[]), array_agg('t' || i))
FROM generate_series(2, $rows, 2) i;
SELECT segstore.insert('big', array_agg(i), array_agg(ARRAY[i, 1]::float4[]), array_agg('t' || i))
FROM generate_series(1, $rows, 2) i;
SELECT segstore.insert('big', array_agg(i), array_agg(ARRAY[i, 1]::float4[]), array_agg('t' || i))
FROM generate_series($rows + 1, $rows + 100) i;
SELECT segstore.delete('big', 'id in [1, 2, 4, 1000001, $rows, ${\($rows + 50)}]');
SELECT segstore.create_collection('small', 'id int8 PRIMARY KEY, v float4[2], t text');
SELECT segstore.insert('small', array_agg(i), array_agg(ARRAY[i, 1]::float4[]), array_agg('t' || i))
FROM generate_series(1, 5000) i;
CREATE FUNCTION kb(field text) RETURNS int8 LANGUAGE sql AS
\$\$ SELECT (regexp_match(pg_read_file('/proc/self/status'), field || ':\\s+(\\d+)'))[1]::int8 \$\$;
});
is( $node->safe_psql('postgres',
		q{SELECT string_agg(state || ':' || num_rows, ',' ORDER BY state, segment_id) FROM segstore.segments('big')}),
	"flushed:$half,flushed:$half,growing:99",
	'two interleaved sealed segments and a growing one');

# The answers, checked in the server: order, count, the first and last keys.
my $live = $rows + 100 - 6;
is( $node->safe_psql(
		'postgres', q{
SELECT count(*), count(*) FILTER (WHERE id <= prev), min(id), max(id)
FROM (SELECT (q->>'id')::int8 AS id, lag((q->>'id')::int8) OVER (ORDER BY n) AS prev
	  FROM segstore.query('big', NULL, ARRAY['id'], NULL) WITH ORDINALITY AS x(q, n)) s}),
	"$live|0|3|" . ($rows + 100),
	'without a limit: every live row once, in key order, through overlapping sources');
is( $node->safe_psql('postgres',
		q{SELECT string_agg(q::text, ' ') FROM segstore.query('big', NULL, ARRAY['t'], 3) q}),
	'{"t": "t3", "id": 3} {"t": "t5", "id": 5} {"t": "t6", "id": 6}',
	'with a limit: the smallest live keys, deleted ones skipped');
is( $node->safe_psql('postgres',
		qq{SELECT string_agg(q->>'id', ',') FROM segstore.query('big', 'id > ${\($rows - 3)}', ARRAY['id'], 5) q}),
	join(',', $rows - 2, $rows - 1, $rows + 1, $rows + 2, $rows + 3),
	'with a limit: a range across sealed and growing rows');
is( $node->safe_psql('postgres',
		q{SELECT count(*), min((q->>'id')::int8) FROM segstore.query('big', 't like "t99999%"', NULL, 1000) q}),
	'11|99999',
	'with a limit larger than the matches: every match');

# Memory: one session runs everything, after a warm-up on a small
# collection that loads what any query loads (catalog caches, code).
my $out = $node->safe_psql(
	'postgres', q{
SET work_mem = '4MB';
SELECT count(*) FROM segstore.query('small', NULL, NULL, 5);
SELECT count(*) FROM segstore.query('small', NULL, NULL, NULL);
SELECT kb('VmRSS');
SELECT count(*) FROM segstore.query('big', NULL, NULL, 5);
SELECT count(*) FROM segstore.query('big', 'id > 600000', NULL, 10);
SELECT count(*) FROM segstore.query('big', 't like "t7%"', ARRAY['t', 'v'], 100);
SELECT kb('VmHWM');
SELECT count(*) FROM segstore.query('big', NULL, NULL, NULL);
SELECT kb('VmHWM');
});
my ($n1, $n2, $rss0, $c1, $c2, $c3, $hwm1, $c4, $hwm2) = split /\n/, $out;
is("$c1,$c2,$c3,$c4", "5,10,100,$live", 'the measured queries return what they should');
note "query() with a limit: peak " . ($hwm1 - $rss0) . " kB above the resident size before";
note "query() without a limit, work_mem 4MB: peak " . ($hwm2 - $rss0) . " kB above it";
SKIP:
{
	skip 'resident sizes mean nothing under AddressSanitizer', 2 if $asan;
	cmp_ok($hwm1 - $rss0, '<', 8 * 1024,
		"with a limit, $rows rows cost less than 8 MB");
	cmp_ok($hwm2 - $rss0, '<', 24 * 1024,
		"without a limit, $live rows of results cost less than 24 MB with work_mem 4MB");
}
like(slurp_file($node->logfile), qr/temporary file: path/,
	'the rows without a limit spilled to temporary files');

$node->stop;
done_testing();
