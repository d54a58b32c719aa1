# Tests of scripts/check_layers.pl: the tree as it is passes, and each kind
# of violation, made on purpose in a copy of src/, fails with its message.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use Test::More;

my $top = dirname(dirname(dirname(__FILE__)));
$top = '.' if $top eq '';
my $checker = "$top/scripts/check_layers.pl";
my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
my $includedir = `$pg_config --includedir-server`;
chomp $includedir;
ok(-d $includedir, "PostgreSQL's server headers at $includedir");

# Runs the checker on a tree; returns its exit status and output.
sub check
{
	my ($root) = @_;
	my $out = `perl $checker --root $root --pg-includedir $includedir 2>&1`;
	return ($? >> 8, $out);
}

# A copy of src/ to damage, changed by $edit (a sub given the copy's root).
sub damaged
{
	my ($edit) = @_;
	my $root = tempdir(CLEANUP => 1);
	system('cp', '-R', "$top/src", "$root/src") == 0 or die "cp failed";
	$edit->($root);
	return $root;
}

# Appends a line to a file of a tree.
sub append_line
{
	my ($path, $line) = @_;
	open my $fh, '>>', $path or die "cannot open $path: $!";
	print $fh "$line\n";
	close $fh;
}

my ($rc, $out) = check($top);
is($rc, 0, 'the tree passes the layer check') or diag $out;
like($out, qr/no forbidden include, no cycle/, 'and says so');

# An include from a lower layer of a higher one.
($rc, $out) = check(damaged(sub {
	append_line("$_[0]/src/format/bloom.c", '#include "data/segment.h"');
}));
is($rc, 1, 'format/ including data/ fails');
like($out, qr{src/format/bloom\.c:\d+: includes "data/segment\.h": layer data/ \(rank 5\) is not below format/ \(rank 2\)},
	'naming the file, the line and both layers');

# Two folders of the same rank.
($rc, $out) = check(damaged(sub {
	append_line("$_[0]/src/vector/kmeans.c", '#include "status/status.h"');
}));
is($rc, 1, 'vector/ including status/ (same rank) fails');
like($out, qr{kmeans\.c:\d+: includes "status/status\.h"}, 'naming the include');

# A header of the same folder named without its folder.
($rc, $out) = check(damaged(sub {
	append_line("$_[0]/src/data/write.c", '#include "segment.h"');
}));
is($rc, 1, 'an include without its folder fails');
like($out, qr{write\.c:\d+: includes "segment\.h" without its folder}, 'and says so');

# A cycle inside one layer.
($rc, $out) = check(damaged(sub {
	append_line("$_[0]/src/data/segment.h", '#include "data/write.h"');
}));
is($rc, 1, 'an include cycle inside a layer fails');
like($out, qr{include cycle: data/\w+ -> .*data/segment}, 'naming the modules of the cycle');

# A folder named after one of PostgreSQL's include directories.
($rc, $out) = check(damaged(sub {
	my $root = shift;
	make_path("$root/src/utils");
	append_line("$root/src/utils/helpers.c", '#include "postgres.h"');
}));
is($rc, 1, 'a folder named utils fails');
like($out, qr{utils: folder is named after PostgreSQL's include directory}, 'and says why');

# A file name used in two folders.
($rc, $out) = check(damaged(sub {
	my $root = shift;
	system('cp', "$root/src/format/bloom.c", "$root/src/data/bloom.c") == 0 or die;
}));
is($rc, 1, 'the same file name in two folders fails');
like($out, qr{bloom\.c: file name used more than once}, 'and says which');

# A folder that is not in the layer table.
($rc, $out) = check(damaged(sub {
	my $root = shift;
	make_path("$root/src/misc");
	append_line("$root/src/misc/misc.c", '#include "postgres.h"');
}));
is($rc, 1, 'an unknown folder fails');
like($out, qr{misc: folder is not a layer}, 'and says so');

done_testing();
