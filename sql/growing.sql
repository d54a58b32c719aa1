-- The growing segment under ingestion: small batches are sealed into small
-- segments once segstore.growing_max_size of data has arrived, each small
-- segment gets an IVF_FLAT file at once, and searches over sealed and
-- growing rows stay exact at nprobe = nlist, filters included.
CREATE EXTENSION segstore;

CREATE TABLE ref (id int8 PRIMARY KEY, v float4[], tag text);
INSERT INTO ref SELECT i, ARRAY(SELECT sin(i * (d + 1) * 0.37 + d)::float4 FROM generate_series(0, 7) d),
	(ARRAY['alpha', 'beta', 'gamma'])[i % 3 + 1] || repeat('x', 100)
FROM generate_series(1, 7000) i;
CREATE FUNCTION l2(a float4[], b float4[]) RETURNS float8 LANGUAGE sql IMMUTABLE
AS 'SELECT sum((x::float8 - y::float8) ^ 2) FROM unnest(a, b) u(x, y)';
CREATE TABLE queries AS
SELECT q, ARRAY(SELECT cos(q * (d + 2) * 0.91)::float4 FROM generate_series(0, 7) d) AS v
FROM generate_series(1, 5) q;
-- brute force over the rows of ref that are in the collection
CREATE FUNCTION exact(k int, upto int8, cond text DEFAULT 'true') RETURNS TABLE (q int, ids int8[])
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format(
		'SELECT qs.q, ARRAY(SELECT r.id FROM ref r WHERE r.id <= %s AND %s ORDER BY l2(r.v, qs.v), r.id LIMIT %s)
		 FROM queries qs ORDER BY qs.q', upto, cond, k);
END $$;
CREATE FUNCTION found(k int, filter text DEFAULT NULL) RETURNS TABLE (q int, ids int8[])
LANGUAGE sql AS $$
	SELECT qs.q, ARRAY(SELECT s.id FROM segstore.search('g', qs.v, k, '{"nprobe": 16}', filter) s)
	FROM queries qs ORDER BY qs.q
$$;

-- 5,000 rows in one sealed, indexed segment
SELECT segstore.create_collection('g', 'id int8 PRIMARY KEY, v float4[8], tag text') > 0;
SELECT segstore.insert('g', array_agg(id ORDER BY id), array_agg(v ORDER BY id), array_agg(tag ORDER BY id))
FROM ref WHERE id <= 5000;
SELECT segstore.create_index('g', 'v', 'IVF_FLAT', 'L2', '{"nlist": 16}');

SHOW segstore.growing_max_size;
SET segstore.growing_max_size = '64kB';
-- segments of a few hundred rows get IVF_FLAT files (the default, 1024, gives FLAT)
SET segstore.min_index_rows = 100;
-- 2,000 more rows in 10-row batches, one statement each
DO $$
BEGIN
	FOR b IN 0 .. 199 LOOP
		PERFORM segstore.insert('g', array_agg(id ORDER BY id), array_agg(v ORDER BY id), array_agg(tag ORDER BY id))
		FROM ref WHERE id > 5000 + b * 10 AND id <= 5010 + b * 10;
	END LOOP;
END $$;
-- sealed several times on the way, never more than the limit left growing
SELECT count(*) > 3 AS sealed_often, bool_and(index_state = 'IVF_FLAT') AS all_ivf
FROM segstore.segments('g') WHERE state = 'flushed';
SELECT growing_rows > 0 AS some_growing, growing_rows < 600 AS growing_bounded, live_rows
FROM segstore.collection_stats('g');
SELECT count(*) AS small_segments, bool_and(s.num_rows < 1000) AS small
FROM segstore.segments('g') s WHERE s.state = 'flushed' AND s.segment_id <> (
	SELECT segment_id FROM segstore.segments('g') WHERE num_rows = 5000) \gset
SELECT :small_segments > 3 AS several, :'small' AS small;

-- exact at nprobe = nlist, over sealed and growing rows, with and without a filter
SELECT (SELECT array_agg(ids) FROM exact(10, 7000)) = (SELECT array_agg(ids) FROM found(10)) AS exact_all;
SELECT (SELECT array_agg(ids) FROM exact(10, 7000, 'tag LIKE ''beta%''')) =
	   (SELECT array_agg(ids) FROM found(10, 'tag like "beta%"')) AS exact_filtered;
SELECT (SELECT array_agg(ids) FROM exact(10, 7000, 'id > 6900')) =
	   (SELECT array_agg(ids) FROM found(10, 'id > 6900')) AS exact_growing_keys;

-- deleted growing rows are not found; upserted ones are found once
SELECT segstore.delete('g', ARRAY(SELECT generate_series(6901, 7000, 2)::int8));
DELETE FROM ref WHERE id BETWEEN 6901 AND 7000 AND id % 2 = 1;
SELECT segstore.upsert('g', array_agg(id ORDER BY id), array_agg(v ORDER BY id), array_agg(tag ORDER BY id))
FROM ref WHERE id BETWEEN 6950 AND 6960;
SELECT (SELECT array_agg(ids) FROM exact(10, 7000, 'id > 6900')) =
	   (SELECT array_agg(ids) FROM found(10, 'id > 6900')) AS exact_after_deletes;
SELECT count(*) = count(DISTINCT (qs.q, s.id)) AS no_duplicates
FROM queries qs, segstore.search('g', qs.v, 100, '{"nprobe": 16}', 'id > 6900') s;

-- a row is found as soon as the statement that wrote it is done
SELECT segstore.insert('g', ARRAY[100000]::int8[], ARRAY[(SELECT v FROM queries WHERE q = 1)], ARRAY['new']);
SELECT id, distance FROM segstore.search('g', (SELECT v FROM queries WHERE q = 1), 1);

-- the setting is superuser-only and has a floor
CREATE ROLE growing_user;
SET ROLE growing_user;
SET segstore.growing_max_size = '1MB';
RESET ROLE;
SET segstore.growing_max_size = '1kB';
DROP ROLE growing_user;
RESET segstore.growing_max_size;
RESET segstore.min_index_rows;
SELECT segstore.drop_collection('g');
DROP FUNCTION exact(int, int8, text);
DROP FUNCTION found(int, text);
DROP FUNCTION l2(float4[], float4[]);
DROP TABLE ref, queries;
DROP EXTENSION segstore;
