/* segstore--0.1--0.2.sql: updates an installed 0.1 to 0.2 */

\echo Use "ALTER EXTENSION segstore UPDATE TO '0.2'" to load this file. \quit

-- Each change to segstore.sql lands here too.

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


-- A standby answers compaction states as the primary's catalog says.
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
-- a plan left executing by a worker that is gone (a crash) has failed; a
-- standby cannot see the primary's workers and answers as its catalog says
CROSS JOIN LATERAL (SELECT pg_catalog.pg_is_in_recovery() OR
						   EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
								   WHERE a.pid = p.worker_pid) AS alive) w
WHERE pg_catalog.has_table_privilege(col.relid, 'SELECT')
GROUP BY c.compaction_id, col.name, c.trigger, c.reason, c.created_at;
