-- Vector search: exact results for every metric, IVF_FLAT against FLAT and
-- brute force, deletes, filters against query(), time travel, errors,
-- damaged index files, index_state.
CREATE EXTENSION segstore;

-- Run a statement and report its error without database-specific paths.
CREATE FUNCTION search_try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	msg text;
	detail text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ': ' || regexp_replace(regexp_replace(msg, 'segstore/[0-9]+/[0-9]+/[0-9]+_[0-9]+', 'segstore/…/<file>'),
											  '[0-9-]+ [0-9:.+-]+', '<time>', 'g')
		|| CASE WHEN detail <> '' THEN ' (' || regexp_replace(detail, '[0-9-]+ [0-9:.+-]+', '<time>', 'g') || ')' ELSE '' END;
END $$;

------------------------------------------------------------------------
-- 1. Exact results on small data, every metric.  q = (1, 0.5, 0):
--    L2 (squared): 1 0.25, 4 0.25, 2 1.25, 5 1.25, 3 2.25, 6 4.25
--    IP (minus the inner product): 5 -2, 4 -1.5, 1 -1, 2 -0.5, 3 0, 6 1
--    COSINE (1 - cosine): 4 0.0513, 1 0.1056, 5 0.1056, 2 0.5528, 3 1, 6 1.8944
------------------------------------------------------------------------
SELECT segstore.create_collection('v', 'id int8 PRIMARY KEY, vector float4[3], color text') > 0;
SELECT segstore.insert('v', ARRAY[1, 2, 3]::int8[], ARRAY[[1, 0, 0], [0, 1, 0], [0, 0, 1]]::float4[][],
					   ARRAY['red', 'green', 'blue']);
-- the growing segment alone, searched exactly
SELECT id, round(distance::numeric, 4) AS distance FROM segstore.search('v', '{1,0.5,0}', 3);
SELECT segstore.flush('v');
SELECT segstore.insert('v', ARRAY[4, 5, 6]::int8[], ARRAY[[1, 1, 0], [2, 0, 0], [-1, 0, 0]]::float4[][],
					   ARRAY['red', 'green', 'blue']);
-- a sealed segment without index and the growing segment
SELECT m, array_agg(id || ':' || round(distance::numeric, 4) ORDER BY distance, id) AS results
FROM unnest(ARRAY['L2', 'IP', 'COSINE']) m,
	 segstore.search('v', '{1,0.5,0}', 6, jsonb_build_object('metric_type', m))
GROUP BY m ORDER BY m;
SELECT segstore.flush('v');
-- with an index of each metric (FLAT: the segments are small)
SELECT segstore.create_index('v', 'vector', 'FLAT', 'IP');
SELECT collection, field, index_type, metric_type, nlist FROM segstore.indexes;
SELECT id, round(distance::numeric, 4) AS distance FROM segstore.search('v', '{1,0.5,0}', 6);
SELECT segstore.drop_index('v', 'vector');
SELECT segstore.create_index('v', 'vector', 'IVF_FLAT', 'COSINE', '{"nlist": 2}');
SELECT id, round(distance::numeric, 4) AS distance FROM segstore.search('v', '{1,0.5,0}', 6);
SELECT segstore.drop_index('v', 'vector');
SELECT segstore.create_index('v', 'vector', 'FLAT', 'L2');
SELECT id, round(distance::numeric, 4) AS distance FROM segstore.search('v', '{1,0.5,0}', 6);
-- k smaller than the ties: the smaller id wins
SELECT id, round(distance::numeric, 4) AS distance FROM segstore.search('v', '{1,0.5,0}', 1);
-- many queries in one call
SELECT query_no, id, round(distance::numeric, 4) AS distance
FROM segstore.search_batch('v', '{{1,0.5,0},{0,0,1}}', 2);
SELECT segment_id > 0 AS seg, state, num_rows, index_state FROM segstore.segments('v');
SELECT kind, rows FROM segstore.binlogs('v') WHERE kind = 'index';

------------------------------------------------------------------------
-- 2. IVF_FLAT against brute force and FLAT, on 3,500 vectors of dim 8 in
--    a large segment (IVF_FLAT) and a small one (FLAT), plus growing rows.
------------------------------------------------------------------------
CREATE TABLE ref (id int8 PRIMARY KEY, v float4[], color text, n int4);
INSERT INTO ref SELECT i, ARRAY(SELECT sin(i * (d + 1) * 0.37 + d)::float4 FROM generate_series(0, 7) d),
	(ARRAY['red', 'green', 'blue'])[i % 3 + 1], i % 10
FROM generate_series(1, 3500) i;
CREATE FUNCTION l2(a float4[], b float4[]) RETURNS float8 LANGUAGE sql IMMUTABLE
AS 'SELECT sum((x::float8 - y::float8) ^ 2) FROM unnest(a, b) u(x, y)';
CREATE TABLE queries AS
SELECT q, ARRAY(SELECT cos(q * (d + 2) * 0.91)::float4 FROM generate_series(0, 7) d) AS v
FROM generate_series(1, 5) q;

SELECT segstore.create_collection('w', 'id int8 PRIMARY KEY, vector float4[8], color text, n int4') > 0;
SELECT segstore.insert('w', array_agg(id ORDER BY id), array_agg(v ORDER BY id), array_agg(color ORDER BY id), array_agg(n ORDER BY id))
FROM ref WHERE id <= 3000;
SELECT segstore.flush('w');
SELECT segstore.insert('w', array_agg(id ORDER BY id), array_agg(v ORDER BY id), array_agg(color ORDER BY id), array_agg(n ORDER BY id))
FROM ref WHERE id > 3000 AND id <= 3400;
SELECT segstore.flush('w');
SELECT segstore.insert('w', array_agg(id ORDER BY id), array_agg(v ORDER BY id), array_agg(color ORDER BY id), array_agg(n ORDER BY id))
FROM ref WHERE id > 3400;
SELECT segstore.create_index('w', 'vector', 'IVF_FLAT', 'L2', '{"nlist": 16}');
SELECT num_rows, index_state FROM segstore.segments('w') ORDER BY segment_id;

-- nprobe = nlist is exact: the same ids as brute force over the heap
CREATE FUNCTION exact(k int, cond text DEFAULT 'true') RETURNS TABLE (q int, ids int8[])
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format(
		'SELECT qs.q, ARRAY(SELECT r.id FROM ref r WHERE %s ORDER BY l2(r.v, qs.v), r.id LIMIT %s)
		 FROM queries qs ORDER BY qs.q', cond, k);
END $$;
CREATE FUNCTION found(k int, params jsonb, filter text DEFAULT NULL) RETURNS TABLE (q int, ids int8[])
LANGUAGE sql AS $$
	SELECT qs.q, ARRAY(SELECT s.id FROM segstore.search('w', qs.v, k, params, filter) s)
	FROM queries qs ORDER BY qs.q
$$;
SELECT (SELECT array_agg(ids) FROM exact(10)) = (SELECT array_agg(ids) FROM found(10, '{"nprobe": 16}')) AS exact_at_nlist;
-- fewer probes still find most neighbours
SELECT bool_and(cardinality(ids) = 10) FROM found(10, '{"nprobe": 1}');
SELECT sum(cardinality(ARRAY(SELECT unnest(e.ids) INTERSECT SELECT unnest(f.ids)))) >= 35 AS recall_ok
FROM exact(10) e JOIN found(10, '{"nprobe": 4}') f USING (q);

-- IVF_FLAT at nprobe = nlist returns exactly what FLAT returns
CREATE TABLE ivf AS SELECT qs.q, s.* FROM queries qs, segstore.search('w', qs.v, 20, '{"nprobe": 16}') s;
SELECT segstore.drop_index('w', 'vector');
SELECT segstore.create_index('w', 'vector', 'FLAT');
CREATE TABLE flat AS SELECT qs.q, s.* FROM queries qs, segstore.search('w', qs.v, 20) s;
SELECT count(*) AS rows, (SELECT count(*) FROM (SELECT * FROM ivf EXCEPT SELECT * FROM flat) d) AS differ
FROM ivf;
SELECT segstore.drop_index('w', 'vector');
SELECT segstore.create_index('w', 'vector', 'IVF_FLAT', 'L2', '{"nlist": 16}');

------------------------------------------------------------------------
-- 3. Deleted entities never appear: pending deletes, delta binlogs,
--    growing rows.  k = every row: the result is exactly the live set.
------------------------------------------------------------------------
CREATE FUNCTION live_set_ok() RETURNS boolean LANGUAGE sql AS $$
	SELECT (SELECT array_agg(id ORDER BY id) FROM segstore.search('w', (SELECT v FROM queries WHERE q = 1), 16384, '{"nprobe": 16}'))
		 = (SELECT array_agg((j->>'id')::int8 ORDER BY (j->>'id')::int8) FROM segstore.query('w', 'id > 0', ARRAY['id']) j)
$$;
SELECT live_set_ok();
SELECT segstore.delete('w', ARRAY(SELECT i FROM generate_series(7, 3500, 7) i) || ARRAY[3001, 3002]::int8[]);
SELECT segstore.delete('w', ARRAY[3401, 3402, 5]::int8[]);
SELECT (SELECT array_agg(ids) FROM exact(10, 'id % 7 <> 0 AND id NOT IN (3001, 3002, 3401, 3402, 5)'))
	 = (SELECT array_agg(ids) FROM found(10, '{"nprobe": 16}')) AS exact_after_delete;
SELECT live_set_ok(), segstore.num_entities('w');
SELECT segstore.flush('w');
SELECT live_set_ok(), segstore.num_entities('w');
SELECT segstore.delete('w', 'id < 100');
SELECT live_set_ok(), segstore.num_entities('w');

------------------------------------------------------------------------
-- 4. Filters agree with query().
------------------------------------------------------------------------
SELECT f, (SELECT array_agg(id ORDER BY id) FROM segstore.search('w', '{1,1,1,1,1,1,1,1}', 16384, '{"nprobe": 16}', f))
	 IS NOT DISTINCT FROM (SELECT array_agg((j->>'id')::int8 ORDER BY (j->>'id')::int8) FROM segstore.query('w', f, ARRAY['id']) j) AS agree,
	 (SELECT count(*) FROM segstore.search('w', '{1,1,1,1,1,1,1,1}', 16384, '{"nprobe": 16}', f)) AS n
FROM unnest(ARRAY['id < 500', 'color == "red" and n > 5', 'n in [1, 2, 3]', 'color like "b%"',
				  'not (n >= 2) or id == 3450', 'id > 100000']) f;
-- a filter restricts the top k
SELECT (SELECT array_agg(ids) FROM exact(5, 'id >= 100 AND id % 7 <> 0 AND id NOT IN (3001, 3002, 3401, 3402) AND color = ''red'''))
	 = (SELECT array_agg(ids) FROM found(5, '{"nprobe": 16}', 'color == "red"')) AS filtered_exact;

------------------------------------------------------------------------
-- 5. Time travel inside the retention window, across a compaction.
------------------------------------------------------------------------
SELECT segstore.alter_collection('w', retention => '1h');
SELECT now() AS before_delete \gset
SELECT pg_sleep(0.01);
SELECT segstore.delete('w', 'id >= 1000 and id < 1100');
CREATE FUNCTION seen(as_of timestamptz) RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM segstore.search('w', '{1,1,1,1,1,1,1,1}', 16384, '{"nprobe": 16}', 'id >= 1000 and id < 1100', as_of)
$$;
SELECT seen(:'before_delete') AS pending_as_of, seen(NULL) AS pending_now;
SELECT segstore.flush('w');
SELECT seen(:'before_delete') AS delta_as_of, seen(NULL) AS delta_now;
SELECT segstore.compact('w') AS cid \gset
SELECT segstore.wait_for_compaction(:cid);
SELECT seen(:'before_delete') AS compacted_as_of, seen(NULL) AS compacted_now;
SELECT count(*) AS segments, bool_and(index_state IN ('IVF_FLAT', 'FLAT')) AS indexed
FROM segstore.segments('w') WHERE state = 'flushed';
SELECT live_set_ok();
-- rows written after as_of are not seen either
SELECT now() AS before_insert \gset
SELECT pg_sleep(0.01);
SELECT segstore.insert('w', ARRAY[5000, 5001]::int8[], ARRAY[[1,1,1,1,1,1,1,1], [1,1,1,1,1,1,1,1]]::float4[][],
					   ARRAY['red', 'red'], ARRAY[1, 1]);
SELECT array_agg(id ORDER BY id) FROM segstore.search('w', '{1,1,1,1,1,1,1,1}', 2, as_of => :'before_insert') WHERE id >= 5000;
SELECT array_agg(id ORDER BY id) FROM segstore.search('w', '{1,1,1,1,1,1,1,1}', 2);
-- outside the window
SELECT segstore.alter_collection('w', retention => '0');
SELECT search_try(format('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,1}'', 3, as_of => %L)', :'before_delete'));
SELECT count(*) FROM segstore.search('w', '{1,1,1,1,1,1,1,1}', 3, as_of => now());

------------------------------------------------------------------------
-- 6. Errors.
------------------------------------------------------------------------
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,2,3}'', 3)');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,NaN}'', 3)');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,Infinity}'', 3)');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,NULL}'', 3)');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{{1,1,1,1,1,1,1,1}}'', 3)');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,1}'', 0)');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,1}'', 16385)');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,1}'', 3, ''{"nprobe": 0}'')');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,1}'', 3, ''{"nprobe": 17}'')');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,1}'', 3, ''{"nprobe": 2.5}'')');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,1}'', 3, ''{"nprobes": 2}'')');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,1}'', 3, ''{"metric_type": "IP"}'')');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,1}'', 3, ''[1]'')');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,1}'', 3, filter => ''colour == "red"'')');
SELECT search_try('SELECT * FROM segstore.search(''nope'', ''{1,1,1,1,1,1,1,1}'', 3)');
SELECT search_try('SELECT * FROM segstore.search_batch(''w'', ''{1,1,1,1,1,1,1,1}'', 3)');
SELECT search_try('SELECT segstore.create_index(''w'', ''vector'')');
SELECT search_try('SELECT segstore.create_index(''v'', ''vectr'')');
SELECT search_try('SELECT segstore.create_index(''v'', ''color'')');
SELECT search_try('SELECT segstore.drop_index(''v'', ''vector'')');
SELECT search_try('SELECT segstore.create_index(''v'', ''vector'', ''HNSW'')');
SELECT search_try('SELECT segstore.create_index(''v'', ''vector'', ''IVF_FLAT'', ''L1'')');
SELECT search_try('SELECT segstore.create_index(''v'', ''vector'', ''IVF_FLAT'', ''L2'', ''{"nlist": 0}'')');
SELECT search_try('SELECT segstore.create_index(''v'', ''vector'', ''IVF_FLAT'', ''L2'', ''{"nlist": 65537}'')');
SELECT search_try('SELECT segstore.create_index(''v'', ''vector'', ''IVF_FLAT'', ''L2'', ''{"nlist": "x"}'')');
SELECT search_try('SELECT segstore.drop_index(''v'', ''vector'')');
SELECT segstore.drop_index('v', 'vector', if_exists => true);
-- without an index, any metric may be asked for
SELECT count(*) FROM segstore.search('v', '{1,0.5,0}', 6, '{"metric_type": "IP"}');

------------------------------------------------------------------------
-- 7. A damaged index file is reported, never searched.
------------------------------------------------------------------------
CREATE TEMP TABLE saved AS SELECT path, pg_read_binary_file(path) AS bytes
FROM segstore.binlogs('w') WHERE kind = 'index';
CREATE FUNCTION damage(how text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r record;
	b bytea;
	lo oid;
BEGIN
	FOR r IN SELECT * FROM saved LOOP
		b := r.bytes;
		IF how = 'flip middle' THEN
			b := set_byte(b, length(b) / 2, get_byte(b, length(b) / 2) # 1);
		ELSIF how = 'flip first' THEN
			b := set_byte(b, 0, get_byte(b, 0) # 128);
		ELSIF how = 'truncate' THEN
			b := substring(b FROM 1 FOR length(b) - 64);
		ELSIF how = 'restore' THEN
			NULL;
		END IF;
		lo := lo_from_bytea(0, b);
		PERFORM lo_export(lo, current_setting('data_directory') || '/' || r.path);
		PERFORM lo_unlink(lo);
	END LOOP;
END $$;
-- files are immutable: a backend checks a file once, when it maps it
SELECT segstore.release('w');
SELECT damage('flip middle');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,1}'', 3)');
SELECT damage('flip first');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,1}'', 3)');
SELECT damage('truncate');
SELECT search_try('SELECT * FROM segstore.search(''w'', ''{1,1,1,1,1,1,1,1}'', 3)');
SELECT index_state FROM segstore.segments('w') WHERE state = 'flushed';
SELECT damage('restore');
SELECT segstore.load('w');
SELECT count(*) FROM segstore.search('w', '{1,1,1,1,1,1,1,1}', 3);

------------------------------------------------------------------------
-- 8. Index files come and go with the index.
------------------------------------------------------------------------
SELECT segstore.drop_index('w', 'vector');
SELECT count(*) FROM segstore.binlogs('w') WHERE kind = 'index';
SELECT DISTINCT index_state FROM segstore.segments('w');
SELECT count(*) AS left_on_disk FROM saved WHERE pg_stat_file(path, true) IS NOT NULL;
SELECT live_set_ok();

DROP EXTENSION segstore;
DROP TABLE ref, queries, ivf, flat;
DROP FUNCTION search_try, l2, exact, found, live_set_ok, seen, damage(text);
