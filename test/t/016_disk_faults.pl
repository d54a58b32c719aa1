
# A full disk and failing I/O: the server's segstore directory lives on a
# small tmpfs that the test fills for real, during inserts, flushes, index
# builds (build_index(), as the worker runs them) and a compaction.  Each fails its statement with 53100 naming the
# file, registers nothing, leaves no file behind once gc() ran, and never
# takes the server down (index files used to be filled through a mapping of
# a sparse file: a page fault on a full disk raised SIGBUS and restarted
# every session; they are now written with pwrite, a list's buffer at a
# time).  Once space returns, the same statements work.  I/O errors (58030)
# come from the test hook segstore.inject_io_error, on writes and reads of
# insert binlogs and index files, including writes in the middle of an
# index file and its read-back for the checksum.
#
# Mounting needs root: scripts/test.sh, run as root as CI runs it, mounts
# the tmpfs, passes its path in SEGSTORE_TEST_TMPFS and unmounts it when
# it ends, however the test ended.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SegstoreTest qw(files_under);

my $tmpfs = $ENV{SEGSTORE_TEST_TMPFS};
plan skip_all =>
  'needs a small tmpfs for $PGDATA/segstore, which scripts/test.sh mounts only when run as root'
  unless defined $tmpfs && -d $tmpfs && -w $tmpfs;

my $node = PostgreSQL::Test::Cluster->new('faults');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'segstore'
segstore.compaction_interval = '1d'
segstore.insert_direct_threshold = 5000
max_worker_processes = 16
});

# $PGDATA/segstore is the tmpfs, through a symbolic link made before the
# server first creates the directory.
my $root = "$tmpfs/segstore";
mkdir $root or die "mkdir $root: $!";
symlink($root, $node->data_dir . '/segstore') or die "symlink: $!";
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION segstore;
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[64]');
CREATE ROLE plain LOGIN;
});

my $filler = "$tmpfs/filler";

# Fills the tmpfs up, then gives back $leave bytes of it.
sub fill
{
	my ($leave) = @_;
	open(my $fh, '>', $filler) or die "open $filler: $!";
	my $chunk = "\0" x (1024 * 1024);
	my $size = 0;
	while (1)
	{
		my $n = syswrite($fh, $chunk);
		last unless defined $n && $n > 0;
		$size += $n;
	}
	die "the tmpfs did not fill up: $!" unless $!{ENOSPC};
	truncate($fh, $size > $leave ? $size - $leave : 0) or die "truncate: $!";
	close($fh);
}

sub free_space { unlink $filler or die "unlink $filler: $!"; }

# Rows [lo, hi) as one insert.
sub insert_sql
{
	my ($lo, $hi) = @_;
	return qq{SELECT segstore.insert('c', array_agg(i::int8 ORDER BY i),
	array_agg(array_fill((i % 13)::float4, ARRAY[64]) ORDER BY i))
FROM generate_series($lo, $hi - 1) i};
}

# The error, with its SQLSTATE, that $sql ends with; '' if none.
sub error_of
{
	my ($sql, %opts) = @_;
	my ($rc, $out, $err) =
	  $node->psql('postgres', "\\set VERBOSITY verbose\n$sql", %opts);
	my ($line) = $err =~ /^(?:psql:[^:]*:\d+: )?(ERROR:.*)$/m;
	return $line // '';
}

# The files of the collection are exactly those its catalog references.
sub check_files
{
	my ($what) = @_;
	$node->safe_psql('postgres', 'SELECT segstore.gc()');
	my @files = map { s{^\Q$tmpfs\E/}{}r } files_under($root);
	is(join(',', @files),
		$node->safe_psql('postgres',
			"SELECT coalesce(string_agg(path, ',' ORDER BY path), '') FROM segstore.binlogs('c')"),
		"$what: after gc(), exactly the referenced files");
}

sub live { return $node->safe_psql('postgres', "SELECT segstore.num_entities('c')"); }

my $disk_full = qr/^ERROR:  53100: could not write to segstore file "segstore\/[^"]+"/;
my $index_full =
  qr/^ERROR:  53100: could not write to segstore file "segstore\/\d+\/\d+\/\d+_\d+\.index\.\d+\.tmp": No space left on device/;

# 1. Flush and a direct insert on a full disk.
$node->safe_psql('postgres', insert_sql(0, 3000));
fill(0);
like(error_of("SELECT segstore.flush('c')"), $disk_full, 'flush on a full disk: 53100');
like(error_of(insert_sql(3000, 9000)), $disk_full, 'direct insert on a full disk: 53100');
is(live(), '3000', 'nothing of the failed insert, the growing rows kept');
is($node->safe_psql('postgres', "SELECT string_agg(state, ',') FROM segstore.segments('c')"),
	'growing', 'no segment registered');
check_files('full disk, flush and insert');
free_space();
$node->safe_psql('postgres', "SELECT segstore.flush('c')");
$node->safe_psql('postgres', insert_sql(3000, 9000));
is(live(), '9000', 'flush and direct insert work once space is back');

# 2. An index build whose file does not fit: the binlogs are small (the
# vectors compress well), the index file holds them raw.
fill(64 * 1024);
like(
	error_of(
		q{SELECT segstore.create_index('c', 'v', 'IVF_FLAT', 'L2', '{"nlist": 16}')}),
	$index_full,
	'index build on a full disk: 53100 from writing the index file');
check_files('full disk, index build');
free_space();

# The same with room for part of the file: some lists are written before
# the disk fills.
fill(1024 * 1024);
like(
	error_of(
		q{SELECT segstore.create_index('c', 'v', 'IVF_FLAT', 'L2', '{"nlist": 16}')}),
	$index_full,
	'index build filling the disk half-way through the file: 53100');
check_files('full disk half-way through an index file');
free_space();
$node->safe_psql('postgres',
	q{SELECT segstore.create_index('c', 'v', 'IVF_FLAT', 'L2', '{"nlist": 16}')});
is( $node->safe_psql('postgres',
		"SELECT string_agg(DISTINCT index_state, ',') FROM segstore.segments('c')"),
	'IVF_FLAT', 'the index builds once space is back');

# 3. A segment that fits but whose index file does not.  Its k-means is
# not the flush's to run: the flush seals, build_index() (as the worker
# would) fails on the full disk, as an error, not as the segment's failure.
$node->safe_psql('postgres', insert_sql(9000, 12000));
$node->safe_psql('postgres', "SELECT segstore.flush('c')");
fill(256 * 1024);
like(error_of("SELECT segstore.build_index('c')"), $disk_full,
	'an index build on a full disk: 53100');
check_files('full disk, an index build');
free_space();
is($node->safe_psql('postgres', "SELECT segstore.build_index('c')"),
	'1', 'the index file builds once space is back');

# 4. A compaction on a full disk fails its plans in the worker, which
# reports why; the server stays up and the compaction can run again.
$node->safe_psql('postgres', "SELECT segstore.delete('c', 'id < 1000'); SELECT segstore.flush('c')");
is(live(), '11000', 'deletes flushed');
fill(0);
my $id = $node->safe_psql('postgres', "SELECT segstore.compact('c')");
is($node->safe_psql('postgres', "SELECT segstore.wait_for_compaction($id)"),
	'Failed', 'compaction on a full disk fails');
ok($node->log_contains(qr/could not write to segstore file "segstore\/[^"]+".*No space left on device/),
	'the worker logged the full disk');
free_space();
check_files('full disk, compaction');
$id = $node->safe_psql('postgres', "SELECT segstore.compact('c')");
is($node->safe_psql('postgres', "SELECT segstore.wait_for_compaction($id)"),
	'Completed', 'compaction completes once space is back');
$node->poll_query_until('postgres',
	"SELECT (SELECT removed_files FROM segstore.gc()) >= 0 AND NOT EXISTS "
	  . "(SELECT 1 FROM segstore.segments('c') WHERE state = 'compacted')")
  or die 'compacted segments not collected';
check_files('after the compaction');
is(live(), '11000', 'every live row after the compaction');

# 5. Injected I/O errors, writing and reading insert binlogs and index
# files; the hook is for superusers only.
my $io_error = qr/^ERROR:  58030: could not (write to|read) segstore file "segstore\/[^"]+".*Input\/output error/;
$node->safe_psql('postgres', insert_sql(12000, 15000));
like(error_of("SET segstore.inject_io_error = 'write .insert 1'; SELECT segstore.flush('c')"),
	$io_error, 'write error in an insert binlog: 58030');
$node->safe_psql('postgres', "SELECT segstore.flush('c')");
like(error_of("SET segstore.inject_io_error = 'write .index 1'; SELECT segstore.build_index('c')"),
	$io_error, 'write error in an index file: 58030');
# The 10th write of the file: past its list offsets, centroids, keys and
# timestamps, in the lists' vectors and row numbers.
like(error_of("SET segstore.inject_io_error = 'write .index 10'; SELECT segstore.build_index('c')"),
	$io_error, 'write error in the middle of an index file: 58030');
# The index file's first read is the read-back that checksums it.
like(error_of("SET segstore.inject_io_error = 'read .index 1'; SELECT segstore.build_index('c')"),
	qr/^ERROR:  58030: could not read segstore file "segstore\/[^"]+\.index\.\d+\.tmp".*Input\/output error/,
	'read error reading an index file back for its checksum: 58030');
is($node->safe_psql('postgres', "SELECT count(*) FROM segstore.index_failure"),
	'0', 'I/O errors are no segment\'s failure');
check_files('write errors');
is($node->safe_psql('postgres', "SELECT segstore.build_index('c')"),
	'1', 'the index file builds without the I/O errors');
like(error_of("SET segstore.inject_io_error = 'read .insert 1'; SELECT count(*) FROM segstore.query('c', 'id >= 0')"),
	$io_error, 'read error in an insert binlog: 58030');
like(
	error_of(
		"SET segstore.inject_io_error = 'read .index 1'; SELECT count(*) FROM segstore.search('c', array_fill(1::float4, ARRAY[64]), 5)"),
	$io_error,
	'read error in an index file: 58030');
like(error_of("SET segstore.inject_io_error = 'write .insert 1'", extra_params => [ '-U', 'plain' ]),
	qr/^ERROR:  42501: permission denied to set parameter "segstore.inject_io_error"/,
	'the hook is for superusers');
$node->safe_psql('postgres', "SELECT segstore.flush('c')");
is($node->safe_psql('postgres', "SELECT count(*) FROM segstore.query('c', 'id >= 0')"),
	'14000', 'reads work without the hook');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM segstore.search('c', array_fill(1::float4, ARRAY[64]), 5)"),
	'5', 'search works without the hook');
check_files('the end');

# Nothing above crashed a process or restarted the server.
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|server process .* was terminated/,
	'no process crashed');
$node->stop;
done_testing();
