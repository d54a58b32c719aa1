
# Upgrade: collections made under segstore 0.1 (sealed, compacted and
# indexed segments, growing rows, pending deletes) give the same answers
# after ALTER EXTENSION segstore UPDATE to the default version, and keep
# taking writes, flushes, compactions and searches; and the updated
# extension has exactly the members, with the same definitions, that a
# fresh install of that version has.  A collection of an unprivileged role
# with grants to others and code planted on its 0.1 growing table comes
# through with its data, owner and grants, and none of that code ever
# runs; a growing table segstore could not carry over (a changed column
# type, rows written into it directly) stops the update with an error
# that says why, and changes nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SegstoreTest qw(ranges_sql);

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'segstore'
# the maintenance worker stays out of the way: the answers compared before
# and after the update must not change behind the test's back
segstore.compaction_interval = '1d'
segstore.insert_direct_threshold = 100
segstore.min_index_rows = 64
max_worker_processes = 16
});
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0]); }

my $default_version = sql(
	q{SELECT default_version FROM pg_available_extensions WHERE name = 'segstore'});
isnt($default_version, '0.1', "the default version ($default_version) is newer than 0.1");

sql(q{CREATE EXTENSION segstore VERSION '0.1'});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'segstore'}),
	'0.1', 'installed as 0.1');

# SQL inserting ids [lo, hi) into docs; each row's fields are a function of
# its id, vectors [i, i % 7, -i, 1] are exact in float4.
sub insert_docs
{
	my ($lo, $hi) = @_;
	return qq{SELECT segstore.insert('docs',
	array_agg(i::int8 ORDER BY i),
	array_agg(ARRAY[i, i % 7, -i, 1]::float4[] ORDER BY i),
	array_agg('doc ' || i ORDER BY i),
	array_agg(i % 13 ORDER BY i),
	array_agg(i % 3 = 0 ORDER BY i))
FROM generate_series($lo, $hi - 1) i};
}

# docs: four sealed segments of 200 (direct inserts) with an IVF_FLAT
# index, 300 rows deleted and flushed as delta binlogs, compacted; then
# growing rows, a deleted growing row, an upserted sealed row and pending
# deletes.  notes: no index, one flushed segment and growing rows, readable
# by a role of its own.
sql(q{SELECT segstore.create_collection('docs',
	'id int8 PRIMARY KEY, vector float4[4], title varchar(40), score int4, flag bool')});
sql(insert_docs($_ * 200, $_ * 200 + 200)) for 0 .. 3;
sql(q{SELECT segstore.create_index('docs', 'vector', 'IVF_FLAT', 'L2', '{"nlist": 4}')});
sql(q{SELECT segstore.delete('docs', 'id < 300'); SELECT segstore.flush('docs')});
my $cid = sql(q{SELECT segstore.compact('docs')});
is(sql("SELECT segstore.wait_for_compaction($cid)"), 'Completed', '0.1: compaction completed');
# The swapped-out sources go once garbage collection sees no snapshot that
# needs them; until then their state could change between the two readings.
# One statement, as poll_query_until wants one row: a round that does not
# yet see what its own gc() did sees it in the next.
ok( $node->poll_query_until(
		'postgres', q{SELECT NOT EXISTS (SELECT 1 FROM segstore.segments('docs') WHERE state = 'compacted')
		FROM (SELECT count(*) FROM segstore.gc()) gc}),
	'0.1: compacted sources dropped');
sql(insert_docs(800, 850));
sql(q{SELECT segstore.delete('docs', ARRAY[849, 300, 301, 450]::int8[])});
sql(q{SELECT segstore.upsert('docs', ARRAY[302]::int8[], ARRAY[[302, 1, 1, 1]]::float4[][],
	ARRAY['doc 302 again'], ARRAY[99], ARRAY[true])});
sql(q{SELECT segstore.delete('docs', 'title like "doc 31%" and flag == true')});

sql(q{SELECT segstore.create_collection('notes', 'id int8 PRIMARY KEY, v float4[2], body text')});
sql(q{SELECT segstore.insert('notes', array_agg(i::int8), array_agg(ARRAY[i, 1]::float4[]),
	array_agg('note ' || i)) FROM generate_series(1, 30) i});
sql(q{SELECT segstore.flush('notes')});
sql(q{SELECT segstore.insert('notes', array_agg(i::int8), array_agg(ARRAY[i, 2]::float4[]),
	array_agg('note ' || i)) FROM generate_series(31, 40) i});
sql(q{SELECT segstore.delete('notes', 'id in [5, 35]')});
sql(q{CREATE ROLE reader; GRANT SELECT ON segstore_data.notes TO reader});

# planted: alice's collection, readable by reader, insertable (with grant
# option) by writer; then alice plants code on its growing table, the
# table that 0.1's segstore read and wrote as a superuser.  The code writes
# to the tripwire who ran it, and would make alice a superuser if run as
# one.  It is planted after the last write: under 0.1 any segstore call on
# the collection would run it.
sql(q{
CREATE ROLE alice;
CREATE ROLE writer;
GRANT CREATE ON SCHEMA segstore_data TO alice;
CREATE SCHEMA alice AUTHORIZATION alice;
CREATE TABLE tripwire (who name, superuser boolean, what text);
GRANT INSERT ON tripwire TO PUBLIC;
SET ROLE alice;
SELECT segstore.create_collection('planted', 'id int8 PRIMARY KEY, vector float4[2], body text');
SELECT segstore.insert('planted', array_agg(i::int8), array_agg(ARRAY[i, 2]::float4[]),
					   array_agg('p ' || i)) FROM generate_series(1, 150) i;
SELECT segstore.insert('planted', array_agg(i::int8), array_agg(ARRAY[i, 2]::float4[]),
					   array_agg('p ' || i)) FROM generate_series(151, 170) i;
SELECT segstore.delete('planted', ARRAY[5, 160]::int8[]);
GRANT SELECT ON segstore_data.planted TO reader;
GRANT INSERT ON segstore_data.planted TO writer WITH GRANT OPTION;
GRANT TRIGGER, TRUNCATE ON segstore_data.planted TO writer;
CREATE FUNCTION alice.trip(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.tripwire SELECT current_user, rolsuper, what FROM pg_roles WHERE rolname = current_user;
	IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
		ALTER ROLE alice SUPERUSER;
	END IF;
	RETURN true;
END $$;
CREATE FUNCTION alice.trip_int() RETURNS int8 IMMUTABLE LANGUAGE sql AS
$$ SELECT CASE WHEN alice.trip('expression') THEN 1::int8 END $$;
CREATE FUNCTION alice.trip_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM alice.trip('trigger');
	RETURN NULL;
END $$;
CREATE TRIGGER row_trigger BEFORE INSERT OR UPDATE OR DELETE ON segstore_data.planted
	FOR EACH ROW EXECUTE FUNCTION alice.trip_trigger();
CREATE TRIGGER truncate_trigger BEFORE TRUNCATE ON segstore_data.planted
	EXECUTE FUNCTION alice.trip_trigger();
CREATE RULE planted_rule AS ON UPDATE TO segstore_data.planted DO ALSO SELECT alice.trip('rule');
ALTER TABLE segstore_data.planted ALTER COLUMN body SET DEFAULT (alice.trip('default'))::text,
	ADD CONSTRAINT planted_check CHECK (alice.trip('check')) NOT VALID,
	ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY planted_policy ON segstore_data.planted USING (alice.trip('policy'));
CREATE INDEX planted_expression ON segstore_data.planted ((alice.trip_int()));
RESET ROLE;
-- the update needs no privilege of alice's to give her the collection's view
REVOKE CREATE ON SCHEMA segstore_data FROM alice;
TRUNCATE tripwire;
});

is(sql(q{SELECT pending_deletes || ' ' || growing_rows FROM segstore.collection_stats('docs')}), '7 50',
	'0.1: sealed rows deleted or upserted since the flush wait as pending deletes');
is(sql(q{SELECT string_agg(DISTINCT index_state, ',') FROM segstore.segments('docs')
	WHERE state = 'flushed'}), 'IVF_FLAT', '0.1: the sealed segments are indexed');

# What a user can ask of the collections; each must answer the same after
# the update.
my %answers = (
	num_entities => q{SELECT segstore.num_entities('docs') || ' ' || segstore.num_entities('notes')},
	query_all => q{SELECT string_agg(q::text, E'\n' ORDER BY (q->>'id')::int8) FROM segstore.query('docs', NULL) q},
	query_expr => q{SELECT string_agg(q::text, E'\n' ORDER BY (q->>'id')::int8)
		FROM segstore.query('docs', 'score >= 10 and flag == true', ARRAY['title'], 20) q},
	query_notes => q{SELECT string_agg(q::text, E'\n' ORDER BY (q->>'id')::int8) FROM segstore.query('notes', NULL) q},
	search => q{SELECT string_agg(id || ':' || distance, ',')
		FROM segstore.search('docs', ARRAY[420, 0, -420, 1]::float4[], 10, '{"nprobe": 1}')},
	search_filter => q{SELECT string_agg(id || ':' || distance, ',')
		FROM segstore.search('docs', ARRAY[300, 0, -300, 1]::float4[], 5, '{"nprobe": 4}', 'flag == false')},
	search_batch => q{SELECT string_agg(query_no || '/' || id || ':' || distance, ',')
		FROM segstore.search_batch('docs', ARRAY[[0, 0, 0, 1], [845, 5, -845, 1]]::float4[][], 3)},
	search_notes => q{SELECT string_agg(id || ':' || distance, ',') FROM segstore.search('notes', ARRAY[35, 2]::float4[], 4)},
	segments => q{SELECT string_agg(s::text, E'\n' ORDER BY segment_id) FROM segstore.segments('docs') s},
	segments_notes => q{SELECT string_agg(s::text, E'\n' ORDER BY segment_id) FROM segstore.segments('notes') s},
	binlogs => q{SELECT string_agg(b::text, E'\n' ORDER BY b::text) FROM segstore.binlogs('docs') b},
	compactions => q{SELECT string_agg(c::text, E'\n' ORDER BY compaction_id) FROM segstore.compactions c},
	compaction_plans => qq{SELECT string_agg(p::text, E'\n' ORDER BY plan_id) FROM segstore.compaction_plans($cid) p},
	compaction_state => qq{SELECT s::text FROM segstore.compaction_state($cid) s},
	indexes => q{SELECT string_agg(i::text, E'\n' ORDER BY collection) FROM segstore.indexes i},
	# growing_table names the new table; the columns added by 0.2 are checked below
	collections => q{SELECT string_agg(format('%s %s %s %s %s %s %s %s', collection_id, name, owner, dim,
		fields, description, auto_compaction, created_at), E'\n' ORDER BY name) FROM segstore.collections c},
	collection_stats => q{SELECT s::text || ' ' || t::text
		FROM segstore.collection_stats('docs') s, segstore.collection_stats('notes') t},
	pending_deletes => q{SELECT string_agg(collection_id || ':' || pk, ',' ORDER BY collection_id, pk)
		FROM segstore.pending_delete},
	reader_reads => q{SET ROLE reader; SELECT segstore.num_entities('notes')},
	reader_privileges => q{SELECT string_agg(c || ':' || has_table_privilege('reader', 'segstore_data.' || c, 'SELECT'),
		',' ORDER BY c) FROM unnest(ARRAY['docs', 'notes', 'planted']) c},
	# DROP EXTENSION must still take the growing tables with it
	growing_tables_members => q{SELECT string_agg(c.name || ':' || (d.objid IS NOT NULL), ',' ORDER BY c.name)
		FROM segstore.collection c
		LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.relid AND d.deptype = 'e'},
);
my %before = map { $_ => sql($answers{$_}) } keys %answers;
is(join(',', grep { $before{$_} eq '' } sort keys %before), '', 'every answer has something to compare');

sql(q{ALTER EXTENSION segstore UPDATE});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'segstore'}),
	$default_version, "updated to $default_version");

is(sql($answers{$_}), $before{$_}, "after the update: $_ unchanged")
  foreach sort keys %answers;

# -- planted: through the update with its data, owner and grants, and none
# of alice's code ran ------------------------------------------------------
is(sql(q{SELECT count(*) FROM tripwire}), '0', "none of alice's code ran during the update")
  or diag(sql(q{SELECT string_agg(format('%s %s %s', who, superuser, what), E'\n') FROM tripwire}));
is(sql(q{SELECT rolsuper FROM pg_roles WHERE rolname = 'alice'}), 'f', 'alice is no superuser');
my $planted_ids = ranges_sql(q{(SELECT (q->>'id')::int8 AS id FROM segstore.query('planted', NULL) q) q});
is(sql("SELECT $planted_ids"), '1-4,6-159,161-170', 'planted: its rows');
is(sql(q{SELECT string_agg(state || ' ' || num_rows || ' ' || deleted_rows, ',' ORDER BY state)
	FROM segstore.segments('planted')}), 'flushed 150 1,growing 19 0',
	'planted: its sealed segment, its delete and its growing rows');
is(sql(q{SELECT q->>'body' FROM segstore.query('planted', 'id == 170') q}), 'p 170',
	'planted: a growing row as it was');
is(sql(q{SELECT format('%s %s %s', owner, view, acl) FROM segstore.collections WHERE name = 'planted'}),
	'alice segstore_data.planted {alice=arwdDxt/alice,reader=r/alice,writer=a*/alice}',
	'planted: its owner and grants, on its view (TRIGGER and TRUNCATE, which 0.1 did not honour, are not carried over)');
is(sql(q{SELECT count(*) FROM pg_trigger t JOIN segstore.collection c ON t.tgrelid IN (c.relid, c.viewid)
	WHERE c.name = 'planted'}) . ' ' .
   sql(q{SELECT count(*) FROM pg_policy p JOIN segstore.collection c ON p.polrelid = c.relid
	WHERE c.name = 'planted'}) . ' ' .
   sql(q{SELECT count(*) FROM pg_index i JOIN segstore.collection c ON i.indrelid = c.relid
	WHERE c.name = 'planted'}),
	'0 0 1', 'planted: no trigger, no policy, only the primary key index');
is(sql(q{SELECT pg_get_userbyid(relowner) = (SELECT pg_get_userbyid(extowner) FROM pg_extension
	WHERE extname = 'segstore') FROM pg_class
	WHERE oid = (SELECT relid FROM segstore.collection WHERE name = 'planted')}), 't',
	'planted: its growing table belongs to the extension');
is(sql(q{SELECT deptype FROM pg_depend WHERE classid = 'pg_class'::regclass
	AND objid = 'segstore_data.planted'::regclass AND refclassid = 'pg_extension'::regclass}) . ' ' .
   sql(q{SELECT count(*) FROM pg_init_privs WHERE objoid = 'segstore_data.planted'::regclass}),
	'x 0', 'planted: its view depends on the extension automatically and is no member');
is(sql(q{SET ROLE reader; SELECT segstore.num_entities('planted')}), '168', 'planted: the reader reads');
is(sql(q{SET ROLE writer;
	SELECT segstore.insert('planted', ARRAY[171]::int8[], ARRAY[[171, 2]]::float4[][], ARRAY['p 171']);
	SELECT segstore.grant('planted', ARRAY['insert'], 'reader');
	SELECT has_table_privilege('reader', 'segstore_data.planted', 'INSERT')}), "1\n\nt",
	'planted: the writer inserts and grants insert, having the grant option');
sql(q{SELECT segstore.flush('planted')});
my $pcid = sql(q{SELECT segstore.compact('planted', "full" => true)});
is(sql("SELECT segstore.wait_for_compaction($pcid)"), 'Completed', 'planted: compacted');
is(sql(q{SELECT count(*) FROM tripwire}), '0', "nor did it run when the collection was written and compacted");

# -- writes, flush, compaction and search after the update ------------------
sql(insert_docs(1000, 1200));    # direct: a new indexed segment
sql(insert_docs(1200, 1210));    # growing
sql(q{SELECT segstore.delete('docs', 'id >= 1100 and id < 1150')});
sql(q{SELECT segstore.flush('docs')});
$cid = sql(q{SELECT segstore.compact('docs')});
is(sql("SELECT segstore.wait_for_compaction($cid)"), 'Completed', 'updated: compaction completed');
is(sql(q{SELECT pending_deletes || ' ' || growing_rows FROM segstore.collection_stats('docs')}), '0 0',
	'updated: flush sealed the growing rows and wrote the pending deletes out');
is(sql(q{SELECT string_agg(DISTINCT index_state, ',') FROM segstore.segments('docs')
	WHERE state = 'flushed'}), 'IVF_FLAT', 'updated: the new segments are indexed');

my $ids = ranges_sql(q{(SELECT (q->>'id')::int8 AS id FROM segstore.query('docs', NULL) q) q});
is(sql("SELECT $ids"), '302-311,313-314,316-317,319-449,451-848,1000-1099,1150-1209',
	'updated: the live ids');
is(sql(q{SELECT segstore.num_entities('docs')}), '703', 'updated: num_entities');

# With nprobe = nlist the IVF_FLAT search is exact: it must return what an
# exact distance over query()'s rows returns.
foreach my $q (310, 1100, 1209)
{
	my $vec = "ARRAY[$q, 0, -$q, 1]";
	is( sql(qq{SELECT string_agg(id || ':' || distance::float8, ',')
		FROM segstore.search('docs', ${vec}::float4[], 10, '{"nprobe": 4}')}),
		sql(qq{SELECT string_agg(id || ':' || d, ',' ORDER BY d, id) FROM (
			SELECT (q->>'id')::int8 AS id,
				   (SELECT sum((x::float8 - y) ^ 2) FROM unnest(
						ARRAY(SELECT jsonb_array_elements_text(q->'vector')), ${vec}::float8[]) u(x, y)) AS d
			FROM segstore.query('docs', NULL) q ORDER BY d, id LIMIT 10) t}),
		"updated: search near $q is exact");
}

# -- the updated extension is what a fresh install makes --------------------
# pg_dump leaves extension members out of a plain dump, so the catalogs are
# read directly: one line per member with everything that defines it, and
# per relation its columns (in order), constraints, indexes, triggers, rules
# and policies; comments, initial privileges and the extension's own row.
# The growing tables of collections are data, not schema: left out.  A
# member of a kind this does not describe shows as NOT COVERED.
my $members_sql = q{
WITH member AS (
	SELECT d.classid, d.objid
	FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
	WHERE e.extname = 'segstore' AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	  AND NOT (d.classid = 'pg_class'::regclass
			   AND d.objid IN (SELECT relid FROM segstore.collection))
), rel AS (
	SELECT c.* FROM pg_class c JOIN member m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
), line(entry) AS (
	SELECT format('function %s: %s owner=%s acl=%s', p.oid::regprocedure, pg_get_functiondef(p.oid),
				  pg_get_userbyid(p.proowner), p.proacl)
	FROM pg_proc p JOIN member m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
	WHERE p.prokind <> 'a'
	UNION ALL
	SELECT format('relation %s: kind=%s owner=%s acl=%s options=%s persistence=%s rls=%s,%s replident=%s',
				  c.oid::regclass, c.relkind, pg_get_userbyid(c.relowner), c.relacl, c.reloptions,
				  c.relpersistence, c.relrowsecurity, c.relforcerowsecurity, c.relreplident)
	FROM rel c WHERE c.relkind IN ('r', 'v', 'S')
	UNION ALL
	-- no attoptions: the PostgreSQL 15 build here stamps every column with a
	-- pg_attver option of its own, different in each database
	SELECT format('column %s #%s %I: %s notnull=%s default=%s identity=%s generated=%s collation=%s acl=%s',
				  a.attrelid::regclass,
				  row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
				  a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
				  pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
				  a.attcollation::regcollation, a.attacl)
	FROM pg_attribute a JOIN rel c ON c.oid = a.attrelid
	LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	WHERE c.relkind IN ('r', 'v') AND a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT format('constraint %I on %s: %s', co.conname, co.conrelid::regclass, pg_get_constraintdef(co.oid))
	FROM pg_constraint co JOIN rel c ON c.oid = co.conrelid
	UNION ALL
	SELECT format('index on %s: %s', i.indrelid::regclass, pg_get_indexdef(i.indexrelid))
	FROM pg_index i JOIN rel c ON c.oid = i.indrelid
	UNION ALL
	SELECT format('trigger on %s: %s enabled=%s', t.tgrelid::regclass, pg_get_triggerdef(t.oid), t.tgenabled)
	FROM pg_trigger t JOIN rel c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal
	UNION ALL
	SELECT format('rule on %s: %s', r.ev_class::regclass,
				  CASE WHEN r.rulename = '_RETURN' THEN pg_get_viewdef(r.ev_class) ELSE pg_get_ruledef(r.oid) END)
	FROM pg_rewrite r JOIN rel c ON c.oid = r.ev_class
	UNION ALL
	SELECT format('policy %I on %s: %s %s to %s using %s check %s', po.polname, po.polrelid::regclass,
				  po.polcmd, po.polpermissive, po.polroles::regrole[],
				  pg_get_expr(po.polqual, po.polrelid), pg_get_expr(po.polwithcheck, po.polrelid))
	FROM pg_policy po JOIN rel c ON c.oid = po.polrelid
	UNION ALL
	SELECT format('sequence %s: %s start=%s increment=%s min=%s max=%s cache=%s cycle=%s owned by %s',
				  s.seqrelid::regclass, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
				  s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
				  (SELECT string_agg(pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), ',')
				   FROM pg_depend d
				   WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
					 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
	FROM pg_sequence s JOIN rel c ON c.oid = s.seqrelid
	UNION ALL
	SELECT format('schema %I: owner=%s acl=%s', n.nspname, pg_get_userbyid(n.nspowner), n.nspacl)
	FROM pg_namespace n JOIN member m ON m.classid = 'pg_namespace'::regclass AND m.objid = n.oid
	UNION ALL
	SELECT format('event trigger %I: on %s tags=%s execute %s enabled=%s owner=%s', t.evtname, t.evtevent,
				  t.evttags, t.evtfoid::regprocedure, t.evtenabled, pg_get_userbyid(t.evtowner))
	FROM pg_event_trigger t JOIN member m ON m.classid = 'pg_event_trigger'::regclass AND m.objid = t.oid
	UNION ALL
	SELECT format('comment on %s: %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
	FROM pg_description d JOIN member m ON m.classid = d.classoid AND m.objid = d.objoid
	UNION ALL
	SELECT format('initial privileges of %s: %s %s', pg_describe_object(ip.classoid, ip.objoid, ip.objsubid),
				  ip.privtype, ip.initprivs)
	FROM pg_init_privs ip JOIN member m ON m.classid = ip.classoid AND m.objid = ip.objoid
	UNION ALL
	SELECT format('extension: schema=%s relocatable=%s config=%s conditions=%s', e.extnamespace::regnamespace,
				  e.extrelocatable, e.extconfig::regclass[], e.extcondition)
	FROM pg_extension e WHERE e.extname = 'segstore'
	UNION ALL
	SELECT 'NOT COVERED: ' || pg_describe_object(m.classid, m.objid, 0)
	FROM member m
	WHERE m.classid NOT IN ('pg_proc'::regclass, 'pg_class'::regclass, 'pg_namespace'::regclass,
							'pg_event_trigger'::regclass)
	   OR m.objid IN (SELECT oid FROM pg_proc WHERE prokind = 'a')
	   OR m.objid IN (SELECT oid FROM rel WHERE relkind NOT IN ('r', 'v', 'S'))
)
-- one line per entry: function definitions span several
SELECT entry FROM (SELECT regexp_replace(entry, '\s*\n\s*', ' ', 'g') AS entry FROM line) l
ORDER BY entry COLLATE "C"};

# The lines only one of two listings has, marked with the name of the one.
sub differences
{
	my ($name_a, $a, $name_b, $b) = @_;
	my %in_a = map { $_ => 1 } split /\n/, $a;
	my %in_b = map { $_ => 1 } split /\n/, $b;
	return join("\n",
		(map { "only $name_a: $_" } grep { !$in_b{$_} } split /\n/, $a),
		(map { "only $name_b: $_" } grep { !$in_a{$_} } split /\n/, $b));
}

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION segstore');
is($node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'segstore'}),
	$default_version, "fresh install: $default_version");
my $fresh = $node->safe_psql('fresh', $members_sql);
my $updated = sql($members_sql);
unlike($fresh, qr/NOT COVERED/, 'the listing describes every kind of member')
  or diag(join("\n", grep { /NOT COVERED/ } split /\n/, $fresh));
my @lines = split /\n/, $fresh;
cmp_ok(scalar(@lines), '>', 100, 'the listing has a line for each part of each member');
is(differences('updated', $updated, 'fresh', $fresh), '',
	'the updated extension has the members and definitions of a fresh install');

# The comparison notices a difference: each change below, made to a fresh
# install in a third database (and rolled back), shows in the listing.
$node->safe_psql('postgres', 'CREATE DATABASE changed');
$node->safe_psql('changed', 'CREATE EXTENSION segstore');
is($node->safe_psql('changed', $members_sql), $fresh, 'a second fresh install lists the same');
my @changes = (
	[ 'a dropped function',
	  q{ALTER EXTENSION segstore DROP FUNCTION segstore.gc(); DROP FUNCTION segstore.gc()},
	  qr/^only fresh: function segstore\.gc\(\)/m ],
	[ 'a dropped column default',
	  q{ALTER TABLE segstore.collection ALTER COLUMN last_write_at DROP DEFAULT},
	  qr/^only fresh: column segstore\.collection #7 last_write_at: timestamp with time zone notnull=t default=now\(\) /m ],
	[ 'an added column', q{ALTER TABLE segstore.index ADD COLUMN extra int},
	  qr/^only changed: column segstore\.index #8 extra: integer /m ],
	[ 'a changed volatility', q{ALTER FUNCTION segstore.num_entities(text) VOLATILE},
	  qr/^only fresh: function segstore\.num_entities\(text\): .* STABLE /m ],
	[ 'a grant', q{GRANT SELECT ON segstore.segment TO PUBLIC},
	  qr/^only changed: relation segstore\.segment: .*acl=\{.*=r\//m ],
	[ 'a dropped index', q{DROP INDEX segstore.binlog_segment_id_idx},
	  qr/^only fresh: index on segstore\.binlog: CREATE INDEX binlog_segment_id_idx /m ],
	[ 'a dropped check constraint', q{ALTER TABLE segstore.segment DROP CONSTRAINT segment_state_check},
	  qr/^only fresh: constraint segment_state_check on segstore\.segment: CHECK/m ],
	[ 'a changed view',
	  q{CREATE OR REPLACE VIEW segstore.compaction_progress AS
		SELECT pid, collection, compaction_id, plan_id, phase, rows_done, rows_total, bytes_done,
			   bytes_total, started_at FROM segstore.get_compaction_progress()},
	  qr/^only fresh: rule on segstore\.compaction_progress: .*has_table_privilege/m ],
	[ 'a changed sequence', q{ALTER SEQUENCE segstore.segment_id_seq INCREMENT BY 2},
	  qr/^only changed: sequence segstore\.segment_id_seq: bigint start=1 increment=2 /m ],
	[ 'a disabled event trigger', q{ALTER EVENT TRIGGER segstore_drop_extension DISABLE},
	  qr/^only changed: event trigger segstore_drop_extension: .* enabled=D /m ],
	[ 'an added member',
	  q{CREATE FUNCTION segstore.extra() RETURNS int LANGUAGE sql AS 'SELECT 1';
		ALTER EXTENSION segstore ADD FUNCTION segstore.extra()},
	  qr/^only changed: function segstore\.extra\(\)/m ],
	[ 'a comment', q{COMMENT ON TABLE segstore.binlog IS 'files'},
	  qr/^only changed: comment on table segstore\.binlog: files$/m ],
);
foreach my $change (@changes)
{
	my ($what, $ddl, $expect) = @$change;
	my $changed = $node->safe_psql('changed', "BEGIN;\n$ddl;\n$members_sql;\nROLLBACK;");
	like(differences('fresh', $fresh, 'changed', $changed), $expect, "the comparison notices $what");
}
is($node->safe_psql('changed', $members_sql), $fresh, 'the changes were rolled back');

# -- a 0.1 growing table segstore cannot carry over stops the update -------
# Each change below, made to 0.1's growing table directly, makes the update
# fail with an error naming the collection and what is wrong, and leaves
# the installation at 0.1 with the table as it was; undone, the update
# goes through.
$node->safe_psql('postgres', 'CREATE DATABASE refused');
sub in_refused { return $node->safe_psql('refused', $_[0]); }
in_refused(q{
CREATE EXTENSION segstore VERSION '0.1';
SELECT segstore.create_collection('bad', 'id int8 PRIMARY KEY, vector float4[2], body text');
SELECT segstore.insert('bad', array_agg(i::int8), array_agg(ARRAY[i, 3]::float4[]), array_agg('b ' || i))
FROM generate_series(1, 120) i;
SELECT segstore.insert('bad', ARRAY[200]::int8[], ARRAY[[200, 3]]::float4[][], ARRAY['b 200']);
});
my @refusals = (
	[ 'a changed column type',
	  q{ALTER TABLE segstore_data.bad ALTER COLUMN body TYPE varchar(50)},
	  qr/cannot update collection "bad" from segstore 0\.1\n.*DETAIL:  Column "body" of its growing table bad has type character varying\(50\), not text\./s,
	  q{ALTER TABLE segstore_data.bad ALTER COLUMN body TYPE text} ],
	[ 'a vector of the wrong dimension',
	  q{INSERT INTO segstore_data.bad VALUES (201, '{1,2,3}', 'b 201', now())},
	  qr/DETAIL:  The vector of key 201 in its growing table is not 2 non-null float4 components\./,
	  q{DELETE FROM segstore_data.bad WHERE id = 201} ],
	[ 'a key live in a sealed segment',
	  q{INSERT INTO segstore_data.bad VALUES (7, '{7,3}', 'b 7 again', now())},
	  qr/DETAIL:  Key 7 is in its growing table and live in sealed segment \d+\./,
	  q{DELETE FROM segstore_data.bad WHERE id = 7} ],
	[ 'a dropped NOT NULL and a null',
	  q{ALTER TABLE segstore_data.bad ALTER COLUMN body DROP NOT NULL;
		INSERT INTO segstore_data.bad VALUES (202, '{2,3}', NULL, now())},
	  qr/DETAIL:  A row of its growing table has a null "body"\./,
	  q{DELETE FROM segstore_data.bad WHERE id = 202} ],
	[ 'a view on the growing table',
	  q{CREATE VIEW public.on_bad AS SELECT * FROM segstore_data.bad},
	  qr/cannot drop table segstore_data\.bad because other objects depend on it.*updating collection "bad" from segstore 0\.1/s,
	  q{DROP VIEW public.on_bad} ]);
foreach my $refusal (@refusals)
{
	my ($what, $change, $expect, $undo) = @$refusal;
	my $state = q{SELECT extversion || ' ' || (SELECT count(*) FROM segstore_data.bad)
		FROM pg_extension WHERE extname = 'segstore'};
	in_refused($change);
	my $before_update = in_refused($state);
	my ($ret, $out, $err) = $node->psql('refused', 'ALTER EXTENSION segstore UPDATE');
	like($err, $expect, "the update refuses $what");
	is(in_refused($state), $before_update, "after refusing $what: still 0.1, the growing table as it was");
	in_refused($undo);
}
$node->psql('refused', 'ALTER EXTENSION segstore UPDATE', on_error_die => 1);
is(in_refused(q{SELECT extversion FROM pg_extension WHERE extname = 'segstore'}), $default_version,
	'with the changes undone, the update goes through');
is(in_refused(q{SELECT segstore.num_entities('bad')}), '121', 'and the collection is whole');

$node->stop;
done_testing();
