
# Concurrent writers of one collection, differentially: four pgbench
# clients upsert, delete and insert random keys of one collection, all
# clients the same keys, so that they meet on keys and wait for each other,
# while the maintenance worker seals idle growing rows, writes pending
# deletes out and compacts every second, writers pass the growing limit
# and seal, and some transactions flush, compact or insert batches large
# enough to go straight into a segment.  Each transaction makes the same
# change to the collection and to a heap table, segstore first, so that
# whatever commits commits in both, in the same order per key (a writer
# holds a key's lock before it touches the key's heap row).  After every
# round, and after a flush and a compaction between rounds, both must hold
# exactly the same rows (ids, vectors, text), num_entities the heap's
# count, and exact searches (IVF_FLAT at nprobe = nlist) the heap's top 10.
# Half the upserts run in REPEATABLE READ.  Deadlocks between transactions
# of several keys, and serialization failures of REPEATABLE READ upserts
# (of the heap row, or of a key a seal moved since the snapshot), are
# expected and retried by pgbench (--max-tries); any other error fails
# the test.  (Deletes stay READ COMMITTED: a REPEATABLE READ delete in
# segstore deletes a key committed after its snapshot, which the heap's
# DELETE would not see.)
#
#   SEGSTORE_SEED=n           repeat a run's random choices (printed)
#   SEGSTORE_CW_ROUNDS=n      rounds (default 5)
#   SEGSTORE_CW_SECONDS=n     seconds per round (default 5)
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $seed = $ENV{SEGSTORE_SEED} // int(rand(2**31));
my $rounds = $ENV{SEGSTORE_CW_ROUNDS} // 5;
my $seconds = $ENV{SEGSTORE_CW_SECONDS} // 5;
my $clients = 4;
my $keys = 1500;     # the shared key space, [1, $keys]
my $direct = 50;     # segstore.insert_direct_threshold
diag("random seed $seed (SEGSTORE_SEED=$seed repeats this run's choices)");

my $node = PostgreSQL::Test::Cluster->new('concurrent_writers');
$node->init(extra => [ '--locale=C', '--encoding=UTF8' ]);
# The worker seals, writes pending deletes out and compacts every second;
# the growing limit is the floor, so that writers seal too.
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'segstore'
segstore.compaction_interval = 1
segstore.seal_idle_time = 1
segstore.pending_delete_threshold = 20
segstore.merge_min_segments = 3
segstore.insert_direct_threshold = $direct
segstore.growing_max_size = '64kB'
segstore.min_index_rows = 64
deadlock_timeout = '50ms'
max_connections = 40
});
$node->start;
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION segstore;
SELECT segstore.create_collection('cw', 'id int8 PRIMARY KEY, v float4[4], t text');
SELECT segstore.create_index('cw', 'v', 'IVF_FLAT', 'L2', '{"nlist": 4}');
CREATE TABLE ref (id int8 PRIMARY KEY, v float4[] NOT NULL, t text NOT NULL);
CREATE TYPE cw_row AS (id int8, v float4[], t text);
-- fresh keys: each nextval reserves 100 of them, above the shared ones
CREATE SEQUENCE fresh START 100000 INCREMENT 100;
});

# A row's vector and text are functions of its id and the transaction's
# random value x, written out the same way for both sides.  Vectors have
# integer components, which float4 and their text form hold exactly.
my $vec = 'ARRAY[i % 97, :x % 89, i % 13, (:x + i) % 101]::float4[]';
my $txt = 'repeat(md5((:x + i)::text), 3)';

sub upsert_sql
{
	my ($lo, $hi) = @_;
	return qq{SELECT segstore.upsert('cw', array_agg(i), array_agg($vec), array_agg($txt))
FROM generate_series(($lo)::int8, $hi) i;
INSERT INTO ref SELECT i, $vec, $txt FROM generate_series(($lo)::int8, $hi) i
ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v, t = EXCLUDED.t;};
}

sub insert_sql
{
	my ($lo, $hi) = @_;
	return qq{SELECT segstore.insert('cw', array_agg(i), array_agg($vec), array_agg($txt))
FROM generate_series(($lo)::int8, $hi) i;
INSERT INTO ref SELECT i, $vec, $txt FROM generate_series(($lo)::int8, $hi) i;};
}

sub delete_sql
{
	my ($lo, $hi) = @_;
	return qq{SELECT segstore.delete('cw', array_agg(i)) FROM generate_series(($lo)::int8, $hi) i;
DELETE FROM ref WHERE id BETWEEN $lo AND $hi;};
}

# The clients' transactions: every choice comes from pgbench's random,
# which --random-seed fixes.
my $script = qq{\\set r random(1, 100)
\\set k random(1, $keys)
\\set k2 random(1, $keys)
\\set n random(1, 4)
\\set x random(0, 1000000)
\\set rr :x % 2
\\if :r <= 30
BEGIN;
\\if :rr
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;
\\endif
} . upsert_sql(':k', ':k + :n - 1') . qq{
END;
\\elif :r <= 45
BEGIN;
} . delete_sql(':k', ':k + :n - 1') . qq{
END;
\\elif :r <= 50
BEGIN;
SELECT segstore.delete('cw', format('id in [%s, %s]', :k, :k + 2));
DELETE FROM ref WHERE id IN (:k, :k + 2);
END;
\\elif :r <= 60
BEGIN;
SELECT nextval('fresh') AS base \\gset
} . insert_sql(':base', ':base + :n - 1') . qq{
END;
\\elif :r <= 61
BEGIN;
SELECT nextval('fresh') AS base \\gset
} . insert_sql(':base', ":base + $direct + :n") . qq{
END;
\\elif :r <= 80
BEGIN;
} . upsert_sql(':k', ':k') . "\n" . delete_sql(':k2', ':k2') . qq{
END;
\\elif :r <= 82
SELECT segstore.flush('cw');
\\elif :r <= 83
SELECT segstore.compact('cw');
\\else
SELECT count(*) FROM segstore.search('cw', ARRAY[:k % 97, :x % 89, :k % 13, :x % 101]::float4[], 10,
									 '{"nprobe": 4}');
\\endif
};
my $script_file = $node->basedir . '/writers.sql';
open(my $fh, '>', $script_file) or die "could not write $script_file: $!";
print $fh $script;
close $fh;

# The collection against the heap: rows only in one of them, rows in
# both with other contents (either counts them), num_entities.
my $compare_sql = q{
WITH s AS (SELECT r.* FROM segstore.query('cw', NULL) j, jsonb_populate_record(NULL::cw_row, j) r)
SELECT (SELECT count(*) FROM (SELECT * FROM s EXCEPT ALL SELECT * FROM ref) x),
	   (SELECT count(*) FROM (SELECT * FROM ref EXCEPT ALL SELECT * FROM s) x),
	   (SELECT count(*) FROM ref),
	   segstore.num_entities('cw')};
my $diff_sql = q{
WITH s AS (SELECT r.* FROM segstore.query('cw', NULL) j, jsonb_populate_record(NULL::cw_row, j) r)
SELECT 'only in the collection or different there: ' || coalesce(string_agg(id::text, ',' ORDER BY id), '')
FROM (SELECT * FROM s EXCEPT ALL SELECT * FROM ref LIMIT 20) x
UNION ALL
SELECT 'only in the heap or different there: ' || coalesce(string_agg(id::text, ',' ORDER BY id), '')
FROM (SELECT * FROM ref EXCEPT ALL SELECT * FROM s LIMIT 20) x};

# The top 10 of an exact search against the heap's: the same distances,
# and every id found is a live row at that distance, found once.
sub search_agrees
{
	my ($q) = @_;
	my $qv = "ARRAY[$q]::float4[]";
	my $dist = "(SELECT sum((a - b) ^ 2) FROM unnest(r.v, $qv) u(a, b))::float4";
	my ($got, $want, $bad) = split /\|/, $node->safe_psql(
		'postgres', qq{
WITH s AS (SELECT * FROM segstore.search('cw', $qv, 10, '{"nprobe": 4}'))
SELECT (SELECT string_agg(distance::text, ',' ORDER BY distance) FROM s),
	   (SELECT string_agg(d::text, ',' ORDER BY d)
		FROM (SELECT $dist AS d FROM ref r ORDER BY 1 LIMIT 10) x),
	   (SELECT count(*) FROM s LEFT JOIN ref r USING (id) WHERE r.id IS NULL OR $dist <> s.distance)
	   + (SELECT count(*) - count(DISTINCT id) FROM s)});
	return ($got // '') eq ($want // '') && $bad == 0
	  ? 1
	  : (diag("search [$q]: distances $got, the heap's $want, $bad ids not live there at that distance or twice"), 0);
}

sub check_agree
{
	my ($label) = @_;
	my ($extra, $missing, $nref, $num) = split /\|/, $node->safe_psql('postgres', $compare_sql);
	my $ok = is($extra . '|' . $missing, '0|0', "$label: the collection holds exactly the heap's rows");
	diag($node->safe_psql('postgres', $diff_sql)) unless $ok;
	is($num, $nref, "$label: num_entities is the heap's count ($nref)");
	my $searches = 1;
	for my $q ('0, 0, 0, 0', '50, 400, 6, 50', '96, 88, 12, 100', '13, 700, 3, 77')
	{
		$searches &&= search_agrees($q);
	}
	ok($searches, "$label: exact searches return the heap's top 10");
}

# Lines of the server log since the last call that mean a crash,
# corruption or a failed background job.
my $log_offset = 0;
sub server_faults
{
	my $log = slurp_file($node->logfile, $log_offset);
	$log_offset += length($log);
	return grep { /PANIC|TRAP:|terminated by signal|is corrupt|would hold key/ } split /\n/, $log;
}

my ($txns, $retried) = (0, 0);
for my $round (1 .. $rounds)
{
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[
			'pgbench', '-n', '-c', $clients, '-j', $clients, '-T', $seconds,
			'--random-seed', $seed + $round, '--max-tries', 20, '--failures-detailed',
			'-f', $script_file, '-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
	my $rc = $? >> 8;
	my ($done) = $out =~ /number of transactions actually processed: (\d+)/;
	my ($failed) = $out =~ /number of failed transactions: (\d+)/;
	my ($again) = $out =~ /number of transactions retried: (\d+)/;
	$txns += $done // 0;
	$retried += $again // 0;
	my @errors = grep { /ERROR|aborted/ } split /\n/, $err;
	ok($rc == 0 && defined $done && $done > 0 && ($failed // 0) == 0 && !@errors,
		"round $round: pgbench ran " . ($done // 0) . ' transactions, '
		  . ($again // 0) . ' retried, none failed')
	  or diag("exit status $rc\n$out\n"
		  . join("\n", @errors[ 0 .. ($#errors < 9 ? $#errors : 9) ]));
	check_agree("round $round");

	# Between rounds: a flush and a compaction, and on every other round
	# a delete by an expression that scans, which only this session runs.
	$node->safe_psql('postgres', "SELECT segstore.flush('cw')");
	if ($round % 2 == 0)
	{
		my ($gone, $heap_gone) = split /\|/, $node->safe_psql(
			'postgres', qq{
WITH d AS (DELETE FROM ref WHERE t LIKE '$round%' AND id < 100000 RETURNING id)
SELECT segstore.delete('cw', 't like "$round%" and id < 100000'), (SELECT count(*) FROM d)});
		is($gone, $heap_gone, "round $round: a delete by expression deletes the heap's rows");
	}
	my $cid = $node->safe_psql('postgres', "SELECT segstore.compact('cw')");
	is($node->safe_psql('postgres', "SELECT segstore.wait_for_compaction($cid, '2 min')"),
		'Completed', "round $round: the compaction completes");
	check_agree("round $round, after flush and compaction");
	my @faults = server_faults();
	is(scalar(@faults), 0, "round $round: no crash or corruption in the server log")
	  or diag(join("\n", @faults[ 0 .. ($#faults < 9 ? $#faults : 9) ]));
}

# The worker sealed and compacted meanwhile, and the writers sealed.
my $auto = $node->safe_psql('postgres',
	"SELECT count(*) FROM segstore.compactions WHERE trigger = 'auto'");
diag("$txns transactions, $retried retried; $auto compactions by the worker; "
	  . $node->safe_psql('postgres',
		"SELECT flushed_segments || ' segments, ' || growing_rows || ' growing rows' FROM segstore.collection_stats('cw')"));

my $cid = $node->safe_psql('postgres', "SELECT segstore.compact('cw', \"full\" => true)");
is($node->safe_psql('postgres', "SELECT segstore.wait_for_compaction($cid, '2 min')"),
	'Completed', 'a full compaction at the end completes');
check_agree('after the full compaction');
is($node->safe_psql('postgres', "SELECT count(*) FROM segstore.verify('cw')"),
	'0', 'verify finds every file sound');

$node->stop;
done_testing();
