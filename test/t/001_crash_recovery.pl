
# Crash recovery: stop the server with "immediate" (no shutdown checkpoint,
# backends killed) at several points of insert, delete and flush, restart,
# and check that every committed row and delete is there and nothing
# uncommitted is; then that garbage collection leaves exactly the files the
# catalog references.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SegstoreTest qw(ranges ranges_sql files_under);

my $coll = 'crash';

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init(extra => [ '--locale=C', '--encoding=UTF8' ]);
# A low direct-write threshold, so that big batches become segment files
# inside the inserting transaction.
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'segstore'
# the maintenance worker stays out of the way: this test drives compaction
segstore.compaction_interval = '1d'
segstore.insert_direct_threshold = 100
# a growing segment of 198,000 rows, sealed only by the flushes tested here
segstore.growing_max_size = '1GB'
});
$node->start;

# Preloading registered the GUCs before any segstore function ran: a
# placeholder would be a string, not an integer.
is( $node->safe_psql(
		'postgres',
		"SELECT vartype || ' ' || setting FROM pg_settings "
		  . "WHERE name = 'segstore.insert_direct_threshold'"),
	'integer 100',
	'segstore is preloaded and its GUCs are set from postgresql.conf');

$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION segstore;
CREATE TYPE crash_row AS (id int8, vector float4[], tag int4);
SELECT segstore.create_collection('$coll', 'id int8 PRIMARY KEY, vector float4[8], tag int4');
});
is($node->safe_psql('postgres', "SELECT segstore.has_collection('$coll')"),
	't', 'collection created');

# The live ids as the test expects them.
my %live;

# SQL inserting ids [lo, hi) in one batch; each row's vector and tag are a
# function of its id, so that check_state can verify contents too.
sub insert_sql
{
	my ($lo, $hi) = @_;
	return qq{SELECT segstore.insert('$coll',
	array_agg(i::int8 ORDER BY i),
	array_agg(ARRAY[i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7]::float4[] ORDER BY i),
	array_agg((i % 7)::int4 ORDER BY i))
FROM generate_series($lo, $hi - 1) i};
}

sub insert_committed
{
	my ($lo, $hi) = @_;
	is($node->safe_psql('postgres', insert_sql($lo, $hi)),
		$hi - $lo, "insert of ids $lo..." . ($hi - 1));
	$live{$_} = 1 for $lo .. $hi - 1;
}

sub delete_committed
{
	my ($expr, @ids) = @_;
	is($node->safe_psql('postgres', "SELECT segstore.delete('$coll', '$expr')"),
		scalar(grep { $live{$_} } @ids), "delete '$expr'");
	delete $live{$_} for @ids;
}

my $state_sql = qq{
WITH r AS (SELECT r.*
		   FROM segstore.query('$coll', 'id >= 0', ARRAY['id', 'vector', 'tag']) j,
				jsonb_populate_record(NULL::crash_row, j) r)
SELECT @{[ ranges_sql('r') ]},
	   (SELECT count(*) - count(DISTINCT id) FROM r),
	   (SELECT count(*) FROM r
		WHERE tag <> id % 7
		   OR vector <> ARRAY[id, id + 1, id + 2, id + 3, id + 4, id + 5, id + 6, id + 7]::float4[]),
	   segstore.num_entities('$coll')};

# Checks that the collection holds exactly the rows of %live, each once and
# with its own contents.
sub check_state
{
	my ($label) = @_;
	my ($got, $dups, $bad, $num) = split /\|/,
	  $node->safe_psql('postgres', $state_sql);
	is($got, ranges(keys %live), "$label: exactly the committed ids");
	is($dups, 0, "$label: no id returned twice");
	is($bad, 0, "$label: every row has its own vector and tag");
	is($num, scalar(keys %live), "$label: num_entities");
}

sub crash_and_restart
{
	$node->stop('immediate');
	$node->start;
}

# Paths of all files under the segstore directory.
sub files_on_disk
{
	return files_under($node->data_dir . '/segstore');
}

# Paths of all files the catalog references, in every collection.
sub files_referenced
{
	my $datadir = $node->data_dir;
	my @paths = split /\n/, $node->safe_psql(
		'postgres', q{
SELECT b.path FROM segstore.collections c, segstore.binlogs(c.name) b ORDER BY 1});
	return sort map { m{^/} ? $_ : "$datadir/$_" } @paths;
}

# Files on disk that the catalog does not reference (yet).
sub unreferenced_files
{
	my %ref = map { $_ => 1 } files_referenced();
	return grep { !$ref{$_} } files_on_disk();
}

sub stats
{
	return $node->safe_psql('postgres',
		"SELECT growing_rows || ' ' || pending_deletes || ' ' || "
		  . "(SELECT coalesce(sum(rows), 0) FROM segstore.binlogs('$coll') WHERE kind = 'delta') "
		  . "FROM segstore.collection_stats('$coll')"
	);
}

# Starts a statement in a background session, waits until it has created a
# file the catalog does not know, then stops the server with "immediate".
# If the statement ends before such a file shows up, the server is stopped
# all the same: the checks after restart hold either way.
sub crash_during
{
	my ($sql) = @_;
	my %known = map { $_ => 1 } files_on_disk();
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	my $out =
	  $bg->query_until(qr/started/, "\\echo started\n$sql;\n\\echo finished\n");
	my $deadline = time() + 60;
	my $saw_file = 0;
	while ($out !~ /finished/ && time() < $deadline)
	{
		if (grep { !$known{$_} } files_on_disk())
		{
			$saw_file = 1;
			last;
		}
		# Polled without blocking: a psql call per round would be too slow
		# to catch a flush in the act.
		$bg->{run}->pump_nb();
		$out .= $bg->{stdout};
		$bg->{stdout} = '';
		usleep(1000);
	}
	note $saw_file
	  ? 'stopping while a new file exists'
	  : 'statement ended before a new file was seen';
	$node->stop('immediate');
	# psql has lost its server; it may already have exited.
	eval { $bg->quit; };
	$node->start;
}

### Committed work survives an immediate stop.

insert_committed(0, 50);       # growing segment
insert_committed(1000, 6000);  # direct segment file
is($node->safe_psql('postgres', "SELECT segstore.flush('$coll')"),
	'', 'flush');
insert_committed(100, 150);    # growing again
# Keys of sealed segments become pending deletes, or a delta binlog at once
# for a segment that loses insert_direct_threshold keys or more; 100 and
# 101 are growing.
delete_committed('id >= 1000 and id < 1050', 1000 .. 1049);
delete_committed('id >= 1050 and id < 2000', 1050 .. 1999);
delete_committed('id in [5, 100, 101]', 5, 100, 101);
is(stats(), '48 51 950', 'growing rows, pending deletes and delta keys before the crash');
crash_and_restart();
check_state('committed inserts and deletes after immediate stop');
is(stats(), '48 51 950', 'growing rows, pending deletes and delta keys after the crash');

### (a) Stop during a large insert: it is all there or not at all.

{
	my $before = keys %live;
	crash_during('BEGIN; ' . insert_sql(10000, 310000) . '; COMMIT');
	my $n = $node->safe_psql('postgres', "SELECT segstore.num_entities('$coll')");
	if ($n == $before + 300000)
	{
		note 'the batch had committed before the stop';
		$live{$_} = 1 for 10000 .. 309999;
	}
	check_state('stop during a large insert');
}

### (b) Stop after the segment file is written, before commit.

{
	my $bg = $node->background_psql('postgres');
	$bg->query_safe('BEGIN');
	is($bg->query_safe(insert_sql(2000000, 2020000)), 20000, 'uncommitted big insert');
	is($bg->query_safe(insert_sql(3000000, 3000010)), 10, 'uncommitted small insert');
	$bg->query_safe("SELECT segstore.delete('$coll', 'id >= 2000 and id < 3000')");
	$bg->query_safe("SELECT segstore.delete('$coll', 'id in [102, 103]')");
	ok(scalar(unreferenced_files()) > 0,
		'the uncommitted batch wrote a file the catalog does not reference');
	$node->stop('immediate');
	eval { $bg->quit; };
	$node->start;
	check_state('uncommitted inserts and deletes are gone after immediate stop');
	is(stats(), '48 51 950', 'growing rows, pending deletes and delta keys are as committed');
}

### (c) Stop during flush, and right after it.

# Grow the growing segment with batches under the direct threshold.
$node->safe_psql(
	'postgres', qq{
DO \$\$
BEGIN
	FOR b IN 0..1999 LOOP
		PERFORM segstore.insert('$coll',
			array_agg(i::int8 ORDER BY i),
			array_agg(ARRAY[i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7]::float4[] ORDER BY i),
			array_agg((i % 7)::int4 ORDER BY i))
		FROM generate_series(4000000 + b * 99, 4000000 + b * 99 + 98) i;
	END LOOP;
END
\$\$});
$live{$_} = 1 for 4000000 .. 4000000 + 2000 * 99 - 1;
is(stats(), (48 + 198000) . ' 51 950', 'growing segment holds the small batches');

{
	my $bg = $node->background_psql('postgres');
	$bg->query_safe('BEGIN');
	$bg->query_safe("SELECT segstore.flush('$coll')");
	$node->stop('immediate');
	eval { $bg->quit; };
	$node->start;
	check_state('flush not committed');
	is(stats(), (48 + 198000) . ' 51 950', 'an uncommitted flush sealed nothing');
}

crash_during("SELECT segstore.flush('$coll')");
check_state('stop during flush');

is($node->safe_psql('postgres', "SELECT segstore.flush('$coll')"), '',
	'flush committed');
crash_and_restart();
check_state('stop right after a committed flush');
is(stats(), '0 0 1001', 'the committed flush sealed every row and delete');

### Garbage collection leaves exactly the referenced files.

# Files of a dropped collection are garbage too.
$node->safe_psql(
	'postgres', q{
SELECT segstore.create_collection('doomed', 'id int8 PRIMARY KEY, vector float4[2]');
SELECT segstore.insert('doomed', array_agg(i::int8), array_agg(ARRAY[i, i]::float4[]))
FROM generate_series(1, 500) i;
SELECT segstore.flush('doomed');
SELECT segstore.drop_collection('doomed');
});
$node->safe_psql('postgres', 'SELECT * FROM segstore.gc()');
my @disk = files_on_disk();
ok(scalar(@disk) > 0, 'the collection has files');
is_deeply(\@disk, [ files_referenced() ],
	'after gc, the files on disk are exactly the referenced ones');
check_state('after gc');

$node->stop;
done_testing();
