-- The per-backend search cache: it never serves another collection's
-- segments, and a search that fails on a damaged file leaves no memory
-- behind in it.  The top-k heap's order when distances overflow.
CREATE EXTENSION segstore;
SET segstore.insert_direct_threshold = 10;

------------------------------------------------------------------------
-- 1. DROP EXTENSION and CREATE EXTENSION again in one session: the new
--    collection gets the old one's id, and its segments and files the old
--    ones' ids and paths, but different data.
------------------------------------------------------------------------
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[2]');
SELECT segstore.insert('c', ARRAY[1, 2, 3]::int8[], ARRAY[[0, 0], [1, 1], [2, 2]]::float4[][]);
SELECT segstore.flush('c');
SELECT * FROM segstore.search('c', '{0,0}', 3);
DROP EXTENSION segstore;
CREATE EXTENSION segstore;
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[2]');
SELECT segstore.insert('c', ARRAY[1, 2, 3]::int8[], ARRAY[[9, 9], [1, 1], [0, 0]]::float4[][]);
SELECT segstore.flush('c');
SELECT * FROM segstore.search('c', '{0,0}', 3);
-- the same with an index: same index id, same file ids
SELECT segstore.create_index('c', 'v', 'FLAT');
SELECT * FROM segstore.search('c', '{0,0}', 3);
DROP EXTENSION segstore;
CREATE EXTENSION segstore;
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[2]');
SELECT segstore.insert('c', ARRAY[1, 2, 3]::int8[], ARRAY[[5, 5], [1, 1], [0, 0]]::float4[][]);
SELECT segstore.flush('c');
SELECT segstore.create_index('c', 'v', 'FLAT');
SELECT * FROM segstore.search('c', '{0,0}', 3);
DROP EXTENSION segstore;
CREATE EXTENSION segstore;

------------------------------------------------------------------------
-- 2. Searches that fail on a damaged file, again and again, do not make
--    the cache grow: insert binlog of a segment without an index file,
--    delta binlog, index file.
------------------------------------------------------------------------
SELECT segstore.create_collection('k', 'id int8 PRIMARY KEY, v float4[4]') > 0;
SELECT segstore.insert('k', array_agg(i::int8), array_agg(ARRAY[i, i, i, i]::float4[]))
FROM generate_series(1, 1000) i;
SELECT segstore.delete('k', 'id <= 10');
SELECT segstore.flush('k');

-- Overwrite a file of kind with its middle byte flipped (or restored).
CREATE TEMP TABLE saved AS SELECT kind, path, pg_read_binary_file(path) AS bytes
FROM segstore.binlogs('k');
CREATE FUNCTION damage_file(which text, restore boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	r record;
	b bytea;
	lo oid;
BEGIN
	FOR r IN SELECT * FROM saved WHERE kind = which LOOP
		b := r.bytes;
		IF NOT restore THEN
			b := set_byte(b, length(b) / 2, get_byte(b, length(b) / 2) # 1);
		END IF;
		lo := lo_from_bytea(0, b);
		PERFORM lo_export(lo, current_setting('data_directory') || '/' || r.path);
		PERFORM lo_unlink(lo);
	END LOOP;
END $$;
-- Run a failing search n times; return its distinct errors.
CREATE FUNCTION fail_searches(n int) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	errors text[] := '{}';
	msg text;
BEGIN
	FOR i IN 1 .. n LOOP
		BEGIN
			PERFORM * FROM segstore.search('k', '{1,1,1,1}', 3);
			msg := 'ok';
		EXCEPTION WHEN OTHERS THEN
			msg := SQLSTATE || ': ' || regexp_replace(SQLERRM, 'segstore/[0-9]+/[0-9]+/[0-9]+_[0-9]+', 'segstore/…/<file>');
		END;
		IF NOT msg = ANY (errors) THEN
			errors := errors || msg;
		END IF;
	END LOOP;
	RETURN QUERY SELECT unnest(errors);
END $$;
CREATE FUNCTION cache_bytes() RETURNS bigint LANGUAGE sql AS $$
	SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts
	WHERE name LIKE 'segstore search%' OR name = 'segstore decoded segment'
$$;

SELECT damage_file('insert');
SELECT * FROM fail_searches(1);
SELECT cache_bytes() AS before \gset
SELECT * FROM fail_searches(200);
SELECT cache_bytes() - :before < 8192 AS insert_failures_leave_nothing;
SELECT count(*) AS decoded FROM pg_backend_memory_contexts WHERE name = 'segstore decoded segment';
SELECT damage_file('insert', true);
SELECT count(*) FROM segstore.search('k', '{1,1,1,1}', 3);

SELECT segstore.release('k');
SELECT damage_file('delta');
SELECT * FROM fail_searches(1);
SELECT cache_bytes() AS before \gset
SELECT * FROM fail_searches(200);
SELECT cache_bytes() - :before < 8192 AS delta_failures_leave_nothing;
SELECT damage_file('delta', true);
SELECT count(*) FROM segstore.search('k', '{1,1,1,1}', 3);

SELECT segstore.create_index('k', 'v', 'FLAT');
DELETE FROM saved;
INSERT INTO saved SELECT kind, path, pg_read_binary_file(path) FROM segstore.binlogs('k');
SELECT segstore.release('k');
SELECT damage_file('index');
SELECT * FROM fail_searches(1);
SELECT cache_bytes() AS before \gset
SELECT * FROM fail_searches(200);
SELECT cache_bytes() - :before < 8192 AS index_failures_leave_nothing;
SELECT damage_file('index', true);
SELECT count(*) FROM segstore.search('k', '{1,1,1,1}', 3);

------------------------------------------------------------------------
-- 3. Distances that overflow to NaN (inner products of huge components)
--    come last, as ORDER BY puts them, and never keep nearer rows out.
------------------------------------------------------------------------
SELECT segstore.create_collection('h', 'id int8 PRIMARY KEY, v float4[2]') > 0;
SELECT segstore.insert('h', array_agg(i::int8),
					   array_agg(ARRAY[CASE WHEN i % 2 = 0 THEN 3e38 ELSE -3e38 END, 3e38]::float4[]))
FROM generate_series(1, 20) i;
SELECT segstore.insert('h', ARRAY[100, 101]::int8[], ARRAY[[0, 0], [1, 1]]::float4[][]);
SELECT * FROM segstore.search('h', '{3e38,-3e38}', 5, '{"metric_type": "IP"}');
WITH s AS (SELECT row_number() OVER () AS n, * FROM
		   segstore.search('h', '{3e38,-3e38}', 22, '{"metric_type": "IP"}'))
SELECT array_agg(id ORDER BY n) = array_agg(id ORDER BY distance, id) AS sorted,
	   count(*) FILTER (WHERE distance = 'NaN') AS nan, count(*)
FROM s;
SELECT segstore.create_index('h', 'v', 'FLAT', 'IP');
SELECT * FROM segstore.search('h', '{3e38,-3e38}', 5);

------------------------------------------------------------------------
-- 4. search_batch holds every query's top k at once: bounded by work_mem.
------------------------------------------------------------------------
SET work_mem = '64kB';
SELECT count(*) FROM segstore.search_batch('h',
	(SELECT array_agg(ARRAY[i, i]::float4[]) FROM generate_series(1, 400) i), 10);
SELECT count(*) FROM segstore.search_batch('h',
	(SELECT array_agg(ARRAY[i, i]::float4[]) FROM generate_series(1, 500) i), 10);
RESET work_mem;

DROP EXTENSION segstore;
DROP TABLE saved;
DROP FUNCTION damage_file(text, boolean), fail_searches(int), cache_bytes();
