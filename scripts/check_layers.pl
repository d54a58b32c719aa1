#!/usr/bin/perl
# Checks the layering of segstore's C sources (src/).
#
#   scripts/check_layers.pl [--root DIR] [--pg-includedir DIR]
#
# Each folder of src/ is a layer with a rank; a file may include segstore's
# headers only from its own folder or from layers of lower rank, and always
# with the folder ("format/binlog.h"); src/segstore.h (rank 0) is open to
# all, and the files directly in src/ (the module entry point and the SQL
# front end) sit on top.  Also checked: no folder is named after one of
# PostgreSQL's include directories (with -I src first, its headers would
# shadow PostgreSQL's), every file name is unique across folders (error
# locations print only the base name), and no include cycle exists between
# modules (a module is a .c file with its .h; X_int.h, a private header,
# belongs to module X).  Prints one line per
# violation and exits 1 if there is any.
use strict;
use warnings;
use File::Basename qw(basename dirname);
use File::Find;
use Getopt::Long;

# The layers, lowest first.  Folders of equal rank may not include each
# other.  Keep this table and the README's layout section in step.
my %RANK = (
	''           => 0,    # src/segstore.h: types every layer shares
	'vector'     => 1,    # distance kernels, k-means
	'status'     => 1,    # shared memory: worker slots, compaction progress
	'format'     => 2,    # file formats: batches, bloom, binlog, index file, file paths
	'metadata'   => 3,    # catalog tables through SPI, field lists
	'expr'       => 4,    # the expression language
	'data'       => 5,    # collections and their data: write, read, segments, indexes
	'search'     => 6,    # vector search and its per-backend cache
	'compaction' => 7,    # planning, executing plans, garbage collection
	'workers'    => 8,    # launcher, maintenance worker, compaction workers
);
my $TOP_RANK = 9;     # .c files directly in src/: segstore.c, api.c

my $root = '.';
my $pg_includedir;
GetOptions('root=s' => \$root, 'pg-includedir=s' => \$pg_includedir)
  or die "usage: $0 [--root DIR] [--pg-includedir DIR]\n";
my $src = "$root/src";
-d $src or die "$0: no directory $src\n";
if (!defined $pg_includedir)
{
	my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
	$pg_includedir = `$pg_config --includedir-server 2>/dev/null`;
	chomp $pg_includedir;
}

my @problems;
my @files;
find(
	{
		wanted => sub {
			push @files, $File::Find::name if /\.[ch]$/ && -f $_;
		},
		no_chdir => 1
	},
	$src);
@files = sort @files;

# The folder of a path under src/ ('' for src/ itself).
sub folder_of
{
	my ($path) = @_;
	my $rel = $path;
	$rel =~ s{^\Q$src\E/?}{};
	my $dir = dirname($rel);
	return $dir eq '.' ? '' : $dir;
}

# Rank of a file: its folder's, or the top for .c files directly in src/.
sub rank_of
{
	my ($path) = @_;
	my $folder = folder_of($path);
	return $TOP_RANK if $folder eq '' && $path =~ /\.c$/;
	return $RANK{$folder};
}

# A module is a .c file with its .h, and a private header X_int.h belongs
# to module X (the files of a split module share it); src/segstore.h, the
# shared types, is one apart from src/segstore.c, the entry point.
sub module_of
{
	my ($path) = @_;
	return $path if folder_of($path) eq '';
	(my $m = $path) =~ s/(_int)?\.[ch]$//;
	return $m;
}

# Folders: known, one level deep, not named after PostgreSQL's.
my %seen_folder;
for my $f (@files)
{
	my $folder = folder_of($f);
	next if $seen_folder{$folder}++;
	if ($folder =~ m{/})
	{
		push @problems, "$folder: folders of src/ are one level deep";
		next;
	}
	push @problems,
	  "$folder: folder is not a layer (add it to the table in $0 and to the README)"
	  unless exists $RANK{$folder};
	push @problems,
	  "$folder: folder is named after PostgreSQL's include directory $pg_includedir/$folder"
	  if $folder ne '' && $pg_includedir ne '' && -d "$pg_includedir/$folder";
}

# File names unique across folders.
my %by_name;
push @{ $by_name{ basename($_) } }, $_ for @files;
for my $name (sort keys %by_name)
{
	my @same = @{ $by_name{$name} };
	push @problems, "$name: file name used more than once: @same" if @same > 1;
}

# Includes: with the folder, only downwards; edges between modules.
my %edges;
for my $f (@files)
{
	my $from_folder = folder_of($f);
	my $from_rank = rank_of($f);
	next unless defined $from_rank;
	my $from_module = module_of($f);
	open my $fh, '<', $f or die "$0: cannot read $f: $!\n";
	while (my $line = <$fh>)
	{
		next unless $line =~ /^\s*#\s*include\s+"([^"]+)"/;
		my $inc = $1;
		my $target = "$src/$inc";
		if (!-f $target)
		{
			# not ours: PostgreSQL's, or a header of the same folder named
			# without its folder
			my $local = dirname($f) . "/$inc";
			push @problems, "$f:$.: includes \"$inc\" without its folder"
			  if $inc !~ m{/} && -f $local && $from_folder ne '';
			push @problems, "$f:$.: includes \"$inc\", which does not exist"
			  if $inc =~ m{^([a-z_]+)/} && exists $RANK{$1} && $1 ne '';
			next;
		}
		my $to_folder = folder_of($target);
		my $to_rank = $RANK{$to_folder};
		next unless defined $to_rank;
		my $to_module = module_of($target);
		$edges{$from_module}{$to_module} = "$f:$." if $to_module ne $from_module;
		next if $to_folder eq $from_folder;
		if ($to_rank >= $from_rank)
		{
			my $from_name = $from_folder eq '' ? 'src/' : "$from_folder/";
			push @problems,
			  "$f:$.: includes \"$inc\": layer $to_folder/ (rank $to_rank) is not below $from_name (rank $from_rank)";
		}
	}
	close $fh;
}

# Cycles between modules, by depth-first search.
my %state;    # 1: on the current path, 2: done
my @path;

sub visit
{
	my ($m) = @_;
	$state{$m} = 1;
	push @path, $m;
	for my $next (sort keys %{ $edges{$m} // {} })
	{
		if (($state{$next} // 0) == 1)
		{
			my @cycle = (@path[ (grep { $path[$_] eq $next } 0 .. $#path)[0] .. $#path ], $next);
			s{^\Q$src\E/}{} for @cycle;
			push @problems, "include cycle: " . join(' -> ', @cycle) . " (at $edges{$m}{$next})";
		}
		elsif (!$state{$next})
		{
			visit($next);
		}
	}
	pop @path;
	$state{$m} = 2;
}
visit($_) for grep { !$state{$_} } sort keys %edges;

if (@problems)
{
	print "layer check: $_\n" for @problems;
	printf "layer check: %d problem%s\n", scalar @problems, @problems == 1 ? '' : 's';
	exit 1;
}
printf "layer check: %d files in %d layers, no forbidden include, no cycle\n",
  scalar @files, scalar keys %seen_folder;
exit 0;
