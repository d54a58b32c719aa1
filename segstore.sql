/*
 * segstore.sql: the install script of the current version.  The Makefile
 * builds segstore--<default_version>.sql from it.
 *
 * Every change to this file goes into the newest upgrade script
 * (segstore--<previous>--<default_version>.sql) too, so that an updated
 * installation ends up with what a fresh one gets; add new columns at the
 * end of their table, as ALTER TABLE ADD COLUMN does.  test/t/008_upgrade.pl
 * compares the two.
 */

\echo Use "CREATE EXTENSION segstore" to load this file. \quit

-- Each collection has a view here, named after it, which stands for it:
-- the view's owner is the collection's owner and its ACL the collection's
-- ACL (SELECT = read, INSERT = insert, UPDATE = upsert, DELETE = delete,
-- TRUNCATE = maintain), so GRANT, REVOKE, ALTER VIEW ... OWNER TO, DROP
-- OWNED and REASSIGN OWNED work on collections.  Creating a collection
-- needs the CREATE privilege on this schema.  segstore never reads or
-- writes these views.
CREATE SCHEMA segstore_data;

-- The growing segments of all collections, one heap table each, named
-- growing_<collection id>, owned by the extension's owner.  No other role
-- has any privilege here: no role but a superuser can read, write, or
-- attach code to what segstore reads and writes on a user's behalf.
CREATE SCHEMA segstore_internal;

CREATE SEQUENCE segstore.collection_id_seq;
CREATE SEQUENCE segstore.segment_id_seq;
CREATE SEQUENCE segstore.file_id_seq;

CREATE TABLE segstore.collection (
	collection_id bigint PRIMARY KEY,
	name text NOT NULL UNIQUE,
	relid oid NOT NULL,				-- the growing heap table (segstore_internal)
	description text,
	dim int NOT NULL,
	growing_segment_id bigint NOT NULL,
	last_write_at timestamptz NOT NULL DEFAULT now(),	-- flushed state last changed
	auto_compaction boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	viewid oid NOT NULL UNIQUE,		-- segstore_data.<name>: owner and ACL
	-- how long compaction keeps deletes for search's as_of (seconds), set
	-- from segstore.retention_duration at creation, changed by the owner
	retention_s int NOT NULL DEFAULT 0 CHECK (retention_s >= 0),
	-- as_of before this is refused: the window was raised then, and what
	-- the smaller window let go is gone
	history_from timestamptz
);

CREATE TABLE segstore.field (
	collection_id bigint NOT NULL REFERENCES segstore.collection ON DELETE CASCADE,
	fieldno int NOT NULL,
	name text NOT NULL,
	type text NOT NULL,
	typmod int NOT NULL,
	is_primary boolean NOT NULL,
	PRIMARY KEY (collection_id, fieldno)
);

CREATE TABLE segstore.segment (
	segment_id bigint PRIMARY KEY,
	collection_id bigint NOT NULL REFERENCES segstore.collection ON DELETE CASCADE,
	state text NOT NULL CHECK (state IN ('flushed', 'compacted', 'dropped')),
	num_rows bigint NOT NULL,
	pk_min bigint NOT NULL,
	pk_max bigint NOT NULL,
	ts_min timestamptz NOT NULL,
	ts_max timestamptz NOT NULL,
	compacted_from bigint[],
	created_at timestamptz NOT NULL DEFAULT now(),
	-- set when a compaction swapped the segment out: its files stay until
	-- no snapshot that saw it flushed remains and droppable_at (the swap
	-- plus the plan's retention window) has passed
	compacted_xid xid8,
	compacted_at timestamptz,
	droppable_at timestamptz,
	-- the latest delete whose row a compaction dropped from this segment or
	-- its sources: search's as_of before it is refused
	purged_until timestamptz
);
CREATE INDEX ON segstore.segment (collection_id, state);

-- binlog, pending_delete and index_failure name their segment without a
-- foreign key: writers record rows against segments as they now are (the
-- latest snapshot), which PostgreSQL's foreign key check, run in a
-- REPEATABLE READ transaction's own snapshot, would not find.  Segment rows
-- are never deleted but with their collection, which cascades to all three.
CREATE TABLE segstore.binlog (
	file_id bigint PRIMARY KEY,
	collection_id bigint NOT NULL REFERENCES segstore.collection ON DELETE CASCADE,
	segment_id bigint NOT NULL,
	kind text NOT NULL CHECK (kind IN ('insert', 'delta', 'stats')),
	path text NOT NULL,
	rows bigint NOT NULL,
	size_bytes bigint NOT NULL,
	raw_bytes bigint NOT NULL,
	ts_min timestamptz,
	ts_max timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON segstore.binlog (segment_id);
CREATE INDEX ON segstore.binlog (collection_id);

-- Deletes of keys that live in sealed segments, until flush writes them out
-- as delta binlogs.
CREATE TABLE segstore.pending_delete (
	collection_id bigint NOT NULL REFERENCES segstore.collection ON DELETE CASCADE,
	segment_id bigint NOT NULL,
	pk bigint NOT NULL,
	ts timestamptz NOT NULL,
	PRIMARY KEY (segment_id, pk)
);
CREATE INDEX ON segstore.pending_delete (collection_id);

-- Roles reach collections only through the functions below, which check
-- the privileges on the collection's view.
CREATE SEQUENCE segstore.compaction_id_seq;
CREATE SEQUENCE segstore.plan_id_seq;

CREATE TABLE segstore.compaction (
	compaction_id bigint PRIMARY KEY,
	collection_id bigint NOT NULL REFERENCES segstore.collection ON DELETE CASCADE,
	trigger text NOT NULL CHECK (trigger IN ('manual', 'auto', 'full')),
	reason text,
	cancel_requested boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz			-- set when its last plan ended
);

CREATE TABLE segstore.compaction_plan (
	plan_id bigint PRIMARY KEY,
	compaction_id bigint NOT NULL REFERENCES segstore.compaction ON DELETE CASCADE,
	collection_id bigint NOT NULL,
	priority int NOT NULL,			-- 0 manual and full, 1 automatic
	plan_type text NOT NULL CHECK (plan_type IN ('delete', 'merge', 'full')),
	sources bigint[] NOT NULL,
	targets bigint[] NOT NULL DEFAULT '{}',
	state text NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'executing', 'completed', 'failed', 'timeout', 'cancelled')),
	rows_in bigint,
	rows_out bigint,
	deleted_purged bigint,
	deletes_kept bigint,
	bytes_in bigint,
	bytes_out bigint,
	peak_memory bigint,
	-- settings of the session that queued the plan, which the worker obeys
	max_segment_size bigint NOT NULL,
	memory_limit bigint NOT NULL,
	retention_s int NOT NULL,
	timeout_s int NOT NULL,
	started_at timestamptz,
	finished_at timestamptz,
	worker_pid int,
	error text
);
CREATE INDEX ON segstore.compaction_plan (compaction_id);
CREATE INDEX ON segstore.compaction_plan (state, priority, plan_id);

REVOKE ALL ON ALL TABLES IN SCHEMA segstore FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA segstore FROM PUBLIC;
GRANT USAGE ON SCHEMA segstore, segstore_data TO PUBLIC;

-- Collections

CREATE FUNCTION segstore.create_collection(name text, fields text, description text DEFAULT NULL)
RETURNS bigint AS 'MODULE_PATHNAME', 'segstore_create_collection' LANGUAGE C VOLATILE;

CREATE FUNCTION segstore.drop_collection(name text, if_exists boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'segstore_drop_collection' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION segstore.has_collection(name text)
RETURNS boolean AS 'MODULE_PATHNAME', 'segstore_has_collection' LANGUAGE C STABLE STRICT;

CREATE FUNCTION segstore.alter_collection(name text, auto_compaction boolean DEFAULT NULL,
										  description text DEFAULT NULL, owner name DEFAULT NULL,
										  retention interval DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'segstore_alter_collection' LANGUAGE C VOLATILE;

-- Privileges of a collection by segstore's names (read, insert, upsert,
-- delete, maintain or compact, all): GRANT and REVOKE on its view, run as
-- the caller.  role 'public' is PUBLIC.
CREATE FUNCTION segstore.grant(collection text, privileges text[], role name,
							   with_grant_option boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'segstore_grant' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION segstore.revoke(collection text, privileges text[], role name,
								grant_option_only boolean DEFAULT false,
								"cascade" boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'segstore_revoke' LANGUAGE C VOLATILE STRICT;

-- Collections are catalog metadata, visible to every role as pg_class is;
-- their data is not.
CREATE VIEW segstore.collections AS
SELECT c.collection_id, c.name, pg_catalog.pg_get_userbyid(v.relowner) AS owner,
	   c.dim, f.fields, c.description, c.relid::regclass AS growing_table,
	   c.auto_compaction, c.created_at, c.viewid::regclass AS view, v.relacl AS acl,
	   pg_catalog.make_interval(secs => c.retention_s) AS retention, c.history_from
FROM segstore.collection c
LEFT JOIN pg_catalog.pg_class v ON v.oid = c.viewid
CROSS JOIN LATERAL (
	SELECT string_agg(quote_ident(f.name) || ' ' ||
					  CASE f.type WHEN 'varchar' THEN 'varchar(' || f.typmod || ')'
								  WHEN 'vector' THEN 'float4[' || f.typmod || ']'
								  ELSE f.type END ||
					  CASE WHEN f.is_primary THEN ' PRIMARY KEY' ELSE '' END,
					  ', ' ORDER BY f.fieldno) AS fields
	FROM segstore.field f WHERE f.collection_id = c.collection_id) f;
GRANT SELECT ON segstore.collections TO PUBLIC;

-- Who holds which privilege of which collection, by segstore's names, as
-- the ACL of the collection's view says (as pg_class.relacl, for all).
CREATE VIEW segstore.collection_privileges AS
SELECT c.name AS collection, pg_catalog.pg_get_userbyid(a.grantor) AS grantor,
	   CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee,
	   CASE a.privilege_type WHEN 'SELECT' THEN 'read' WHEN 'INSERT' THEN 'insert'
			WHEN 'UPDATE' THEN 'upsert' WHEN 'DELETE' THEN 'delete'
			WHEN 'TRUNCATE' THEN 'maintain' END AS privilege,
	   a.is_grantable
FROM segstore.collection c
JOIN pg_catalog.pg_class v ON v.oid = c.viewid
CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(v.relacl, pg_catalog.acldefault('r', v.relowner))) a
WHERE a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE');
GRANT SELECT ON segstore.collection_privileges TO PUBLIC;

-- Data

CREATE FUNCTION segstore.insert(collection text, VARIADIC columns "any")
RETURNS bigint AS 'MODULE_PATHNAME', 'segstore_insert' LANGUAGE C VOLATILE;

CREATE FUNCTION segstore.upsert(collection text, VARIADIC columns "any")
RETURNS bigint AS 'MODULE_PATHNAME', 'segstore_upsert' LANGUAGE C VOLATILE;

-- Insert (with upsert => true, replace) the rows a query returns, one
-- column per field by name, streamed into segments without arrays.
CREATE FUNCTION segstore.insert_from(collection text, query text, upsert boolean DEFAULT false)
RETURNS bigint AS 'MODULE_PATHNAME', 'segstore_insert_from' LANGUAGE C VOLATILE;

CREATE FUNCTION segstore.delete(collection text, expr text)
RETURNS bigint AS 'MODULE_PATHNAME', 'segstore_delete_expr' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION segstore.delete(collection text, ids bigint[])
RETURNS bigint AS 'MODULE_PATHNAME', 'segstore_delete_ids' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION segstore.flush(collection text)
RETURNS void AS 'MODULE_PATHNAME', 'segstore_flush' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION segstore.num_entities(collection text)
RETURNS bigint AS 'MODULE_PATHNAME', 'segstore_num_entities' LANGUAGE C STABLE STRICT;

CREATE FUNCTION segstore.query(collection text, expr text, output_fields text[] DEFAULT NULL,
							   lim int DEFAULT NULL)
RETURNS SETOF jsonb AS 'MODULE_PATHNAME', 'segstore_query' LANGUAGE C STABLE;

-- Inspection

CREATE FUNCTION segstore.segments(collection text,
	OUT segment_id bigint, OUT state text, OUT num_rows bigint, OUT deleted_rows bigint,
	OUT live_rows bigint, OUT insert_binlogs int, OUT delta_binlogs int,
	OUT size_bytes bigint, OUT index_state text, OUT compacted_from bigint[],
	OUT created_at timestamptz)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'segstore_segments' LANGUAGE C STABLE STRICT;

CREATE FUNCTION segstore.binlogs(collection text,
	OUT segment_id bigint, OUT kind text, OUT path text, OUT rows bigint,
	OUT size_bytes bigint, OUT raw_bytes bigint, OUT ts_min timestamptz,
	OUT ts_max timestamptz, OUT created_at timestamptz)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'segstore_binlogs' LANGUAGE C STABLE STRICT;

CREATE FUNCTION segstore.collection_stats(collection text,
	OUT rows bigint, OUT live_rows bigint, OUT deleted_rows bigint,
	OUT pending_deletes bigint, OUT growing_rows bigint,
	OUT growing_segments int, OUT flushed_segments int,
	OUT compacted_segments int, OUT dropped_segments int,
	OUT binlog_files int, OUT disk_bytes bigint, OUT growing_bytes bigint)
RETURNS record AS 'MODULE_PATHNAME', 'segstore_collection_stats' LANGUAGE C STABLE STRICT;

-- Read every file of a collection's flushed segments and check it against
-- its checksums and the catalog: one row per problem, none when sound.
-- For the collection's owner (and superusers), checked in C.
CREATE FUNCTION segstore.verify(collection text,
	OUT segment_id bigint, OUT file_kind text, OUT path text,
	OUT problem text, OUT detail text)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'segstore_verify' LANGUAGE C STABLE STRICT;

-- Compaction

CREATE FUNCTION segstore.compact(collection text, "full" boolean DEFAULT false)
RETURNS bigint AS 'MODULE_PATHNAME', 'segstore_compact' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION segstore.trigger_compaction(collection text)
RETURNS bigint AS 'MODULE_PATHNAME', 'segstore_trigger_compaction' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION segstore.compaction_state(compaction_id bigint,
	OUT compaction_id bigint, OUT state text, OUT executing_plan_no int,
	OUT completed_plan_no int, OUT failed_plan_no int, OUT timeout_plan_no int,
	OUT total_plan_no int)
RETURNS record AS 'MODULE_PATHNAME', 'segstore_compaction_state' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION segstore.compaction_plans(compaction_id bigint,
	OUT plan_id bigint, OUT plan_type text, OUT sources bigint[], OUT targets bigint[],
	OUT state text, OUT rows_in bigint, OUT rows_out bigint, OUT deleted_purged bigint,
	OUT deletes_kept bigint, OUT bytes_in bigint, OUT bytes_out bigint,
	OUT peak_memory bigint, OUT started_at timestamptz, OUT finished_at timestamptz,
	OUT error text)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'segstore_compaction_plans' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION segstore.wait_for_compaction(compaction_id bigint, timeout interval DEFAULT '5 min')
RETURNS text AS 'MODULE_PATHNAME', 'segstore_wait_for_compaction' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION segstore.cancel_compaction(compaction_id bigint)
RETURNS void AS 'MODULE_PATHNAME', 'segstore_cancel_compaction' LANGUAGE C VOLATILE STRICT;

-- Was a plan left executing by a worker that is gone?  Read in the latest
-- snapshot once the worker is known to be gone, so that a plan that ended
-- just now is not taken for one; a standby answers as its catalog says.
CREATE FUNCTION segstore.plan_orphaned(plan_id bigint, worker_pid int)
RETURNS boolean AS 'MODULE_PATHNAME', 'segstore_plan_orphaned' LANGUAGE C VOLATILE STRICT;

-- History of compactions: what ran, when, and what it reclaimed.
CREATE VIEW segstore.compactions AS
SELECT c.compaction_id, col.name AS collection, c.trigger, c.reason,
	   CASE WHEN bool_or(p.state = 'pending' OR (p.state = 'executing' AND w.alive)) THEN 'Executing'
			WHEN bool_or(p.state <> 'completed') THEN 'Failed'
			ELSE 'Completed' END AS state,
	   count(p.plan_id)::int AS plans,
	   c.created_at, min(p.started_at) AS started_at,
	   CASE WHEN bool_or(p.state = 'pending' OR (p.state = 'executing' AND w.alive)) THEN NULL
			ELSE max(p.finished_at) END AS finished_at,
	   sum(p.rows_in)::bigint AS rows_before, sum(p.rows_out)::bigint AS rows_after,
	   sum(p.bytes_in)::bigint AS bytes_before, sum(p.bytes_out)::bigint AS bytes_after,
	   (sum(p.bytes_in) - sum(p.bytes_out))::bigint AS bytes_reclaimed,
	   string_agg(p.error, '; ') AS errors
FROM segstore.compaction c
JOIN segstore.collection col USING (collection_id)
LEFT JOIN segstore.compaction_plan p USING (compaction_id)
-- a plan left executing by a worker that is gone (a crash) has failed;
-- plan_orphaned() tells one from a plan that ended after this snapshot
CROSS JOIN LATERAL (SELECT CASE WHEN p.state = 'executing'
								THEN NOT segstore.plan_orphaned(p.plan_id, COALESCE(p.worker_pid, 0))
						   END AS alive) w
WHERE pg_catalog.has_table_privilege(col.viewid, 'SELECT')
GROUP BY c.compaction_id, col.name, c.trigger, c.reason, c.created_at;
GRANT SELECT ON segstore.compactions TO PUBLIC;

-- Background workers (with shared_preload_libraries = 'segstore'; without
-- it these views are empty)

CREATE FUNCTION segstore.get_compaction_progress(
	OUT pid int, OUT datid oid, OUT collection text, OUT compaction_id bigint,
	OUT plan_id bigint, OUT phase text, OUT rows_done bigint, OUT rows_total bigint,
	OUT bytes_done bigint, OUT bytes_total bigint, OUT started_at timestamptz)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'segstore_compaction_progress' LANGUAGE C VOLATILE;

-- Plans running now in this database, live.
CREATE VIEW segstore.compaction_progress AS
SELECT p.pid, p.collection, p.compaction_id, p.plan_id, p.phase,
	   p.rows_done, p.rows_total, p.bytes_done, p.bytes_total, p.started_at
FROM segstore.get_compaction_progress() p
JOIN segstore.collection c ON c.name = p.collection
WHERE p.datid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
  AND pg_catalog.has_table_privilege(c.viewid, 'SELECT');
GRANT SELECT ON segstore.compaction_progress TO PUBLIC;

CREATE FUNCTION segstore.get_worker_status(
	OUT datid oid, OUT pid int, OUT state text, OUT started_at timestamptz,
	OUT runs bigint, OUT last_run_at timestamptz, OUT last_run_seconds float8,
	OUT last_decision text, OUT last_error text, OUT next_run_at timestamptz,
	OUT restarts int)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'segstore_worker_status' LANGUAGE C VOLATILE;

-- Each database's maintenance worker: when it ran, what it decided and
-- why, when it runs next.  Cluster-wide, like pg_stat_activity; readable
-- by members of pg_read_all_stats.
CREATE VIEW segstore.worker_status AS
SELECT d.datname, w.pid, w.state, w.started_at, w.runs, w.last_run_at,
	   w.last_run_seconds, w.last_decision, w.last_error, w.next_run_at, w.restarts
FROM segstore.get_worker_status() w
LEFT JOIN pg_catalog.pg_database d ON d.oid = w.datid;
REVOKE ALL ON FUNCTION segstore.get_worker_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segstore.get_worker_status() TO pg_read_all_stats;
GRANT SELECT ON segstore.worker_status TO pg_read_all_stats;

-- Logical backup: the SQL that rebuilds a collection (definition, every
-- live entity with its vector and scalars, the index definition), one
-- statement a row, for psql to write to a file and to run elsewhere:
--   psql -XAt -d src -c "SELECT segstore.dump('c')" > c.sql
--   psql -X -v ON_ERROR_STOP=1 -d dst -f c.sql
-- The script is one transaction, so no worker sees a half-restored
-- collection, and it keeps automatic compaction off until its last
-- statement.  It reads one snapshot (the calling statement's), through
-- the public functions only, batch_rows entities at a time.
CREATE FUNCTION segstore.dump(collection text, batch_rows int DEFAULT 10000)
RETURNS SETOF text LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, pg_temp SET extra_float_digits = 1
AS $dump$
DECLARE
	c record;
	part text;
	fname text;
	ftype text;
	pk text;
	cols text := '';
	aggs text := '';
	stmt text;
	last_key int8 := NULL;
	n int8;
	ix record;
BEGIN
	IF batch_rows < 1 THEN
		RAISE EXCEPTION 'batch_rows must be at least 1' USING ERRCODE = '22023';
	END IF;
	SELECT * INTO c FROM segstore.collections WHERE name = collection;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'collection "%" does not exist', collection USING ERRCODE = '42P01';
	END IF;
	-- fields reads "name type[ PRIMARY KEY], ..."; names are plain identifiers
	-- and no type spelling holds ", "
	FOREACH part IN ARRAY string_to_array(c.fields, ', ') LOOP
		fname := split_part(part, ' ', 1);
		ftype := split_part(part, ' ', 2);
		IF part LIKE '% PRIMARY KEY' THEN
			pk := fname;
		END IF;
		aggs := aggs || CASE WHEN aggs = '' THEN '' ELSE ' || '', '' || ' END ||
			CASE WHEN ftype LIKE 'float4[%' THEN
					 format('quote_literal(array_agg(ARRAY(SELECT jsonb_array_elements_text(e->%L)::float4) ORDER BY (e->>%L)::int8)::text) || ''::float4[]''', fname, '@PK@')
				 WHEN ftype = 'jsonb' THEN
					 format('quote_literal(array_agg(e->%L ORDER BY (e->>%L)::int8)::text) || ''::jsonb[]''', fname, '@PK@')
				 ELSE
					 format('quote_literal(array_agg((e->>%L)::%s ORDER BY (e->>%L)::int8)::text) || ''::%s[]''',
							fname, CASE WHEN ftype LIKE 'varchar%' THEN 'text' ELSE ftype END, '@PK@',
							CASE WHEN ftype LIKE 'varchar%' THEN 'text' ELSE ftype END)
			END;
	END LOOP;
	aggs := replace(aggs, '@PK@', pk);

	RETURN NEXT 'BEGIN;';
	RETURN NEXT format('SELECT segstore.create_collection(%L, %L, %L);',
					   c.name, c.fields, c.description);
	RETURN NEXT format('SELECT segstore.alter_collection(%L, auto_compaction => false);', c.name);
	LOOP
		EXECUTE format('SELECT count(*), max((e->>%L)::int8), %L || %s || '');'' '
					   'FROM segstore.query($1, $2, NULL, $3) e', pk,
					   format('SELECT segstore.insert(%L, ', c.name), aggs)
			INTO n, last_key, stmt
			USING c.name, CASE WHEN last_key IS NULL THEN NULL ELSE format('%s > %s', pk, last_key) END,
				  batch_rows;
		EXIT WHEN n = 0;
		RETURN NEXT stmt;
		EXIT WHEN n < batch_rows;
	END LOOP;
	RETURN NEXT format('SELECT segstore.flush(%L);', c.name);
	FOR ix IN SELECT * FROM segstore.indexes i WHERE i.collection = c.name LOOP
		RETURN NEXT format('SELECT segstore.create_index(%L, %L, %L, %L, %L);',
						   c.name, ix.field, ix.index_type, ix.metric_type,
						   CASE WHEN ix.nlist IS NULL THEN '{}' ELSE jsonb_build_object('nlist', ix.nlist)::text END);
	END LOOP;
	RETURN NEXT format('SELECT segstore.alter_collection(%L, auto_compaction => %L);',
					   c.name, c.auto_compaction);
	RETURN NEXT 'COMMIT;';
END
$dump$;

-- Maintenance

CREATE FUNCTION segstore.gc(OUT removed_files int, OUT removed_bytes bigint)
RETURNS record AS 'MODULE_PATHNAME', 'segstore_gc' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION segstore.gc() FROM PUBLIC;

-- Removes the database's segstore files once DROP EXTENSION commits.
CREATE FUNCTION segstore.on_drop_extension()
RETURNS event_trigger AS 'MODULE_PATHNAME', 'segstore_on_drop_extension' LANGUAGE C;
CREATE EVENT TRIGGER segstore_drop_extension ON ddl_command_start
	WHEN TAG IN ('DROP EXTENSION') EXECUTE FUNCTION segstore.on_drop_extension();

-- A collection's view dropped (DROP VIEW, DROP OWNED, DROP ... CASCADE)
-- drops the collection.
CREATE FUNCTION segstore.on_sql_drop()
RETURNS event_trigger AS 'MODULE_PATHNAME', 'segstore_on_sql_drop' LANGUAGE C;
CREATE EVENT TRIGGER segstore_sql_drop ON sql_drop
	EXECUTE FUNCTION segstore.on_sql_drop();

-- A collection's view renamed renames the collection; moved out of
-- segstore_data, or with other columns, the command is refused.
CREATE FUNCTION segstore.on_ddl_command_end()
RETURNS event_trigger AS 'MODULE_PATHNAME', 'segstore_on_ddl_command_end' LANGUAGE C;
CREATE EVENT TRIGGER segstore_ddl_command_end ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE', 'ALTER VIEW', 'CREATE VIEW')
	EXECUTE FUNCTION segstore.on_ddl_command_end();

-- Indexes and search

-- A collection's vector index; each sealed segment's index file is a
-- binlog row of kind 'index'.
CREATE SEQUENCE segstore.index_id_seq;
CREATE TABLE segstore.index (
	collection_id bigint PRIMARY KEY REFERENCES segstore.collection ON DELETE CASCADE,
	index_id bigint NOT NULL UNIQUE,
	field text NOT NULL,
	index_type text NOT NULL CHECK (index_type IN ('IVF_FLAT', 'FLAT')),
	metric_type text NOT NULL CHECK (metric_type IN ('L2', 'IP', 'COSINE')),
	nlist int NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON segstore.index, segstore.index_id_seq FROM PUBLIC;
ALTER TABLE segstore.binlog DROP CONSTRAINT binlog_kind_check,
	ADD CONSTRAINT binlog_kind_check CHECK (kind IN ('insert', 'delta', 'stats', 'index'));

CREATE FUNCTION segstore.create_index(collection text, field text,
									  index_type text DEFAULT 'IVF_FLAT',
									  metric_type text DEFAULT 'L2',
									  params jsonb DEFAULT '{"nlist": 128}')
RETURNS void AS 'MODULE_PATHNAME', 'segstore_create_index' LANGUAGE C VOLATILE;

CREATE FUNCTION segstore.drop_index(collection text, field text, if_exists boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'segstore_drop_index' LANGUAGE C VOLATILE STRICT;

-- Index files that could not be built, a row per segment: segments() shows
-- why, and the maintenance worker tries again later, waiting twice as long
-- after each failure.
CREATE TABLE segstore.index_failure (
	segment_id bigint PRIMARY KEY,
	collection_id bigint NOT NULL REFERENCES segstore.collection ON DELETE CASCADE,
	failed_at timestamptz NOT NULL,
	attempts int NOT NULL,
	error text NOT NULL
);
CREATE INDEX ON segstore.index_failure (collection_id);
REVOKE ALL ON segstore.index_failure FROM PUBLIC;

-- Build the index files a collection's segments lack, as the maintenance
-- worker does; returns how many were built.
CREATE FUNCTION segstore.build_index(collection text)
RETURNS int AS 'MODULE_PATHNAME', 'segstore_build_index' LANGUAGE C VOLATILE STRICT;

-- Metadata, visible to every role as pg_indexes is.
CREATE VIEW segstore.indexes AS
SELECT c.name AS collection, i.field, i.index_type, i.metric_type,
	   CASE WHEN i.index_type = 'IVF_FLAT' THEN i.nlist END AS nlist, i.created_at
FROM segstore.index i
JOIN segstore.collection c USING (collection_id);
GRANT SELECT ON segstore.indexes TO PUBLIC;

-- Distances: smaller is nearer.  L2: squared Euclidean distance; IP: minus
-- the inner product; COSINE: 1 - cosine similarity.
CREATE FUNCTION segstore.search(collection text, query float4[], k int,
								params jsonb DEFAULT '{}', filter text DEFAULT NULL,
								as_of timestamptz DEFAULT NULL)
RETURNS TABLE (id bigint, distance float4)
AS 'MODULE_PATHNAME', 'segstore_search' LANGUAGE C STABLE ROWS 10;

-- Many queries in one call: queries is float4[][] (n x dim); query_no
-- counts from 1.
CREATE FUNCTION segstore.search_batch(collection text, queries float4[], k int,
									  params jsonb DEFAULT '{}', filter text DEFAULT NULL,
									  as_of timestamptz DEFAULT NULL)
RETURNS TABLE (query_no int, id bigint, distance float4)
AS 'MODULE_PATHNAME', 'segstore_search_batch' LANGUAGE C STABLE ROWS 100;

CREATE FUNCTION segstore.load(collection text)
RETURNS void AS 'MODULE_PATHNAME', 'segstore_load' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION segstore.release(collection text)
RETURNS void AS 'MODULE_PATHNAME', 'segstore_release' LANGUAGE C VOLATILE STRICT;
