
# Differential test: random inserts, upserts, deletes (by ids and by Milvus
# expressions), flushes, transactions and compactions (manual, full, by the
# trigger rules; some still running while later steps write) are applied
# both to a segstore collection and to a plain heap table with the same
# columns; after every step both must hold the same rows, and a search
# (IVF_FLAT at nprobe = nlist, which is exact, with a random filter) must
# return what a brute-force ORDER BY over the heap table returns.
#
#   SEGSTORE_SEED=n       repeat a run (the seed is printed)
#   SEGSTORE_DIFF_OPS=n   number of steps (default 2000)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $seed = $ENV{SEGSTORE_SEED} // int(rand(2**31));
my $nsteps = $ENV{SEGSTORE_DIFF_OPS} // 2000;
diag("random seed $seed (SEGSTORE_SEED=$seed repeats this run)");
srand($seed);

# Keys are drawn from [0, KEYS), so that inserts, upserts and deletes keep
# meeting live keys.
my $KEYS = 4000;
my $DIRECT = 50;    # segstore.insert_direct_threshold

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init(extra => [ '--locale=C', '--encoding=UTF8' ]);
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'segstore'
# the maintenance worker stays out of the way: this test drives compaction
segstore.compaction_interval = '1d'
segstore.insert_direct_threshold = $DIRECT
segstore.min_index_rows = 64
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION segstore;
SELECT segstore.create_collection('diff',
	'id int8 PRIMARY KEY, vector float4[4], a int4, b float8, flag bool, t varchar(20)');
CREATE TABLE ref (id int8 PRIMARY KEY, vector float4[] NOT NULL, a int4 NOT NULL,
				  b float8 NOT NULL, flag bool NOT NULL, t varchar(20) NOT NULL);
-- segments of at least 64 rows get IVF_FLAT files, smaller ones FLAT
SELECT segstore.create_index('diff', 'vector', 'IVF_FLAT', 'L2', '{"nlist": 4}');
});

# One session for everything: a psql per statement would be far slower.
my $s = $node->background_psql('postgres', on_error_stop => 0);
$s->set_query_timer_restart;

# Runs SQL in the session; returns its output and its error text ('' if
# none).  Errors are shown with their SQLSTATE (VERBOSITY verbose).
sub sql
{
	my ($q) = @_;
	$s->{stderr} = '';
	my $out = $s->query($q);
	return ($out, $s->{stderr});
}
sql("\\set VERBOSITY verbose\nSET client_min_messages = warning\nSET segstore.merge_min_segments = 3");

my @history;         # the write statements so far, for the report
my %live;            # live ids, as the heap table holds them
my $failure;         # the first mismatch; ends the run
my $max_flushed = 0; # the most flushed segments seen at once

# Runs SQL that must succeed; a failure is the test's failure.
sub query_ok
{
	my ($q) = @_;
	my ($out, $err) = sql($q);
	$failure //= "unexpected error: $err\nin: $q" if $err ne '';
	return $out;
}

# The same, for a statement of a step, which goes into the history.
sub run_ok
{
	my ($q) = @_;
	push @history, $q;
	return query_ok($q);
}

# Compares got with expected; the first difference is the test's failure.
sub expect
{
	my ($got, $expected, $what) = @_;
	return if defined $failure || $got eq $expected;
	$failure = "$what: got '$got', expected '$expected'";
}

### Random data

my @chars = ('a', 'b', 'c', 'd', 'é');

sub rand_string
{
	my $len = int(rand(21));
	return join('', map { $chars[ int(rand(@chars)) ] } 1 .. $len);
}

# Values that float4, float8 and their text forms represent exactly.
sub rand_row
{
	my ($id) = @_;
	return {
		id => $id,
		vector => [ map { (int(rand(2001)) - 1000) / 8 } 1 .. 4 ],
		a => int(rand(2001)) - 1000,
		b => (int(rand(8001)) - 4000) / 4,
		flag => rand() < 0.5 ? 'true' : 'false',
		t => rand_string(),
	};
}

sub fresh_ids
{
	my ($n) = @_;
	my %ids;
	for (1 .. 20 * $n)
	{
		last if keys %ids == $n;
		my $id = int(rand($KEYS));
		$ids{$id} = 1 unless $live{$id};
	}
	return keys %ids;
}

sub live_ids
{
	my ($n) = @_;
	my @ids = keys %live;
	my %pick;
	$pick{ $ids[ int(rand(@ids)) ] } = 1 for 1 .. ($n < @ids ? $n : @ids);
	return keys %pick;
}

sub batch_size
{
	my ($large) = @_;
	return $large ? $DIRECT + int(rand(100)) : 1 + int(rand($DIRECT < 10 ? $DIRECT - 1 : 9));
}

### Statements for both sides

sub segstore_write_sql
{
	my ($fn, @rows) = @_;
	my $col = sub { my ($f) = @_; join(',', map { $_->{$f} } @rows) };
	return
		"SELECT segstore.$fn('diff', ARRAY["
	  . $col->('id')
	  . "]::int8[], ARRAY["
	  . join(',', map { '[' . join(',', @{ $_->{vector} }) . ']' } @rows)
	  . "]::float4[], ARRAY["
	  . $col->('a')
	  . "]::int4[], ARRAY["
	  . $col->('b')
	  . "]::float8[], ARRAY["
	  . $col->('flag')
	  . "]::bool[], ARRAY["
	  . join(',', map { "'$_->{t}'" } @rows)
	  . "]::text[])";
}

sub heap_insert_sql
{
	my ($upsert, @rows) = @_;
	return
		"INSERT INTO ref VALUES "
	  . join(
		',',
		map {
			"($_->{id}, ARRAY["
			  . join(',', @{ $_->{vector} })
			  . "]::float4[], $_->{a}, $_->{b}, $_->{flag}, '$_->{t}')"
		} @rows)
	  . ($upsert
		? ' ON CONFLICT (id) DO UPDATE SET vector = EXCLUDED.vector, a = EXCLUDED.a, '
		  . 'b = EXCLUDED.b, flag = EXCLUDED.flag, t = EXCLUDED.t'
		: '');
}

### Random Milvus expressions, each with the equivalent SQL condition

my %sqlop = ('==' => '=', '!=' => '<>', '<' => '<', '<=' => '<=', '>' => '>', '>=' => '>=');

sub rand_of { return $_[ int(rand(@_)) ] }

sub int_field_literal
{
	my ($f) = @_;
	return $f eq 'id' ? int(rand($KEYS + 200)) - 100 : int(rand(2200)) - 1100;
}

# Returns [milvus, sql] for one comparison.
sub rand_atom
{
	my $k = int(rand(8));
	if ($k == 0)
	{
		my $f = rand_of('id', 'a');
		my $op = rand_of(keys %sqlop);
		my $v = int_field_literal($f);
		return [ "$f $op $v", "$f $sqlop{$op} $v" ];
	}
	if ($k == 1)
	{
		my $op = rand_of(keys %sqlop);
		my $v = sprintf('%.2f', rand(2000) - 1000);
		return [ "b $op $v", "b $sqlop{$op} $v" ];
	}
	if ($k == 2)
	{
		my $op = rand_of('==', '!=');
		my $v = rand_of('true', 'false');
		return [ "flag $op $v", "flag $sqlop{$op} $v" ];
	}
	if ($k == 3)
	{
		my $op = rand_of(keys %sqlop);
		my $v = rand_string();
		return [ "t $op \"$v\"", "t $sqlop{$op} '$v'" ];
	}
	if ($k == 4)
	{
		my $v = join('', map { $chars[ int(rand(@chars)) ] } 0 .. int(rand(3)));
		return [ "t like \"$v%\"", "t LIKE '$v%'" ];
	}
	if ($k == 5)
	{
		my $f = rand_of('id', 'a', 't');
		my @v =
		  $f eq 't'
		  ? map { '"' . rand_string() . '"' } 0 .. int(rand(4))
		  : map { int_field_literal($f) } 0 .. int(rand(20));
		my @sqlv = map { (my $x = $_) =~ tr/"/'/; $x } @v;
		my ($not, $sqlnot) = rand() < 0.3 ? ('not ', 'NOT ') : ('', '');
		return [ "$f ${not}in [" . join(', ', @v) . "]",
			"$f ${sqlnot}IN (" . join(', ', @sqlv) . ")" ];
	}
	# A chained range such as "10 <= id < 50".
	my $f = rand_of('id', 'a');
	my ($lo, $hi) = sort { $a <=> $b } (int_field_literal($f), int_field_literal($f));
	my $op1 = rand_of('<', '<=');
	my $op2 = rand_of('<', '<=');
	return [ "$lo $op1 $f $op2 $hi", "($lo $op1 $f AND $f $op2 $hi)" ];
}

# Returns [milvus, sql]; both have the same structure and parentheses, so
# and/or precedence is exercised as well.
sub rand_expr
{
	my ($depth) = @_;
	return rand_atom() if $depth == 0 || rand() < 0.35;
	my $k = int(rand(5));
	my $l = rand_expr($depth - 1);
	if ($k == 0)
	{
		return [ rand_of('not', '!') . " ($l->[0])", "NOT ($l->[1])" ];
	}
	if ($k == 1)
	{
		return [ "($l->[0])", "($l->[1])" ];
	}
	my $r = rand_expr($depth - 1);
	my ($op, $sqlop) = rand_of([ 'and', 'AND' ], [ '&&', 'AND' ], [ 'or', 'OR' ],
		[ '||', 'OR' ])->@*;
	return [ "$l->[0] $op $r->[0]", "$l->[1] $sqlop $r->[1]" ];
}

### Steps

sub do_insert
{
	my ($fn, $large) = @_;
	my $n = batch_size($large);
	my @ids = $fn eq 'upsert'
	  ? (live_ids(int($n / 2)), fresh_ids($n - int($n / 2)))
	  : fresh_ids($n);
	return unless @ids;
	my %seen;
	my @rows = map { rand_row($_) } grep { !$seen{$_}++ } @ids;
	expect(run_ok(segstore_write_sql($fn, @rows)), scalar(@rows), "segstore.$fn count");
	run_ok(heap_insert_sql($fn eq 'upsert', @rows));
	$live{ $_->{id} } = 1 for @rows;
}

# A batch with one live key fails with 23505 on both sides.
sub do_duplicate_insert
{
	my @dup = live_ids(1);
	return unless @dup;
	my @rows = map { rand_row($_) } (fresh_ids(batch_size(rand() < 0.3)), @dup);
	for my $q (segstore_write_sql('insert', @rows), heap_insert_sql(0, @rows))
	{
		push @history, $q;
		my (undef, $err) = sql($q);
		expect($err =~ /ERROR:\s+23505:/ ? 'unique violation' : $err,
			'unique violation', "insert of live key $dup[0]");
	}
}

sub do_delete_ids
{
	my @ids = (live_ids(int(rand(8))), map { int(rand($KEYS)) } 0 .. int(rand(4)));
	my $list = join(',', @ids);
	my $deleted = run_ok("SELECT segstore.delete('diff', ARRAY[$list]::int8[])");
	my $expected = run_ok(
		"WITH d AS (DELETE FROM ref WHERE id IN ($list) RETURNING 1) SELECT count(*) FROM d");
	expect($deleted, $expected, 'segstore.delete(ids) count');
	delete $live{$_} for @ids;
}

sub do_delete_expr
{
	my $e = rand_expr(3);
	# Most deletes are confined to a key range, so that the collection keeps
	# a couple of thousand rows.
	if (rand() < 0.9)
	{
		my $lo = int(rand($KEYS));
		my $hi = $lo + 1 + int(rand(150));
		$e = [ "($e->[0]) and $lo <= id < $hi", "($e->[1]) AND ($lo <= id AND id < $hi)" ];
	}
	my $deleted = run_ok("SELECT segstore.delete('diff', '$e->[0]')");
	my $expected = run_ok(
		"WITH d AS (DELETE FROM ref WHERE $e->[1] RETURNING id) SELECT count(*) FROM d");
	expect($deleted, $expected, "segstore.delete('$e->[0]') count");
}

sub do_flush
{
	run_ok("SELECT segstore.flush('diff')");
}

# A write step, chosen at random.
sub do_write
{
	my $r = rand();
	if    ($r < 0.30) { do_insert('insert', 0) }
	elsif ($r < 0.42) { do_insert('insert', 1) }
	elsif ($r < 0.54) { do_insert('upsert', 0) }
	elsif ($r < 0.60) { do_insert('upsert', 1) }
	elsif ($r < 0.75) { do_delete_ids() }
	elsif ($r < 0.90) { do_delete_expr() }
	else              { do_flush() }
}

# Compactions queued and not yet waited for: they run while later steps
# write, which must change no answer.
my @running;
my $compactions = 0;

# Waits for the running compactions; each must complete.  One that does
# not is reported with its plans' states and errors.
sub wait_compactions
{
	for my $id (@running)
	{
		my $state = query_ok("SELECT segstore.wait_for_compaction($id, '2 min')");
		if ($state ne 'Completed' && !defined $failure)
		{
			my $plans = query_ok(
				"SELECT string_agg(plan_id || ' ' || state || coalesce(': ' || error, ''), '; ') "
				  . "FROM segstore.compaction_plans($id)");
			$state .= " (plans: $plans)";
		}
		expect($state, 'Completed', "compaction $id");
	}
	@running = ();
}

# A compaction step: manual, full or by the automatic rules, waited for at
# once or left running.
sub do_compact
{
	my $how = rand_of("segstore.compact('diff')", "segstore.compact('diff', \"full\" => true)",
		"segstore.trigger_compaction('diff')");
	my $id = query_ok("SELECT $how");
	push @history, "SELECT $how";
	return if $id eq '';    # no rule fired
	$compactions++;
	push @running, $id;
	wait_compactions() if rand() < 0.5;
	query_ok('SELECT removed_files FROM segstore.gc()') if rand() < 0.3;
}

# Compares the whole collection with the heap table, and the rows of a
# random expression with those of its SQL condition.  Refreshes %live.
sub check_step
{
	my ($step) = @_;
	return if defined $failure;
	my $e = rand_expr(3);
	my $fields = "ARRAY['id', 'vector', 'a', 'b', 'flag', 't']";
	my $out = query_ok(
		qq{
WITH s AS MATERIALIZED (
	SELECT r.* FROM segstore.query('diff', 'id >= 0 or id < 0', $fields) j,
		 jsonb_populate_record(NULL::ref, j) r),
se AS MATERIALIZED (
	SELECT r.* FROM segstore.query('diff', '$e->[0]', $fields) j,
		 jsonb_populate_record(NULL::ref, j) r),
he AS (SELECT * FROM ref WHERE $e->[1])
SELECT segstore.num_entities('diff'), (SELECT count(*) FROM ref), (SELECT count(*) FROM s),
	   (SELECT count(*) FROM ((TABLE s EXCEPT ALL TABLE ref)
							  UNION ALL (TABLE ref EXCEPT ALL TABLE s)) d),
	   (SELECT count(*) FROM se), (SELECT count(*) FROM he),
	   (SELECT count(*) FROM ((TABLE se EXCEPT ALL TABLE he)
							  UNION ALL (TABLE he EXCEPT ALL TABLE se)) d),
	   (SELECT count(*) FROM segstore.segments('diff') WHERE state = 'flushed'),
	   (SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM ref)});
	return if defined $failure;
	my ($num, $heap, $all, $diff, $sel, $hsel, $sdiff, $flushed, $ids) =
	  split /\|/, $out, -1;
	$max_flushed = $flushed if $flushed > $max_flushed;
	expect($num, $heap, "step $step: num_entities vs count(*)");
	expect($all, $heap, "step $step: rows of query('id >= 0 or id < 0') vs count(*)");
	expect($diff, 0, "step $step: rows that differ between collection and heap");
	expect($sel, $hsel, "step $step: rows of query('$e->[0]') vs WHERE $e->[1]");
	expect($sdiff, 0, "step $step: rows that differ for query('$e->[0]')");
	%live = map { $_ => 1 } split /,/, $ids;

	# Vector components are multiples of 1/8 within +-125, so squared
	# distances are exact in float4 and ties are broken by id on both sides.
	my $q = '{' . join(',', @{ rand_row(0)->{vector} }) . '}';
	my $k = rand_of(1, 5, 20, 200);
	my $filter = rand() < 0.5 ? $e : [ 'id >= 0 or id < 0', 'true' ];
	my $search = query_ok(
		qq{
SELECT (SELECT coalesce(string_agg(id || ':' || distance, ',' ORDER BY distance, id), '')
		FROM segstore.search('diff', '$q', $k, '{"nprobe": 4}', '$filter->[0]')),
	   (SELECT coalesce(string_agg(id || ':' || d, ',' ORDER BY d, id), '')
		FROM (SELECT id, (SELECT sum((x - y)::float8 ^ 2) FROM unnest(vector, '$q'::float4[]) u(x, y))::float4 AS d
			  FROM ref WHERE $filter->[1] ORDER BY 2, 1 LIMIT $k) h)});
	return if defined $failure;
	my ($got, $want) = split /\|/, $search, -1;
	expect($got, $want, "step $step: search('$q', k $k, filter '$filter->[0]') vs ORDER BY over the heap");
}

my $step;
for ($step = 1; $step <= $nsteps && !defined $failure; $step++)
{
	my $r = rand();
	my $ids_before;    # set when the step rolls back
	if ($r < 0.05)
	{
		do_duplicate_insert();
	}
	elsif ($r < 0.14)
	{
		do_compact();
	}
	elsif ($r < 0.16)
	{
		wait_compactions();
	}
	elsif ($r < 0.21)
	{
		# A transaction of several writes, committed or rolled back; a
		# rolled back one must leave no trace on either side.
		my $commit = rand() < 0.5;
		$ids_before = join(',', sort { $a <=> $b } keys %live) unless $commit;
		run_ok('BEGIN');
		do_write() for 0 .. 1 + int(rand(4));
		run_ok($commit ? 'COMMIT' : 'ROLLBACK');
	}
	else
	{
		do_write();
	}
	check_step($step);
	expect(join(',', sort { $a <=> $b } keys %live), $ids_before, "step $step: ids after ROLLBACK")
	  if defined $ids_before;
}

wait_compactions() unless defined $failure;
check_step($step) unless defined $failure;

if (defined $failure)
{
	diag("seed $seed, step " . ($step - 1) . ": $failure");
	diag("last statements:\n" . join(";\n", @history[ ($#history > 20 ? $#history - 20 : 0) .. $#history ]));
	my ($rows) = sql(
		q{
WITH s AS MATERIALIZED (
	SELECT r.* FROM segstore.query('diff', 'id >= 0 or id < 0',
								   ARRAY['id', 'vector', 'a', 'b', 'flag', 't']) j,
		 jsonb_populate_record(NULL::ref, j) r)
(SELECT 'segstore only', s.* FROM (TABLE s EXCEPT ALL TABLE ref) s LIMIT 10)
UNION ALL
(SELECT 'heap only', h.* FROM (TABLE ref EXCEPT ALL TABLE s) h LIMIT 10)});
	diag("rows that differ (first 10 each way):\n$rows");
}
is($failure // 'none', 'none', "segstore and heap agree after each of $nsteps steps");

# The run really queried across several sealed segments (compaction may
# have merged them by the end), and compacted.
cmp_ok($max_flushed, '>', 1, 'the collection had several flushed segments');
cmp_ok($compactions, '>', 0, 'compactions ran between the steps');

$s->quit;
$node->stop;
done_testing();
