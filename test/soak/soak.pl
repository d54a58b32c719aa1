
# Soak test: concurrent writers (inserts, upserts, deletes by ids and by
# expression), searches, flushes, compactions and the maintenance worker's
# sealing and compacting, with the server stopped "immediate" at random
# moments; after every restart the collection must hold exactly the rows of
# a heap table that every writing transaction changed alongside it.
#
#   SEGSTORE_SOAK_SECONDS=n   how long to run (default 60: the short mode)
#   SEGSTORE_SEED=n           repeat a run's random choices (printed)
#   SEGSTORE_SOAK_CLIENTS=n   concurrent writer sessions (default 3)
#
# Each client writes only rows it owns (the "owner" field), so a heap row
# and its collection row are only ever changed by one session and the two
# stay comparable whatever the interleaving.  A statement that fails with an
# ERROR while the server is up fails the test; those cut off by the stop
# are expected.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../t";
use IPC::Run;
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SegstoreTest qw(ranges files_under);

my $seconds = $ENV{SEGSTORE_SOAK_SECONDS} // 60;
my $clients = $ENV{SEGSTORE_SOAK_CLIENTS} // 3;
my $seed = $ENV{SEGSTORE_SEED} // int(rand(2**31));
diag("soak for $seconds s, $clients clients, random seed $seed");
srand($seed);

my $coll = 'soak';
my $node = PostgreSQL::Test::Cluster->new('soak');
$node->init(extra => [ '--locale=C', '--encoding=UTF8' ]);
# The worker seals and compacts every second; small direct-write and seal
# thresholds make every kind of file appear within seconds.
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'segstore'
segstore.compaction_interval = 1
segstore.seal_idle_time = 1
segstore.insert_direct_threshold = 150
segstore.pending_delete_threshold = 50
max_connections = 40
});
$node->start;
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION segstore;
CREATE TYPE soak_row AS (id int8, owner int4, tag int4);
CREATE TABLE ref (id int8 PRIMARY KEY, owner int4 NOT NULL, tag int4 NOT NULL);
CREATE SEQUENCE soak_ids;
CREATE FUNCTION soak_same(heap bigint, coll bigint) RETURNS boolean LANGUAGE plpgsql AS \$\$
BEGIN
	IF heap <> coll THEN
		RAISE EXCEPTION 'the heap deleted % rows, the collection %', heap, coll;
	END IF;
	RETURN true;
END \$\$;
SELECT segstore.create_collection('$coll',
	'id int8 PRIMARY KEY, vector float4[8], owner int4, tag int4');
});

# A row's vector is a function of its id, so the heap need not keep it.
my $vec = 'ARRAY[id % 97, id % 89, id % 83, id % 79, id % 73, id % 71, id % 67, id % 61]::float4[]';

# The writers' transactions.  Each changes the heap and the collection in
# one statement, so both commit or neither does; a delete that finds
# other rows in the collection than in the heap fails (soak_same).
my $script = qq{
\\set r random(1, 100)
\\set n random(1, 20)
\\set cid :client_id + 1
\\if :r <= 40
WITH r AS (INSERT INTO ref
		   SELECT nextval('soak_ids'), :cid, (random() * 1000)::int4 FROM generate_series(1, :n)
		   RETURNING id, owner, tag)
SELECT segstore.insert('$coll', array_agg(id), array_agg($vec), array_agg(owner), array_agg(tag))
FROM r;
\\elif :r <= 43
WITH r AS (INSERT INTO ref
		   SELECT nextval('soak_ids'), :cid, (random() * 1000)::int4 FROM generate_series(1, 200)
		   RETURNING id, owner, tag)
SELECT segstore.insert('$coll', array_agg(id), array_agg($vec), array_agg(owner), array_agg(tag))
FROM r;
\\elif :r <= 58
SELECT last_value AS maxid FROM soak_ids \\gset
\\set lo random(1, :maxid)
WITH u AS (UPDATE ref SET tag = (random() * 1000)::int4
		   WHERE id IN (SELECT id FROM ref WHERE owner = :cid AND id >= :lo ORDER BY id LIMIT :n)
		   RETURNING id, owner, tag)
SELECT CASE WHEN count(*) > 0 THEN
	segstore.upsert('$coll', array_agg(id), array_agg($vec), array_agg(owner), array_agg(tag)) END
FROM u;
\\elif :r <= 73
SELECT last_value AS maxid FROM soak_ids \\gset
\\set lo random(1, :maxid)
WITH d AS (DELETE FROM ref
		   WHERE id IN (SELECT id FROM ref WHERE owner = :cid AND id >= :lo ORDER BY id LIMIT :n)
		   RETURNING id)
SELECT CASE WHEN count(*) > 0 THEN soak_same(count(*), segstore.delete('$coll', array_agg(id))) END FROM d;
\\elif :r <= 76
SELECT last_value AS maxid FROM soak_ids \\gset
\\set lo random(1, :maxid)
\\set t random(0, 999)
WITH d AS (DELETE FROM ref WHERE owner = :cid AND id >= :lo AND id < :lo + 500 AND tag < :t / 10
		   RETURNING id)
SELECT soak_same(count(*), segstore.delete('$coll',
	format('owner == %s and id >= %s and id < %s and tag < %s', :cid, :lo, :lo + 500, :t / 10)))
FROM d;
\\elif :r <= 96
SELECT count(*) FROM segstore.search('$coll', ARRAY[:r, 1, 2, 3, 4, 5, 6, :n]::float4[], 10);
\\elif :r <= 98
SELECT segstore.flush('$coll');
\\else
SELECT segstore.compact('$coll');
\\endif
};
my $script_file = $node->basedir . '/soak.sql';
open(my $fh, '>', $script_file) or die "could not write $script_file: $!";
print $fh $script;
close $fh;

# The collection's rows against the heap's: rows only in one of them, rows
# in both with other contents, and num_entities against the heap's count.
my $compare_sql = qq{
WITH s AS (SELECT r.* FROM segstore.query('$coll', 'id >= 0', ARRAY['id', 'owner', 'tag']) j,
						   jsonb_populate_record(NULL::soak_row, j) r)
SELECT (SELECT count(*) FROM (SELECT * FROM s EXCEPT ALL SELECT * FROM ref) x),
	   (SELECT count(*) FROM (SELECT * FROM ref EXCEPT ALL SELECT * FROM s) x),
	   (SELECT count(*) FROM ref),
	   segstore.num_entities('$coll')};

sub check_agree
{
	my ($label) = @_;
	my ($extra, $missing, $nref, $num) = split /\|/,
	  $node->safe_psql('postgres', $compare_sql);
	is($extra, 0, "$label: no row in the collection that the heap lacks");
	is($missing, 0, "$label: no heap row missing from the collection");
	is($num, $nref, "$label: num_entities is the heap's count ($nref)");
}

# The ERROR lines of a pgbench run that the stop did not cause.
sub real_errors
{
	my ($err) = @_;
	return grep {
		/ERROR:/
		  && !/terminating connection|server closed the connection|immediate shutdown/
	} split /\n/, $err;
}

# Lines of the server log since offset that no stop explains: corruption
# found by any process (a compaction worker's too), a segment writer's
# refusal, a crash.
my $log_offset = 0;
sub server_faults
{
	my $log = slurp_file($node->logfile, $log_offset);
	$log_offset += length($log);
	return grep { /is corrupt|would hold key|PANIC|TRAP:|terminated by signal/ } split /\n/,
	  $log;
}

my $deadline = time() + $seconds;
my $round = 0;
my $txns = 0;
while (time() < $deadline)
{
	$round++;
	my $run_for = 3 + rand(7);
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'pgbench', '-n', '-c', $clients, '-T', 600, '-f', $script_file,
			'-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
	my $stop_at = time() + $run_for;
	while (time() < $stop_at)
	{
		usleep(100_000);
		$h->pump_nb;
	}
	$node->stop('immediate');
	$h->finish;
	$txns += $1 if $out =~ /number of transactions actually processed: (\d+)/;
	my @errors = real_errors($err);
	is(scalar(@errors), 0, "round $round: no statement failed while the server was up")
	  or diag(join("\n", @errors[ 0 .. ($#errors < 9 ? $#errors : 9) ]));
	my @faults = server_faults();
	is(scalar(@faults), 0, "round $round: no corruption or crash in the server log")
	  or diag(join("\n", @faults[ 0 .. ($#faults < 9 ? $#faults : 9) ]));
	$node->start;
	check_agree("round $round, after the restart");
}
diag("$round rounds, $txns transactions counted by pgbench before the stops; "
	  . $node->safe_psql('postgres', qq{
SELECT count(*) || ' compactions (' || count(*) FILTER (WHERE trigger = 'auto') || ' by the worker), '
	   || (SELECT count(*) FROM segstore.segments('$coll')) || ' segments'
FROM segstore.compactions}));

# At the end: every compaction finishes, then garbage collection leaves
# exactly the files the catalog references.
$node->safe_psql('postgres', "SELECT segstore.flush('$coll')");
my $cid = $node->safe_psql('postgres', "SELECT segstore.compact('$coll', \"full\" => true)");
is($node->safe_psql('postgres', "SELECT segstore.wait_for_compaction($cid)"),
	'Completed', 'a full compaction after the last restart completes');
check_agree('after the full compaction');
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'segstore compaction worker'")
  or die 'compaction workers did not exit';
$node->safe_psql('postgres', 'SELECT segstore.gc()');
my $datadir = $node->data_dir;
my %referenced = map { ($_ =~ m{^/} ? $_ : "$datadir/$_") => 1 } split /\n/,
  $node->safe_psql('postgres',
	'SELECT b.path FROM segstore.collections c, segstore.binlogs(c.name) b');
my @orphans = grep { !$referenced{$_} } files_under("$datadir/segstore");
is(scalar(@orphans), 0, 'no file left that the catalog does not reference')
  or diag(join("\n", @orphans));

$node->stop;
done_testing();
