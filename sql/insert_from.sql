-- insert_from(): the rows of a query, one column per field by name, are
-- streamed into segments without building arrays: chunks of at least
-- insert_direct_threshold rows become segments of their own, the rest go
-- to the growing table, as insert() would write them.  Bad rows are
-- refused with insert()'s checks and nothing is written.  The query runs
-- as the caller, with the caller's privileges.
CREATE EXTENSION segstore;
SELECT segstore.create_collection('lf', 'id int8 PRIMARY KEY, v float4[4], t varchar(5), n int4');
CREATE TABLE src AS
SELECT i::int8 AS id, ARRAY[i, -i, i % 7, 1]::float4[] AS v, 't' || (i % 100) AS t, (i % 10)::int4 AS n
FROM generate_series(1, 10000) i;

-- columns by name, in any order; 10000 rows: one segment (and a growing rest
-- only if a chunk falls under the threshold)
SELECT segstore.insert_from('lf', 'SELECT n, t, v, id FROM src');
SELECT segstore.num_entities('lf');
SELECT state, num_rows FROM segstore.segments('lf') ORDER BY segment_id;
SELECT * FROM segstore.query('lf', 'id in [1, 5000, 10000]', NULL, 10);

-- a small query lands in the growing table; float8 vectors and int8 ints convert
SELECT segstore.insert_from('lf', 'SELECT 20001::int8 AS id, ARRAY[1, 2, 3, 4]::float8[] AS v, ''g''::text AS t, 7::int8 AS n');
SELECT growing_rows FROM segstore.collection_stats('lf');

-- duplicates: with a live key, inside the rows, and upsert replacing rows
SELECT segstore.insert_from('lf', 'SELECT * FROM src WHERE id = 5');
SELECT segstore.insert_from('lf', 'SELECT 30000::int8 AS id, v, t, n FROM src WHERE id <= 2');
SELECT segstore.insert_from('lf', 'SELECT id, v, t || ''x'' AS t, n FROM src WHERE id <= 3', upsert => true);
SELECT * FROM segstore.query('lf', 'id <= 4', ARRAY['t'], 10);
SELECT segstore.num_entities('lf');

-- rows that do not fit, and nothing is written
SELECT segstore.insert_from('lf', 'SELECT id + 100000 AS id, v, t FROM src');
SELECT segstore.insert_from('lf', 'SELECT id + 100000 AS id, v, t, n, 1 AS extra FROM src');
SELECT segstore.insert_from('lf', 'SELECT id + 100000 AS id, v, t, n AS m FROM src');
SELECT segstore.insert_from('lf', 'SELECT id + 100000 AS id, v, 5 AS t, n FROM src');
SELECT segstore.insert_from('lf', 'SELECT id + 100000 AS id, ARRAY[1, 2]::float4[] AS v, t, n FROM src');
SELECT segstore.insert_from('lf', 'SELECT id + 100000 AS id, ARRAY[1, 2, NULL, 4]::float4[] AS v, t, n FROM src');
SELECT segstore.insert_from('lf', 'SELECT id + 100000 AS id, ARRAY[1, 2, ''NaN'', 4]::float4[] AS v, t, n FROM src');
SELECT segstore.insert_from('lf', 'SELECT id + 100000 AS id, v, NULL::text AS t, n FROM src');
SELECT segstore.insert_from('lf', 'SELECT id + 100000 AS id, v, ''toolong'' AS t, n FROM src');
SELECT segstore.insert_from('lf', 'SELECT id + 100000 AS id, v, t, 3000000000 AS n FROM src');
SELECT segstore.insert_from('lf', 'SELECT 1/0');
SELECT segstore.insert_from('lf', NULL);
SELECT segstore.num_entities('lf');

-- the query runs as the caller: a role may load only rows it can read,
-- into a collection it may insert into
CREATE ROLE regress_loader;
SELECT segstore.grant('lf', ARRAY['insert'], 'regress_loader');
SET ROLE regress_loader;
SELECT segstore.insert_from('lf', 'SELECT * FROM src');
SELECT segstore.insert_from('lf', 'SELECT 40000::int8 AS id, ARRAY[1, 1, 1, 1]::float4[] AS v, ''r'' AS t, 1 AS n');
SELECT segstore.insert_from('lf', 'SELECT 40000::int8 AS id, ARRAY[1, 1, 1, 1]::float4[] AS v, ''r'' AS t, 1 AS n', upsert => true);
RESET ROLE;
SELECT segstore.num_entities('lf');

DROP EXTENSION segstore;
DROP TABLE src;
DROP ROLE regress_loader;
