
# The maintenance worker and the compaction workers on a collection owned
# by an unprivileged role, mallory, who tried every attack first: code on
# the internal relations (refused), code on the collection's view and on
# her own search_path (allowed, as on anything of hers), the old advisory
# lock keys held for the whole test, and DROP EXTENSION while a compaction
# runs.  The workers seal her growing rows, write her deletes out, compact
# and index the collection, and never run any of her code: the tripwire
# her code writes to stays empty, and she never becomes a superuser.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);
use SegstoreTest qw(poll_true);

my $node = PostgreSQL::Test::Cluster->new('security');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'segstore'
max_worker_processes = 16
segstore.compaction_interval = 1
segstore.seal_idle_time = 2
segstore.insert_direct_threshold = 100
segstore.min_index_rows = 50
});
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0]); }

# Run $sql as mallory; returns (exit code, stdout, stderr).
sub as_mallory
{
	my ($sql) = @_;
	my ($ret, $out, $err) =
	  $node->psql('postgres', $sql, extra_params => [ '-U', 'mallory', '-v', 'ON_ERROR_STOP=1' ]);
	return ($ret, $out, $err);
}

# Poll $sql until it returns 't' or $timeout seconds pass.
sub wait_for { return poll_true($node, 'postgres', @_); }

sql(q{
CREATE EXTENSION segstore;
CREATE ROLE mallory LOGIN;
GRANT CREATE ON SCHEMA segstore_data TO mallory;
CREATE SCHEMA mallory AUTHORIZATION mallory;
-- what mallory's code writes when it runs: who ran it, with what rights,
-- in which process
CREATE TABLE tripwire (who name, superuser boolean, backend_type text, what text);
GRANT INSERT ON tripwire TO PUBLIC;
});

# -- mallory's code -----------------------------------------------------------
my ($ret, $out, $err) = as_mallory(q{
CREATE FUNCTION mallory.trip(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.tripwire
	SELECT current_user, r.rolsuper, a.backend_type, what
	FROM pg_roles r, pg_stat_activity a
	WHERE r.rolname = current_user AND a.pid = pg_backend_pid();
	IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
		ALTER ROLE mallory SUPERUSER;
	END IF;
	RETURN true;
END $$;
CREATE FUNCTION mallory.trip_int() RETURNS int8 IMMUTABLE LANGUAGE sql AS
$$ SELECT CASE WHEN mallory.trip('expression') THEN 1::int8 END $$;
CREATE FUNCTION mallory.trip_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM mallory.trip('trigger');
	RETURN NULL;
END $$;
CREATE FUNCTION mallory.trip_rows(OUT id int8, OUT vector float4[], OUT body text)
RETURNS SETOF record LANGUAGE plpgsql AS $$
BEGIN
	PERFORM mallory.trip('view query');
END $$;
CREATE FUNCTION mallory.eq(int8, int8) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	PERFORM mallory.trip('operator');
	RETURN $1 OPERATOR(pg_catalog.=) $2;
END $$;
CREATE OPERATOR mallory.= (LEFTARG = int8, RIGHTARG = int8, FUNCTION = mallory.eq);
CREATE FUNCTION mallory.now() RETURNS timestamptz LANGUAGE sql AS
$$ SELECT CASE WHEN mallory.trip('now') THEN pg_catalog.now() END $$;
ALTER ROLE mallory SET search_path = mallory, pg_catalog, public;
GRANT USAGE ON SCHEMA mallory TO PUBLIC;
});
is($ret, 0, "mallory's code is in place") or diag($err);

# -- her collection: sealed segments, growing rows, an index -----------------
($ret, $out, $err) = as_mallory(q{
SELECT segstore.create_collection('m', 'id int8 PRIMARY KEY, vector float4[2], body text');
SELECT segstore.insert('m', array_agg(i::int8), array_agg(ARRAY[i, 1]::float4[]), array_agg('b' || i))
FROM generate_series(1, 300) i;
SELECT segstore.create_index('m', 'vector', 'IVF_FLAT', 'L2', '{"nlist": 4}');
SELECT segstore.insert('m', array_agg(i::int8), array_agg(ARRAY[i, 1]::float4[]), array_agg('b' || i))
FROM generate_series(301, 340) i;
});
is($ret, 0, 'mallory creates and fills her collection') or diag($err);
my $growing = sql(q{SELECT growing_table FROM segstore.collections WHERE name = 'm'});
my $cid = sql(q{SELECT collection_id FROM segstore.collections WHERE name = 'm'});

# -- the attacks on what segstore reads and writes: refused ------------------
my @refused = (
	"CREATE TRIGGER t BEFORE INSERT OR UPDATE OR DELETE ON $growing FOR EACH ROW EXECUTE FUNCTION mallory.trip_trigger()",
	"CREATE TRIGGER t AFTER TRUNCATE ON $growing EXECUTE FUNCTION mallory.trip_trigger()",
	"CREATE RULE r AS ON INSERT TO $growing DO ALSO SELECT mallory.trip('rule')",
	"ALTER TABLE $growing ALTER COLUMN id SET DEFAULT mallory.trip_int()",
	"ALTER TABLE $growing ADD CHECK (mallory.trip('check')) NOT VALID",
	"CREATE INDEX ON $growing ((mallory.trip_int()))",
	"CREATE POLICY p ON $growing USING (mallory.trip('policy'))",
	"ALTER TABLE $growing ALTER COLUMN vector TYPE text",
	"INSERT INTO $growing VALUES (1000, '{1,2,3}', 'wrong dimension', now())",
	"DELETE FROM $growing",
	"TRUNCATE $growing",
	"CREATE TRIGGER t BEFORE INSERT ON segstore.pending_delete FOR EACH ROW EXECUTE FUNCTION mallory.trip_trigger()",
	"INSERT INTO segstore.segment SELECT * FROM segstore.segment",
	"SELECT setval('segstore.segment_id_seq', 1)",
	"ALTER FUNCTION segstore.flush(text) OWNER TO mallory",
	"CREATE OR REPLACE FUNCTION segstore.gc(OUT removed_files int, OUT removed_bytes bigint) LANGUAGE sql AS 'SELECT 0, 0::bigint'",
	"ALTER EVENT TRIGGER segstore_sql_drop DISABLE",
	"SET segstore.insert_direct_threshold = 1",
	"SET segstore.min_index_rows = 1000000");
foreach my $attack (@refused)
{
	($ret, $out, $err) = as_mallory($attack);
	ok($ret != 0 && $err =~ /permission denied|must be owner/, "refused: $attack")
	  or diag("exit $ret: $err");
}

# -- the attacks on what is hers: allowed, and segstore never runs them ------
($ret, $out, $err) = as_mallory(q{
CREATE TRIGGER t INSTEAD OF INSERT OR UPDATE OR DELETE ON segstore_data.m
	FOR EACH ROW EXECUTE FUNCTION mallory.trip_trigger();
CREATE RULE r AS ON UPDATE TO segstore_data.m DO INSTEAD SELECT mallory.trip('rule');
ALTER VIEW segstore_data.m ALTER COLUMN id SET DEFAULT mallory.trip_int();
CREATE OR REPLACE VIEW segstore_data.m AS SELECT * FROM mallory.trip_rows();
});
is($ret, 0, 'mallory attaches code to her view') or diag($err);

# The advisory lock keys compaction once used, held by mallory throughout.
my $locks = $node->background_psql('postgres', extra_params => [ '-U', 'mallory' ]);
is( $locks->query_safe(
		q{SELECT count(pg_advisory_lock(1936025456, k)) + count(pg_advisory_lock(1936025459, k))
		  FROM generate_series(0, 64) k}),
	'130',
	'mallory holds the old advisory lock keys');

# -- the workers at work on her collection ----------------------------------
# 40% of the sealed rows deleted: pending deletes the worker writes out once
# the collection is idle, then a delete compaction by the rules; the
# growing rows sealed when idle, and indexed.
($ret, $out, $err) = as_mallory(q{SELECT segstore.delete('m', 'id <= 120')});
is($ret, 0, 'mallory deletes rows') or diag($err);
ok( wait_for(
		q{SELECT EXISTS (SELECT 1 FROM segstore.compactions WHERE collection = 'm'
						 AND trigger = 'auto' AND state = 'Completed')
		   AND (SELECT growing_rows = 0 AND pending_deletes = 0 FROM segstore.collection_stats('m'))},
		90),
	'the worker sealed, wrote the deletes out and compacted on its own')
  or diag(sql(q{SELECT last_decision || ' / ' || coalesce(last_error, '') FROM segstore.worker_status}));
ok( wait_for(
		q{SELECT bool_and(index_state <> 'none') FROM segstore.segments('m') WHERE state = 'flushed'}),
	'every sealed segment is indexed');
is(sql(q{SELECT segstore.num_entities('m')}), '220', 'the live rows');

# -- DROP EXTENSION by mallory while a compaction runs ----------------------
# The plan blocks at its swap on the collection's state lock, held by an
# open delete of a flushed row; mallory's DROP EXTENSION is refused and the compaction
# worker, the same process, goes on to finish once the lock is free.
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe(q{SELECT segstore.delete('m', ARRAY[121]::int8[])});
my $manual = sql(q{SELECT segstore.compact('m', "full" => true)});
ok( wait_for(
		q{SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'segstore compaction worker'
						 AND wait_event_type = 'Lock')}),
	'the compaction waits for the state lock');
my $worker_pid = sql(q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'segstore compaction worker'
	AND wait_event_type = 'Lock'});
my $maintenance_pid = sql(q{SELECT pid FROM segstore.worker_status});
($ret, $out, $err) = as_mallory('DROP EXTENSION segstore');
like($err, qr/must be owner of extension segstore/, 'mallory cannot drop the extension');
($ret, $out, $err) = as_mallory('DROP EXTENSION segstore CASCADE');
like($err, qr/must be owner of extension segstore/, 'nor with CASCADE');
sleep(1.5);
is(sql(qq{SELECT count(*) FROM pg_stat_activity WHERE pid = $worker_pid}), '1',
	'the compaction worker is still there');
is(sql(q{SELECT pid FROM segstore.worker_status}), $maintenance_pid,
	'so is the maintenance worker');
$holder->query_safe('COMMIT');
$holder->quit;
is(sql(qq{SELECT segstore.wait_for_compaction($manual, '1 min')}), 'Completed',
	'the compaction completes');

# -- mallory's own view and event triggers on her objects -------------------
# Dropping her view (the event trigger drops the collection) runs none of
# her code either.
($ret, $out, $err) = as_mallory(q{SELECT segstore.flush('m'); DROP VIEW segstore_data.m});
is($ret, 0, 'mallory drops her collection with its view') or diag($err);
is(sql(q{SELECT segstore.has_collection('m')}), 'f', 'the collection is gone');
ok( wait_for(
		qq{SELECT NOT EXISTS (SELECT 1 FROM pg_ls_dir('segstore/' ||
			(SELECT oid FROM pg_database WHERE datname = 'postgres'), true, false) d WHERE d = '$cid')}),
	'and its files');

$locks->quit;

# -- the tripwire -----------------------------------------------------------
is(sql(q{SELECT count(*) FROM tripwire}), '0', "none of mallory's code ever ran")
  or diag(sql(q{SELECT string_agg(format('%s %s %s %s', who, superuser, backend_type, what), E'\n')
	FROM tripwire}));
is(sql(q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'}), 'f', 'mallory is no superuser');

# The tripwire works: used directly, her view runs her code, with her rights.
($ret, $out, $err) = as_mallory(q{
SELECT segstore.create_collection('m2', 'id int8 PRIMARY KEY, vector float4[2], body text');
CREATE OR REPLACE VIEW segstore_data.m2 AS SELECT * FROM mallory.trip_rows();
SELECT count(*) FROM segstore_data.m2;
});
is(sql(q{SELECT string_agg(format('%s %s %s', who, superuser, what), ',') FROM tripwire}),
	'mallory f view query', 'the tripwire records a run of her code, as her');

$node->stop;
done_testing();
