
# Compaction never loses a delete: the server is stopped with "immediate"
# at several points of a compaction (while a plan writes its targets, while
# it waits to swap, right after the swap, during garbage collection), and
# plans fail on purpose (a corrupt source, a cancel, a timeout).  Each time
# the collection must hold exactly the committed entities and deletes, a
# failed or interrupted plan must leave its sources as they were and report
# why, garbage collection must leave exactly the files the catalog
# references, and a new compaction must work and keep the answers.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SegstoreTest qw(ranges ranges_sql files_under);

my $node = PostgreSQL::Test::Cluster->new('compaction_crash');
$node->init(extra => [ '--locale=C', '--encoding=UTF8' ]);
# Workers compress hard, so that a plan over the big collection runs for
# seconds: long enough to stop the server while it writes.  Sessions that
# load data set the level back to 1.
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'segstore'
# the maintenance worker stays out of the way: this test drives compaction
segstore.compaction_interval = '1d'
max_worker_processes = 16
segstore.compression_level = 19
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION segstore');

my $datadir = $node->data_dir;
my $dbdir = "$datadir/segstore/"
  . $node->safe_psql('postgres',
	"SELECT oid FROM pg_database WHERE datname = 'postgres'");

sub sql { return $node->safe_psql('postgres', $_[0]); }

### The model: what every collection must hold

# Per collection: its vector dimension, its live ids and its deleted ids.
# A row's vector and tag are functions of its id.
my (%dim, %live, %gone);

sub vector_sql
{
	my ($dim) = @_;
	return "ARRAY(SELECT ((i::int8 * 7919 + j * 104729) % 65521)::float4 "
	  . "FROM generate_series(1, $dim) j)";
}

sub vector_text
{
	my ($id, $dim) = @_;
	return '[' . join(', ', map { ($id * 7919 + $_ * 104729) % 65521 } 1 .. $dim) . ']';
}

sub create_collection
{
	my ($coll, $dim) = @_;
	sql("SELECT segstore.create_collection('$coll', "
		  . "'id int8 PRIMARY KEY, vector float4[$dim], tag int4')");
	$dim{$coll} = $dim;
	$live{$coll} = {};
	$gone{$coll} = {};
}

# Inserts ids lo, lo + step, ... below hi in one batch: a sealed segment
# of its own if direct, else rows of the growing segment.
sub insert_rows
{
	my ($coll, $lo, $hi, $direct, $step) = @_;
	$step //= 1;
	my $threshold = $direct ? 1 : 1000000;
	my @ids = grep { ($_ - $lo) % $step == 0 } $lo .. $hi - 1;
	is( sql("SET segstore.compression_level = 1;
SET segstore.insert_direct_threshold = $threshold;
SELECT segstore.insert('$coll', array_agg(i::int8 ORDER BY i),
	array_agg(" . vector_sql($dim{$coll}) . " ORDER BY i),
	array_agg((i % 7)::int4 ORDER BY i))
FROM generate_series($lo, $hi - 1, $step) i"),
		scalar(@ids),
		"$coll: insert ids $lo.." . ($hi - 1) . ($step > 1 ? " step $step" : '')
		  . ($direct ? ' (sealed)' : ' (growing)'));
	$live{$coll}{$_} = 1 for @ids;
}

# Two sealed segments that interleave, one of the even and one of the odd
# ids in [lo, hi): merging them decodes and encodes every row.
sub insert_interleaved
{
	my ($coll, $lo, $hi) = @_;
	insert_rows($coll, $lo, $hi, 1, 2);
	insert_rows($coll, $lo + 1, $hi, 1, 2);
}

# Commits a delete by expression; @ids are the ids it matches.
sub delete_expr
{
	my ($coll, $expr, @ids) = @_;
	is(sql("SELECT segstore.delete('$coll', '$expr')"),
		scalar(grep { $live{$coll}{$_} } @ids), "$coll: delete '$expr'");
	forget($coll, @ids);
}

sub delete_ids
{
	my ($coll, @ids) = @_;
	is( sql("SELECT segstore.delete('$coll', ARRAY["
			  . join(',', @ids) . "]::int8[])"),
		scalar(grep { $live{$coll}{$_} } @ids),
		"$coll: delete " . scalar(@ids) . ' ids');
	forget($coll, @ids);
}

sub forget
{
	my ($coll, @ids) = @_;
	for (@ids)
	{
		$gone{$coll}{$_} = 1 if delete $live{$coll}{$_};
	}
}

# The collection answers exactly as the model says: the full set of ids,
# each once, every tag, num_entities, and whole rows (vectors too) of a
# sample of live ids; the sample's deleted ids are not returned.
sub check_state
{
	my ($coll, $label) = @_;
	my ($got, $dups, $bad, $num) = split /\|/, sql(qq{
WITH r AS (SELECT (j->>'id')::int8 AS id, (j->>'tag')::int4 AS tag
		   FROM segstore.query('$coll', NULL, ARRAY['id', 'tag']) j)
SELECT @{[ ranges_sql('r') ]},
	   (SELECT count(*) - count(DISTINCT id) FROM r),
	   (SELECT count(*) FROM r WHERE tag <> id % 7),
	   segstore.num_entities('$coll')});
	is($got, ranges(keys %{ $live{$coll} }), "$label: exactly the committed ids of $coll");
	is($dups, 0, "$label: no id returned twice");
	is($bad, 0, "$label: every row has its own tag");
	is($num, scalar(keys %{ $live{$coll} }), "$label: num_entities");

	my @ids = sort { $a <=> $b } keys %{ $live{$coll} };
	my %sample = map { $ids[ int($_ * $#ids / 8) ] => 1 } 0 .. 8;
	my @deleted = sort { $a <=> $b } keys %{ $gone{$coll} };
	my @probe = keys %sample;
	push @probe, @deleted[ 0, int($#deleted / 2), $#deleted ] if @deleted;
	is( sql("SELECT q::text FROM segstore.query('$coll', 'id in ["
			  . join(', ', @probe)
			  . "]', ARRAY['tag', 'vector']) q"),
		join("\n",
			map {
				qq({"id": $_, "tag": ) . ($_ % 7)
				  . qq(, "vector": ) . vector_text($_, $dim{$coll}) . '}'
			} sort { $a <=> $b } keys %sample),
		"$label: whole rows of sampled ids, none of the deleted ones");
}

### Segments, plans, files

sub segments_in_state
{
	my ($coll, $state) = @_;
	return sql("SELECT coalesce(string_agg(segment_id::text, ',' ORDER BY segment_id), '') "
		  . "FROM segstore.segments('$coll') WHERE state = '$state'");
}

sub flushed { return segments_in_state($_[0], 'flushed'); }

# "state executing completed failed timeout total"
sub compaction_state
{
	my ($cid) = @_;
	return sql("SELECT concat_ws(' ', state, executing_plan_no, completed_plan_no, "
		  . "failed_plan_no, timeout_plan_no, total_plan_no) FROM segstore.compaction_state($cid)");
}

sub plans
{
	my ($cid) = @_;
	return sql("SELECT string_agg(concat_ws('|', plan_id, state, error), E'\\n' ORDER BY plan_id) "
		  . "FROM segstore.compaction_plans($cid)");
}

# Every segment the plans of a compaction rewrite, sorted.
sub plan_sources
{
	my ($cid) = @_;
	return sql("SELECT coalesce(string_agg(s::text, ',' ORDER BY s), '') "
		  . "FROM segstore.compaction_plans($cid), unnest(sources) s");
}

sub wait_for_compaction
{
	my ($cid) = @_;
	return sql("SELECT segstore.wait_for_compaction($cid)");
}

sub files_on_disk
{
	return files_under($dbdir);
}

sub files_referenced
{
	return sort map { "$datadir/$_" } split /\n/, sql(
		'SELECT b.path FROM segstore.collections c, segstore.binlogs(c.name) b');
}

# Files on disk the catalog does not reference (yet): read the disk first,
# so that a file registered meanwhile counts as referenced.
sub unreferenced_files
{
	my @disk = files_on_disk();
	my %ref = map { $_ => 1 } files_referenced();
	return grep { !$ref{$_} } @disk;
}

sub wait_for_sql
{
	my ($what, $query) = @_;
	$node->poll_query_until('postgres', $query)
	  or die "timed out waiting for $what";
}

# Polls a Perl condition, for what a query cannot see (files).
sub wait_for
{
	my ($what, $cond) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	until ($cond->())
	{
		die "timed out waiting for $what" if time() > $deadline;
		usleep(20_000);
	}
}

sub wait_for_workers_to_exit
{
	wait_for_sql('the compaction workers to exit',
		"SELECT count(*) = 0 FROM pg_stat_activity "
		  . "WHERE backend_type = 'segstore compaction worker'");
}

sub wait_for_swap_wait
{
	wait_for_sql('a plan to wait for the write lock at its swap',
		"SELECT count(*) > 0 FROM pg_stat_activity "
		  . "WHERE backend_type = 'segstore compaction worker' AND wait_event_type = 'Lock'");
}

# After gc() the files on disk are exactly the ones the catalog references:
# none unreferenced is left, none referenced is missing.
sub check_files
{
	my ($label) = @_;
	wait_for_workers_to_exit();
	sql('SELECT * FROM segstore.gc()');
	is_deeply([ files_on_disk() ], [ files_referenced() ],
		"$label: after gc() the files are exactly the referenced ones");
}

sub crash_restart
{
	my @sessions = @_;
	$node->stop('immediate');
	# psql has lost its server; it may already have exited.
	eval { $_->quit; } for @sessions;
	$node->start;
}

# A session holding the collection's write lock: an uncommitted delete of
# one live id.
sub hold_write_lock
{
	my ($coll, $id) = @_;
	my $h = $node->background_psql('postgres');
	$h->query_safe('BEGIN');
	is($h->query_safe("SELECT segstore.delete('$coll', ARRAY[$id]::int8[])"),
		1, "$coll: an uncommitted delete of id $id holds the write lock");
	return $h;
}

# After a crash or a failed plan: a new compaction plans the flushed
# segments again (one more delete gives it work in any case), completes and
# keeps the answers.
sub compact_again
{
	my ($coll, $label) = @_;
	my @ids = sort { $a <=> $b } keys %{ $live{$coll} };
	delete_ids($coll, $ids[0]);
	my $expect = flushed($coll);
	my $cid = sql("SELECT segstore.compact('$coll')");
	is(plan_sources($cid), $expect,
		"$label: a new compaction of $coll plans every flushed segment");
	is(wait_for_compaction($cid), 'Completed', "$label: and completes");
	check_state($coll, "$label, compacted again");
	check_files("$label, compacted again");
}

# Four sealed segments of 500 rows and one of 50, deletes written to delta
# binlogs and pending, and growing rows: a manual compaction merges the
# five segments in one plan.
sub small_collection
{
	my ($coll) = @_;
	create_collection($coll, 8);
	insert_rows($coll, $_ * 500, $_ * 500 + 500, 1) for 0 .. 3;
	insert_rows($coll, 5000, 5050, 0);
	delete_expr($coll, 'id < 100', 0 .. 99);
	sql("SELECT segstore.flush('$coll')");
	insert_rows($coll, 5050, 5070, 0);
	delete_ids($coll, 600, 601, 1500, 5010, 5060);
	my @segments = split /,/, flushed($coll);
	is(scalar(@segments), 5, "$coll: five sealed segments");
}

### The big collection: plans that take seconds

# Eight sealed segments of 12,500 rows of 128 dimensions, pairs of them
# interleaving, so that merge plans rewrite every row (a plan with a single
# source would copy compressed blocks and be quick).  Deletes in each, as
# delta binlogs and pending, and growing rows.
create_collection('big', 128);
insert_interleaved('big', $_ * 25000, $_ * 25000 + 25000) for 0 .. 3;
delete_expr('big', 'id >= 1000 and id < 3000', 1000 .. 2999);
delete_expr('big', 'id >= 26000 and id < 26500', 26000 .. 26499);
sql("SELECT segstore.flush('big')");
insert_rows('big', 100000, 100100, 0);
delete_ids('big', map { 50001 + 2 * $_ } 0 .. 99);
delete_expr('big', 'id >= 80000 and id < 80100 or id == 100050', 80000 .. 80099, 100050);
check_state('big', 'big collection loaded');

### Stop between plans: one plan completed, another one writing

{
	# At 16MB per segment, two of the 6.6MB segments fill a merge plan:
	# four plans, run two at a time.
	my $cid = sql("SET segstore.max_segment_size = '16MB'; SELECT segstore.compact('big')");
	is(compaction_state($cid), 'Executing 4 0 0 0 4', 'four plans queued');
	wait_for_sql('the first plans to start',
		"SELECT count(*) > 0 FROM segstore.compaction_plans($cid) WHERE state = 'executing'");
	# A delete committed while the plans run: onto a running plan's sources,
	# and onto a queued one's.
	delete_ids('big', 10 .. 19, 90000 .. 90009);
	wait_for(
		'a completed plan and a running one writing its target',
		sub {
			sql("SELECT count(*) FILTER (WHERE state = 'completed') > 0 AND "
				  . "count(*) FILTER (WHERE state = 'executing') > 0 "
				  . "FROM segstore.compaction_plans($cid)") eq 't'
			  && grep { /\.tmp$/ && -s $_ } files_on_disk();
		});
	crash_restart();

	my ($state, $executing, $completed, $failed, $timeout, $total) =
	  split / /, compaction_state($cid);
	note "after the stop: $completed completed, $failed left running, $executing queued";
	ok($completed >= 1 && $failed >= 1 && $timeout == 0 && $total == 4,
		'between plans: plans left running by the dead worker count as failed');
	is(wait_for_compaction($cid), 'Failed', 'between plans: the compaction ends Failed');
	is(compaction_state($cid), 'Failed 0 ' . (4 - $failed) . " $failed 0 4",
		'between plans: the queued plans ran, the interrupted ones failed');
	check_state('big', 'between plans');
	check_files('between plans');
}

### A plan over its timeout stops in the middle of its merge

{
	my $before = flushed('big');
	my $cid = sql("SET segstore.compaction_timeout = '1s'; SELECT segstore.compact('big')");
	# Also what a new compaction after the crash above must do: plan every
	# segment, including those of the plans the crash interrupted.
	is(plan_sources($cid), $before, 'after the crash, a new compaction plans every segment');
	is(wait_for_compaction($cid), 'Failed', 'timeout in the merge: Failed');
	my @plans = split /\n/, plans($cid);
	my $n = @plans;
	is(compaction_state($cid), "Failed 0 0 0 $n $n", 'timeout in the merge: every plan timed out');
	is_deeply(
		\@plans,
		[ map { /^(\d+)\|/; "$1|timeout|compaction plan $1 timed out after 1 s" } @plans ],
		'timeout in the merge: state timeout and the reason');
	is(flushed('big'), $before, 'timeout in the merge: the sources are untouched');
	check_state('big', 'timeout in the merge');
	check_files('timeout in the merge');
}

### Stop while a plan writes its targets

{
	my $before = flushed('big');
	my $cid = sql("SELECT segstore.compact('big')");
	wait_for_sql('every plan to start',
		"SELECT bool_and(state = 'executing') FROM segstore.compaction_plans($cid)");
	wait_for(
		'the plan to write a target',
		sub {
			sql("SELECT count(*) > 0 FROM pg_stat_activity "
				  . "WHERE backend_type = 'segstore compaction worker' "
				  . "AND query LIKE 'segstore: compaction % plan %'") eq 't'
			  && grep { /\.tmp$/ && -s $_ } files_on_disk();
		});
	# Committed while the plan writes.
	delete_ids('big', 50000 .. 50049);
	insert_rows('big', 200000, 200010, 0);
	is( sql("SELECT count(*) FROM segstore.compaction_plans($cid) WHERE state <> 'executing'"),
		0, 'stop while writing: the plans are still running');
	crash_restart();

	my @plans = split /\n/, plans($cid);
	my $n = @plans;
	is(compaction_state($cid), "Failed 0 0 $n 0 $n",
		'stop while writing: plans left running by the dead worker count as failed');
	is(wait_for_compaction($cid), 'Failed', 'stop while writing: wait_for_compaction says Failed');
	is(flushed('big'), $before, 'stop while writing: the sources are still the segments');
	check_state('big', 'stop while writing');
	check_files('stop while writing');
	compact_again('big', 'stop while writing');
}

### Stop while a plan waits to swap: the uncommitted delete is gone

{
	my $coll = 'swap_wait';
	small_collection($coll);
	my $before = flushed($coll);
	my $h = hold_write_lock($coll, 700);
	my $cid = sql("SELECT segstore.compact('$coll')");
	wait_for_swap_wait();
	ok(scalar(unreferenced_files()) > 0, 'waiting to swap: the targets are written, not registered');
	is(compaction_state($cid), 'Executing 1 0 0 0 1', 'waiting to swap: Executing');
	crash_restart($h);

	is(compaction_state($cid), 'Failed 0 0 1 0 1', 'stop before swap: the plan counts as failed');
	is(flushed($coll), $before, 'stop before swap: the sources are still the segments');
	check_state($coll, 'stop before swap');
	check_files('stop before swap');
	compact_again($coll, 'stop before swap');
}

### Stop right after the swap, before garbage collection

{
	my $coll = 'after_swap';
	small_collection($coll);
	my $sources = flushed($coll);
	my $live_before = scalar(keys %{ $live{$coll} });

	# An old snapshot keeps the sources from garbage collection.
	my $r = $node->background_psql('postgres');
	$r->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
	is($r->query_safe("SELECT count(*) FROM segstore.query('$coll', NULL)"),
		$live_before, 'a snapshot taken before the compaction');

	# A delete that commits after the merge, while the plan waits to swap:
	# the swap must carry it onto the target.
	my $h = hold_write_lock($coll, 700);
	my $cid = sql("SELECT segstore.compact('$coll')");
	wait_for_swap_wait();
	$h->query_safe('COMMIT');
	forget($coll, 700);
	is(wait_for_compaction($cid), 'Completed', 'after swap: Completed');
	is(compaction_state($cid), 'Completed 0 1 0 0 1', 'after swap: one plan completed');
	my $targets = sql("SELECT array_to_string(targets, ',') FROM segstore.compaction_plans($cid)");
	is(flushed($coll), $targets, 'after swap: the targets are the live segments');
	is(segments_in_state($coll, 'compacted'), $sources,
		'after swap: the sources are swapped out and kept for the old snapshot');
	is($r->query_safe("SELECT count(*) FROM segstore.query('$coll', NULL)"),
		$live_before, 'after swap: the old snapshot still reads the sources');
	my @source_files = map { "$datadir/$_" } split /\n/,
	  sql("SELECT path FROM segstore.binlogs('$coll') WHERE segment_id IN ($sources)");
	is(scalar(grep { -f $_ } @source_files), scalar(@source_files),
		'after swap: the source files are there');
	crash_restart($h, $r);

	is(compaction_state($cid), 'Completed 0 1 0 0 1', 'stop after swap: still Completed');
	is(flushed($coll), $targets, 'stop after swap: the targets are the live segments');
	is(segments_in_state($coll, 'compacted'), $sources,
		'stop after swap: the sources wait for garbage collection');
	check_state($coll, 'stop after swap');
	is(sql('SELECT removed_files FROM segstore.gc()'), scalar(@source_files),
		'stop after swap: gc() removes the sources\' files');
	is(scalar(grep { -e $_ } @source_files), 0, 'stop after swap: they are gone');
	is(segments_in_state($coll, 'dropped'), $sources, 'stop after swap: the sources are dropped');
	check_state($coll, 'stop after swap, after gc');
	check_files('stop after swap');
	compact_again($coll, 'stop after swap');
}

### Stop during garbage collection

{
	my $coll = 'during_gc';
	small_collection($coll);
	my $sources = flushed($coll);
	my $r = $node->background_psql('postgres');
	$r->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
	$r->query_safe("SELECT count(*) FROM segstore.query('$coll', NULL)");
	my $cid = sql("SELECT segstore.compact('$coll')");
	is(wait_for_compaction($cid), 'Completed', 'during gc: Completed');
	my @source_files = map { "$datadir/$_" } split /\n/,
	  sql("SELECT path FROM segstore.binlogs('$coll') WHERE segment_id IN ($sources)");
	ok(scalar(@source_files) > 0, 'during gc: the sources have files');

	# Let go of the snapshot: the worker, retrying, collects the sources.
	my $offset = -s $node->logfile;
	$r->query_safe('COMMIT');
	$node->wait_for_log(qr/segstore: garbage collection removed \d+ files/, $offset);
	crash_restart($r);
	like(sql("SELECT string_agg(DISTINCT state, ',') FROM segstore.segments('$coll') "
			  . "WHERE segment_id IN ($sources)"),
		qr/^(compacted|dropped)$/, 'stop during the worker\'s gc: the sources are one thing or the other');
	check_state($coll, 'stop during the worker\'s gc');

	# A gc() that committed, then the stop.
	sql('SELECT * FROM segstore.gc()');
	crash_restart();
	is(segments_in_state($coll, 'dropped'), $sources, 'stop after gc(): the sources are dropped');
	is(scalar(grep { -e $_ } @source_files), 0, 'stop after gc(): their files are gone');
	is_deeply([ files_on_disk() ], [ files_referenced() ],
		'stop after gc(): the files are exactly the referenced ones');
	check_state($coll, 'stop after gc()');
	check_files('stop after gc()');
	compact_again($coll, 'stop during gc');
}

### A corrupt source: the plan fails, the sources stay

{
	my $coll = 'corrupt';
	create_collection($coll, 128);
	insert_interleaved($coll, 0, 25000);
	delete_expr($coll, 'id < 100', 0 .. 99);
	my $before = flushed($coll);
	my $path = sql("SELECT path FROM segstore.binlogs('$coll') "
		  . "WHERE kind = 'insert' ORDER BY segment_id DESC LIMIT 1");

	# Flip a byte in the middle of the second segment's insert binlog.
	my $file = "$datadir/$path";
	my $at = int((-s $file) / 2);
	open(my $fh, '+<:raw', $file) or die "open $file: $!";
	seek($fh, $at, 0) or die "seek: $!";
	read($fh, my $byte, 1) == 1 or die "read: $!";
	seek($fh, $at, 0) or die "seek: $!";
	print $fh chr(ord($byte) ^ 0xff) or die "write: $!";
	close($fh) or die "close: $!";

	# Small chunks, so that the merge has written rows of both sources
	# before it reads the damaged block.
	my $offset = -s $node->logfile;
	my $cid = sql("SET segstore.compaction_memory_limit = '32MB';
SELECT segstore.compact('$coll')");
	is(wait_for_compaction($cid), 'Failed', 'corrupt source: Failed');
	is(compaction_state($cid), 'Failed 0 0 1 0 1', 'corrupt source: one failed plan');
	my ($plan_id) = split /\|/, plans($cid);
	my $error = qq(segstore file "$path" is corrupt);
	is(plans($cid), "$plan_id|failed|$error", 'corrupt source: the plan says which file is corrupt');
	is(sql("SELECT state || '|' || errors FROM segstore.compactions WHERE compaction_id = $cid"),
		"Failed|$error", 'corrupt source: so does the compactions view');
	ok($node->log_contains(qr/segstore: compaction plan $plan_id failed: \Q$error\E/, $offset),
		'corrupt source: and the server log');
	is(flushed($coll), $before, 'corrupt source: the sources are still the segments');
	check_files('corrupt source');

	# Repaired, the data is all there and compacts.
	open($fh, '+<:raw', $file) or die "open $file: $!";
	seek($fh, $at, 0) or die "seek: $!";
	print $fh $byte or die "write: $!";
	close($fh) or die "close: $!";
	check_state($coll, 'corrupt source repaired');
	compact_again($coll, 'corrupt source repaired');
}

### A cancelled plan: cancelled while it waits to swap

{
	my $coll = 'cancelled';
	small_collection($coll);
	my $before = flushed($coll);
	my $h = hold_write_lock($coll, 700);
	my $cid = sql("SELECT segstore.compact('$coll')");
	wait_for_swap_wait();
	sql("SELECT segstore.cancel_compaction($cid)");
	wait_for_sql('the cancelled plan to stop while it waits for the lock',
		"SELECT state <> 'Executing' FROM segstore.compaction_state($cid)");
	# The delete the plan waited for commits: it stays on the source.
	$h->query_safe('COMMIT');
	$h->quit;
	forget($coll, 700);
	is(wait_for_compaction($cid), 'Failed', 'cancelled: Failed');
	is(compaction_state($cid), 'Failed 0 0 1 0 1', 'cancelled: the plan counts as failed');
	my ($plan_id, $state, $error) = split /\|/, plans($cid);
	is($state, 'cancelled', 'cancelled: plan state cancelled');
	like($error, qr/cancel/, 'cancelled: and an error saying so');
	is(flushed($coll), $before, 'cancelled: the sources are still the segments');
	check_state($coll, 'cancelled');
	check_files('cancelled');
	compact_again($coll, 'cancelled');
}

### A plan that times out waiting to swap

{
	my $coll = 'timed_out';
	small_collection($coll);
	my $before = flushed($coll);
	my $h = hold_write_lock($coll, 700);
	# The plan takes the timeout of the session that queued it.
	my $cid = sql("SET segstore.compaction_timeout = '1s'; SELECT segstore.compact('$coll')");
	wait_for_swap_wait();
	# The lock is held until the plan has given up.
	is(wait_for_compaction($cid), 'Failed', 'timeout at swap: Failed while the lock is held');
	$h->query_safe('ROLLBACK');
	$h->quit;
	is(compaction_state($cid), 'Failed 0 0 0 1 1', 'timeout at swap: timeout_plan_no = 1');
	my ($plan_id) = split /\|/, plans($cid);
	is(plans($cid),
		"$plan_id|timeout|compaction plan $plan_id timed out after 1 s waiting to swap",
		'timeout at swap: state timeout and the reason');
	is(flushed($coll), $before, 'timeout at swap: the sources are still the segments');
	check_state($coll, 'timeout at swap');
	check_files('timeout at swap');
	compact_again($coll, 'timeout at swap');
}

$node->stop;
done_testing();
