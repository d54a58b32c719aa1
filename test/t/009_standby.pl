
# A primary and a hot streaming standby.  After each kind of write on the
# primary (growing inserts, direct inserts, upserts, deletes, flushes, an
# index build, manual and automatic compactions, garbage collection, a
# drop) the standby, caught up to the same LSN, answers query(), search(),
# search_batch(), segments() and the views exactly as the primary does,
# and holds exactly the primary's files, byte for byte.  Writes on the standby fail with 25006 and no
# segstore worker runs there.  A standby transaction that holds an old
# segment while the primary compacts and collects garbage: with
# hot_standby_feedback the primary keeps the files until it ends; without
# it, replay cancels the transaction after max_standby_streaming_delay,
# never giving a wrong answer.  Time travel on the standby answers as on
# the primary or refuses.  Then promotion: writes, flush, compaction,
# an index and the maintenance worker work on the new primary at once.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use Digest::MD5;
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
segstore.min_index_rows = 100
max_worker_processes = 16
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION segstore');
$primary->backup('b');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->append_conf(
	'postgresql.conf', qq{
max_standby_streaming_delay = '2s'
hot_standby_feedback = off
});
$standby->start;

my $c = 'rep';

# Files below segstore/ with an MD5 of each, as one sorted text.
sub file_set
{
	my ($node) = @_;
	my $root = $node->data_dir;
	my @out;
	for my $f (files_under("$root/segstore"))
	{
		open(my $fh, '<', $f) or die "open $f: $!";
		binmode $fh;
		my $md5 = Digest::MD5->new->addfile($fh)->hexdigest;
		close $fh;
		(my $rel = $f) =~ s{^\Q$root\E/}{};
		push @out, "$rel $md5";
	}
	return join("\n", @out);
}

# Every live entity, and the answers of three searches, as one text.
sub answers
{
	my ($node, $coll) = @_;
	return $node->safe_psql(
		'postgres', qq{
SELECT segstore.num_entities('$coll');
SELECT coalesce(string_agg(e::text, ' ' ORDER BY (e->>'id')::int8), '')
FROM segstore.query('$coll', 'id >= 0') e;
SELECT q, string_agg(id || ':' || distance, ' ' ORDER BY distance, id)
FROM generate_series(0, 2) q,
	 segstore.search('$coll', ARRAY[q * 50, q, 1, 2, 3, 4, 5, 6]::float4[], 5,
					 '{"nprobe": 4}')
GROUP BY q ORDER BY q;
SELECT string_agg(segment_id || ' ' || state || ' ' || num_rows || ' ' || deleted_rows, ', '
				  ORDER BY segment_id)
FROM segstore.segments('$coll');
SELECT string_agg(query_no || ':' || id || ':' || distance, ' ' ORDER BY query_no, distance, id)
FROM segstore.search_batch('$coll', ARRAY[[1, 1, 1, 1, 1, 1, 1, 1], [50, 3, 1, 2, 3, 4, 5, 6]]::float4[], 3);
SELECT string_agg(name || ' ' || fields, '; ' ORDER BY name) FROM segstore.collections;
SELECT string_agg(field || ' ' || index_type, '; ') FROM segstore.indexes;
SELECT string_agg(compaction_id || ' ' || trigger || ' ' || state || ' ' || plans, '; ' ORDER BY compaction_id)
FROM segstore.compactions;
});
}

# Wait for the primary's compaction workers to exit (each collects garbage
# after its plans, so a collection can change after wait_for_compaction()
# returns), catch up, then compare answers and files.
sub check_same
{
	my ($what) = @_;
	$primary->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'segstore compaction worker'")
	  or die "$what: a compaction worker still runs on the primary";
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
	my $p = answers($primary, $c);
	is(answers($standby, $c), $p, "$what: the standby answers as the primary");
	is(file_set($standby), file_set($primary), "$what: the standby has the primary's files");
	return $p;
}

# Collect garbage until no compacted segment is left (the compaction
# worker collects too, right after its plans; either may get there first).
sub collected
{
	return $primary->poll_query_until('postgres',
		"SELECT (SELECT removed_files FROM segstore.gc()) >= 0 AND NOT EXISTS "
		  . "(SELECT 1 FROM segstore.segments('$c') WHERE state = 'compacted')");
}

sub insert_sql
{
	my ($coll, $lo, $hi) = @_;
	return qq{SELECT segstore.insert('$coll', array_agg(i::int8 ORDER BY i),
	array_agg(ARRAY[i, i % 7, 1, 2, 3, 4, 5, 6]::float4[] ORDER BY i),
	array_agg('t' || i ORDER BY i))
FROM generate_series($lo, $hi - 1) i};
}

$primary->safe_psql('postgres',
	"SELECT segstore.create_collection('$c', 'id int8 PRIMARY KEY, v float4[8], note text')");
$primary->safe_psql('postgres', insert_sql($c, 0, 50));
check_same('growing insert');
$primary->safe_psql('postgres', insert_sql($c, 50, 650));
check_same('direct insert');
$primary->safe_psql('postgres', "SELECT segstore.flush('$c')");
check_same('flush');
$primary->safe_psql('postgres', insert_sql($c, 650, 1300));
$primary->safe_psql('postgres', "SELECT segstore.delete('$c', 'id < 100 or id in [700, 701]')");
$primary->safe_psql('postgres', "SELECT segstore.flush('$c')");
check_same('delete and flush');
$primary->safe_psql('postgres', qq{SELECT segstore.upsert('$c', ARRAY[5, 200, 2000]::int8[],
	ARRAY[[9,9,9,9,9,9,9,9],[8,8,8,8,8,8,8,8],[7,7,7,7,7,7,7,7]]::float4[], ARRAY['u5','u200','u2000'])});
check_same('upsert');
$primary->safe_psql('postgres',
	"SELECT segstore.create_index('$c', 'v', 'IVF_FLAT', 'L2', '{\"nlist\": 8}')");
check_same('index build');

# Writes on the standby are refused as any write there is; reads answer.
for my $call ("segstore.insert('$c', ARRAY[9999]::int8[], ARRAY[[1,1,1,1,1,1,1,1]]::float4[], ARRAY['x'])",
	"segstore.delete('$c', 'id == 300')", "segstore.flush('$c')",
	"segstore.compact('$c')", "segstore.gc()",
	"segstore.create_index('$c', 'v', 'FLAT')")
{
	is( $standby->safe_psql(
			'postgres', qq{DO \$\$ BEGIN PERFORM $call;
EXCEPTION WHEN read_only_sql_transaction THEN RAISE NOTICE '25006 %', SQLERRM; END \$\$;
SELECT 'done'}),
		'done', "standby: $call ends");
	my ($ret, $out, $err) = $standby->psql('postgres', "SELECT $call");
	like($err, qr/cannot write segstore data during recovery/,
		"standby: $call fails with a clear error");
}
is( $standby->safe_psql(
		'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'segstore%'"),
	'0', 'no segstore worker runs on the standby');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM segstore.worker_status'),
	'0', 'the standby has no maintenance worker');
is( $standby->safe_psql('postgres',
		"SELECT count(*) FROM segstore.binlogs('$c') b, segstore.collection_stats('$c') s"),
	$primary->safe_psql('postgres',
		"SELECT count(*) FROM segstore.binlogs('$c') b, segstore.collection_stats('$c') s"),
	'binlogs() and collection_stats() answer on the standby');

# Manual compaction, then garbage collection of the sources.
my $id = $primary->safe_psql('postgres', "SELECT segstore.compact('$c')");
is($primary->safe_psql('postgres', "SELECT segstore.wait_for_compaction($id)"),
	'Completed', 'manual compaction completed');
check_same('manual compaction');
is($standby->safe_psql('postgres', "SELECT state FROM segstore.compaction_state($id)"),
	'Completed', 'compaction_state answers on the standby');
ok(collected(), 'the sources of the manual compaction are collected');
check_same('garbage collection');

# Automatic compaction: the trigger rules, as the worker applies them.
$primary->safe_psql('postgres', "SELECT segstore.delete('$c', 'id >= 1000')");
$primary->safe_psql('postgres', "SELECT segstore.flush('$c')");
$id = $primary->safe_psql('postgres', "SELECT segstore.trigger_compaction('$c')");
isnt($id, '', 'an automatic rule fired');
is($primary->safe_psql('postgres', "SELECT segstore.wait_for_compaction($id)"),
	'Completed', 'automatic compaction completed');
ok(collected(), 'the sources of the automatic compaction are collected');
check_same('automatic compaction and gc');

# A standby transaction holding old segments while the primary compacts and
# collects garbage.  Without hot_standby_feedback the primary removes the
# files; replay waits max_standby_streaming_delay, then cancels the
# standby's transaction: an error, never a wrong answer.
my $before = answers($standby, $c);
my $reader = $standby->background_psql('postgres', on_error_stop => 0);
$reader->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
is($reader->query_safe("SELECT segstore.num_entities('$c')"),
	$primary->safe_psql('postgres', "SELECT segstore.num_entities('$c')"),
	'a standby transaction reads the collection');
$primary->safe_psql('postgres', insert_sql($c, 5000, 5300));
$id = $primary->safe_psql('postgres', "SELECT segstore.compact('$c', \"full\" => true)");
$primary->safe_psql('postgres', "SELECT segstore.wait_for_compaction($id)");
ok(collected(), 'without feedback, the primary removes the compacted files');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
# Idle in its transaction, the reader is cancelled or, as PostgreSQL does
# for a session idle in a transaction, terminated.
my $res = eval { $reader->query("SELECT count(*) FROM segstore.query('$c', 'id >= 0')") };
my $why = ($@ // '') . ($reader->{stderr} // '');
like($why, qr/conflict with recovery|psql|server closed/,
	'replay cancelled the standby transaction that could still need them')
  or diag("got: " . ($res // 'undef'));
eval { $reader->quit };
check_same('full compaction after a conflict');

# With hot_standby_feedback the primary keeps them while the standby reads.
$standby->append_conf('postgresql.conf', 'hot_standby_feedback = on');
$standby->reload;
$primary->poll_query_until('postgres',
	"SELECT backend_xmin IS NOT NULL FROM pg_stat_replication")
  or die 'no feedback';
$reader = $standby->background_psql('postgres');
$reader->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$before = $reader->query_safe(
	"SELECT string_agg(e::text, ' ' ORDER BY (e->>'id')::int8) FROM segstore.query('$c', 'id >= 0') e");
$primary->poll_query_until('postgres',
	"SELECT backend_xmin IS NOT NULL FROM pg_stat_replication")
  or die 'no feedback';
$primary->safe_psql('postgres', "SELECT segstore.delete('$c', 'id < 300')");
$primary->safe_psql('postgres', "SELECT segstore.flush('$c')");
$id = $primary->safe_psql('postgres', "SELECT segstore.compact('$c')");
$primary->safe_psql('postgres', "SELECT segstore.wait_for_compaction($id)");
$primary->safe_psql('postgres', 'SELECT segstore.gc()');
ok( $primary->safe_psql('postgres',
		"SELECT count(*) FROM segstore.segments('$c') WHERE state = 'compacted'") > 0,
	'with feedback, the primary keeps the compacted segments the standby may read');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is( $reader->query_safe(
		"SELECT string_agg(e::text, ' ' ORDER BY (e->>'id')::int8) FROM segstore.query('$c', 'id >= 0') e"),
	$before, 'with feedback, the standby transaction reads its old segments to the end');
$reader->query_safe('COMMIT');
$reader->quit;
ok(collected(), 'once the standby transaction ends, the primary collects them');
check_same('gc once the standby transaction ended');

# A dropped collection's files go on the standby too.
$primary->safe_psql('postgres',
	"SELECT segstore.create_collection('gone', 'id int8 PRIMARY KEY, v float4[8], note text')");
$primary->safe_psql('postgres', insert_sql('gone', 0, 300));
$primary->safe_psql('postgres', "SELECT segstore.drop_collection('gone')");
check_same('drop_collection');

# Time travel on the standby answers as the primary does, or refuses: a
# time a primary writer in progress may still write at, or that the
# standby has not replayed (the launcher logs the primary's clock every
# second while the WAL advances).
$primary->safe_psql(
	'postgres', q{
SELECT segstore.create_collection('tt', 'id int8 PRIMARY KEY, v float4[2]');
SELECT segstore.alter_collection('tt', retention => '1h');
SELECT segstore.insert('tt', ARRAY[1, 2]::int8[], ARRAY[[1, 1], [2, 2]]::float4[]);
CREATE FUNCTION tt_as_of(t timestamptz) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN COALESCE((SELECT string_agg(id::text, ',' ORDER BY id)
					 FROM segstore.search('tt', '{0,0}', 10, as_of => t)), 'none');
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '^as_of .* is', 'as_of … is');
END $$;
});
my $t1 = $primary->safe_psql('postgres', 'SELECT clock_timestamp()');
$primary->safe_psql('postgres', "SELECT segstore.delete('tt', ARRAY[1]::int8[])");
my $writer = $primary->background_psql('postgres');
$writer->query_safe(q{BEGIN; SELECT segstore.insert('tt', ARRAY[3]::int8[], ARRAY[[3, 3]]::float4[])});
my $t2 = $primary->safe_psql('postgres', 'SELECT clock_timestamp()');
like($standby->safe_psql('postgres', "SELECT tt_as_of('$t2'::timestamptz + interval '1 h')"),
	qr/^55000: as_of … is too recent for this standby/, 'the standby refuses a time it has not replayed');
ok($standby->poll_query_until('postgres', "SELECT tt_as_of('$t1') NOT LIKE '55000%'"),
	'the standby answers as of a time once it has replayed past it');
is($standby->safe_psql('postgres', "SELECT tt_as_of('$t1')"),
	$primary->safe_psql('postgres', "SELECT tt_as_of('$t1')"), 'as the primary does');
ok($standby->poll_query_until('postgres',
		"SELECT tt_as_of('$t2') LIKE '%too recent for collection%'"),
	'a primary writer in progress before as_of makes the standby refuse');
like($primary->safe_psql('postgres', "SELECT tt_as_of('$t2')"),
	qr/too recent for collection "tt"/, 'as it makes the primary refuse');
$writer->query_safe('COMMIT');
$writer->quit;
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is($primary->safe_psql('postgres', "SELECT tt_as_of('$t2')"), '2,3',
	'once it commits, the primary answers with its row');
is($standby->safe_psql('postgres', "SELECT tt_as_of('$t2')"), '2,3', 'and so does the standby');
$primary->safe_psql('postgres', "SELECT segstore.drop_collection('tt'); DROP FUNCTION tt_as_of");

# Promotion: every committed row is there and writes work at once.
my $final = check_same('before promotion');
$standby->promote;
is(answers($standby, $c), $final, 'the promoted standby answers as the old primary did');
$standby->safe_psql('postgres', insert_sql($c, 10000, 10400));
$standby->safe_psql('postgres', "SELECT segstore.delete('$c', 'id in [10000, 10001]')");
$standby->safe_psql('postgres', "SELECT segstore.flush('$c')");
$id = $standby->safe_psql('postgres', "SELECT segstore.compact('$c', \"full\" => true)");
is($standby->safe_psql('postgres', "SELECT segstore.wait_for_compaction($id)"),
	'Completed', 'compaction on the promoted standby');
$standby->safe_psql('postgres', 'SELECT segstore.gc()');
is($standby->safe_psql('postgres', "SELECT segstore.num_entities('$c')"),
	$primary->safe_psql('postgres', "SELECT segstore.num_entities('$c')") + 398,
	'the new primary counts its writes');
is( $standby->safe_psql('postgres',
		"SELECT count(*) FROM segstore.segments('$c') WHERE index_state = 'IVF_FLAT'"),
	$standby->safe_psql('postgres',
		"SELECT count(*) FROM segstore.segments('$c') WHERE state = 'flushed'"),
	'its new segments have their index files');
ok( $standby->poll_query_until(
		'postgres', "SELECT count(*) > 0 FROM segstore.worker_status WHERE pid IS NOT NULL"),
	'the maintenance worker runs on the promoted standby');

$standby->stop;
$primary->stop;
done_testing();
