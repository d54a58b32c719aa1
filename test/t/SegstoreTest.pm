
# Helpers shared by segstore's TAP tests.
package SegstoreTest;

use strict;
use warnings;
use Exporter 'import';
use File::Find;
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(ranges ranges_sql files_under poll_true);

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

# A scalar subquery giving the ids of relation $rel as ranges() writes them,
# so that the server, not the test, folds a large id set.
sub ranges_sql
{
	my ($rel) = @_;
	return qq{(SELECT coalesce(string_agg(CASE WHEN lo = hi THEN lo::text ELSE lo || '-' || hi END,
							   ',' ORDER BY lo), '')
	FROM (SELECT min(id) AS lo, max(id) AS hi
		  FROM (SELECT id, id - row_number() OVER (ORDER BY id) AS g FROM $rel) x
		  GROUP BY g) islands)};
}

# The regular files below a directory, sorted; none if it does not exist.
sub files_under
{
	my ($dir) = @_;
	my @files;
	find(sub { push @files, $File::Find::name if -f $_ }, $dir) if -d $dir;
	return sort @files;
}

# Poll $sql in database $db of $node until it returns 't' (1) or $timeout
# seconds (default 60) pass (0).
sub poll_true
{
	my ($node, $db, $sql, $timeout) = @_;
	my $deadline = time() + ($timeout // 60);
	while (time() < $deadline)
	{
		my ($ret, $out) = $node->psql($db, $sql);
		return 1 if $ret == 0 && $out eq 't';
		sleep(0.1);
	}
	return 0;
}

1;
