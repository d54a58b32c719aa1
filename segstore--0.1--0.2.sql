/* segstore--0.1--0.2.sql: updates an installed 0.1 to 0.2 */

\echo Use "ALTER EXTENSION segstore UPDATE TO '0.2'" to load this file. \quit

-- The trust boundary.  Growing tables move into a schema only the
-- extension uses and belong to the extension's owner; each collection gets
-- a view in segstore_data that carries its owner and ACL.  Every existing
-- collection is converted by segstore.convert_from_0_1(), which reads its
-- old growing table (owned by the collection's owner, who may have
-- attached anything to it) without running any code of that role, and
-- refuses a collection it cannot carry over with an error that says why.

-- The growing segments of all collections, one heap table each, named
-- growing_<collection id>, owned by the extension's owner.  No other role
-- has any privilege here: no role but a superuser can read, write, or
-- attach code to what segstore reads and writes on a user's behalf.
CREATE SCHEMA segstore_internal;

ALTER TABLE segstore.collection ADD COLUMN viewid oid;

-- Time travel's window is the collection's, as compaction and search both
-- read it; existing collections keep the window this session has.
ALTER TABLE segstore.collection
	ADD COLUMN retention_s int NOT NULL DEFAULT 0 CHECK (retention_s >= 0),
	ADD COLUMN history_from timestamptz;
UPDATE segstore.collection
SET retention_s = pg_catalog.date_part('epoch', pg_catalog.current_setting('segstore.retention_duration', true)::interval)::int
WHERE pg_catalog.current_setting('segstore.retention_duration', true) IS NOT NULL;
ALTER TABLE segstore.segment ADD COLUMN purged_until timestamptz;

-- Writers record delta binlogs and pending deletes against segments as
-- they now are (the latest snapshot), which a foreign key check in a
-- REPEATABLE READ transaction's own snapshot would not find.  Segment rows
-- go only with their collection, which cascades to both.
ALTER TABLE segstore.binlog DROP CONSTRAINT binlog_segment_id_fkey;
ALTER TABLE segstore.pending_delete DROP CONSTRAINT pending_delete_segment_id_fkey;

-- The growing data's size is counted in shared memory now: a column that
-- every insert updated made writers of a collection wait for each other.
ALTER TABLE segstore.collection DROP COLUMN growing_bytes;

CREATE FUNCTION segstore.convert_from_0_1()
RETURNS void AS 'MODULE_PATHNAME', 'segstore_convert_from_0_1' LANGUAGE C VOLATILE;
SELECT segstore.convert_from_0_1();
DROP FUNCTION segstore.convert_from_0_1();

ALTER TABLE segstore.collection ALTER COLUMN viewid SET NOT NULL,
	ADD CONSTRAINT collection_viewid_key UNIQUE (viewid);

DROP FUNCTION segstore.alter_collection(text, boolean, text);
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

CREATE OR REPLACE VIEW segstore.collections AS
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

-- Was a plan left executing by a worker that is gone?  Read in the latest
-- snapshot once the worker is known to be gone, so that a plan that ended
-- just now is not taken for one; a standby answers as its catalog says.
CREATE FUNCTION segstore.plan_orphaned(plan_id bigint, worker_pid int)
RETURNS boolean AS 'MODULE_PATHNAME', 'segstore_plan_orphaned' LANGUAGE C VOLATILE STRICT;

CREATE OR REPLACE VIEW segstore.compactions AS
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

CREATE OR REPLACE VIEW segstore.compaction_progress AS
SELECT p.pid, p.collection, p.compaction_id, p.plan_id, p.phase,
	   p.rows_done, p.rows_total, p.bytes_done, p.bytes_total, p.started_at
FROM segstore.get_compaction_progress() p
JOIN segstore.collection c ON c.name = p.collection
WHERE p.datid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
  AND pg_catalog.has_table_privilege(c.viewid, 'SELECT');

-- Metadata, visible to every role as pg_indexes is.
CREATE OR REPLACE VIEW segstore.indexes AS
SELECT c.name AS collection, i.field, i.index_type, i.metric_type,
	   CASE WHEN i.index_type = 'IVF_FLAT' THEN i.nlist END AS nlist, i.created_at
FROM segstore.index i
JOIN segstore.collection c USING (collection_id);

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

-- Read every file of a collection's flushed segments and check it against
-- its checksums and the catalog: one row per problem, none when sound.
-- For the collection's owner (and superusers), checked in C.
CREATE FUNCTION segstore.verify(collection text,
	OUT segment_id bigint, OUT file_kind text, OUT path text,
	OUT problem text, OUT detail text)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'segstore_verify' LANGUAGE C STABLE STRICT;

-- Insert (with upsert => true, replace) the rows a query returns, one
-- column per field by name, streamed into segments without arrays.
CREATE FUNCTION segstore.insert_from(collection text, query text, upsert boolean DEFAULT false)
RETURNS bigint AS 'MODULE_PATHNAME', 'segstore_insert_from' LANGUAGE C VOLATILE;

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
