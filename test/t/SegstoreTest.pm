
# Helpers shared by segstore's TAP tests.
package SegstoreTest;

use strict;
use warnings;
use Exporter 'import';
use File::Find;

our @EXPORT_OK = qw(ranges files_under);

# "0-9,20,30-31": a set of ids as sorted ranges, short enough to show.
sub ranges
{
	my @ids = sort { $a <=> $b } @_;
	my @out;
	while (@ids)
	{
		my $lo = shift @ids;
		my $hi = $lo;
		$hi = shift @ids while @ids && $ids[0] == $hi + 1;
		push @out, $lo == $hi ? $lo : "$lo-$hi";
	}
	return join(',', @out);
}

# The regular files below a directory, sorted; none if it does not exist.
sub files_under
{
	my ($dir) = @_;
	my @files;
	find(sub { push @files, $File::Find::name if -f $_ }, $dir) if -d $dir;
	return sort @files;
}

1;
